"""The front desk's "fix this address" list (MS-5): patients whose email bounced with 5.1.1.

The worker flags ``Patient.email_bad_at`` when a server answers that the mailbox does not exist
(``core.outbox.queue.mark_failed(address_bad=True)``); such a patient is skipped by every later
send (``core.messaging.compose.skip_reason``) until staff correct the address here.
:func:`bad_addresses` lists them with the message that bounced; :func:`correct_email` stores the
new address, clears the flag and, if asked, queues the bounced email again to the new address
(same content, same Message-ID: the first copy was never delivered). Each change is audited,
without the addresses themselves.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import SiteCipher
from core.db.models import FormRequest, Message, OutboxItem, Patient, Reply
from core.errors import InvalidInput, NotFound
from core.uow import UnitOfWork

EMAIL = re.compile(r"^[^@\s]+@[^@\s.][^@\s]*\.[^@\s]*[^@\s.]$")


@dataclass(frozen=True, slots=True)
class BadAddress:
    """One line of the list: the patient, the address that bounced, and the email that bounced."""

    patient_id: int
    chart_id: str
    last_name: str
    first_name: str
    preferred_name: str | None
    email: str
    flagged_at: datetime
    message_id: int | None
    subject: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class AddressCorrected:
    patient_id: int
    requeued_message_id: int | None


def bad_addresses(uow: UnitOfWork, *, limit: int = 500) -> list[BadAddress]:
    """Flagged patients, most recently flagged first, each with its latest failed message.

    Showing the list is a view of patient data (names, addresses): it is audited, so it needs a
    write unit of work, and commits.
    """
    session = uow.session
    patients = session.scalars(
        select(Patient).where(Patient.email_bad_at.is_not(None), Patient.email.is_not(None))
        .order_by(Patient.email_bad_at.desc(), Patient.id).limit(limit)).all()
    found = []
    for patient in patients:
        failed = session.execute(
            select(Message.id, Message.subject, OutboxItem.last_error)
            .join(OutboxItem, OutboxItem.message_id == Message.id)
            .where(Message.patient_id == patient.id, Message.delivery_state == "failed",
                   OutboxItem.state == "failed")
            .order_by(Message.id.desc()).limit(1)).first()
        assert patient.email is not None and patient.email_bad_at is not None
        found.append(BadAddress(
            patient.id, patient.chart_id, patient.last_name, patient.first_name, patient.preferred_name, patient.email,
            patient.email_bad_at, failed.id if failed else None, failed.subject if failed else None,
            failed.last_error if failed else None))
    audit.record(session, actor=uow.actor, action="patient.list.bad-addresses",
                 detail={"patients": [entry.patient_id for entry in found]})
    uow.commit()
    return found


def correct_email(uow: UnitOfWork, patient_id: int, new_email: str, *, cipher: SiteCipher,
                  requeue_message_id: int | None = None) -> AddressCorrected:
    """Store ``new_email``, clear the bad-address flag; optionally send the bounced message again."""
    session = uow.session
    address = new_email.strip()
    if not EMAIL.match(address):
        raise InvalidInput("This is not an email address: it needs a name, an @ and a domain such as "
                           "example.com.")
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is None:
        raise NotFound("This patient no longer exists.")
    changed = address.lower() != (patient.email or "").lower()
    patient.email = address
    patient.email_bad_at = None
    audit.record(session, actor=uow.actor, action="patient.email.correct", patient_id=patient_id,
                 detail={"changed": changed})
    requeued = None
    if requeue_message_id is not None:
        requeued = _requeue(uow, patient, requeue_message_id, cipher)
    uow.commit()
    return AddressCorrected(patient_id, requeued)


def _requeue(uow: UnitOfWork, patient: Patient, message_id: int, cipher: SiteCipher) -> int:
    from core.outbox.queue import enqueue
    from core.outbox.worker import decode_email_payload, email_payload

    session = uow.session
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.patient_id != patient.id:
        raise NotFound("This message no longer exists.")
    if message.delivery_state != "failed":
        raise InvalidInput("Only a message that failed can be sent again from here.")
    item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id, OutboxItem.state == "failed")
                          .order_by(OutboxItem.id.desc()).limit(1))
    if item is None:
        raise InvalidInput("Only a message that failed can be sent again from here.")
    try:
        sender, _old_to, raw = decode_email_payload(item.payload, cipher)
    except ValueError:
        raise InvalidInput("The failed email can no longer be read: send a new message instead.") from None
    assert patient.email is not None
    email = message_from_bytes(raw, policy=policy.default)
    email.replace_header("To", patient.email)
    # One new item per corrected address: pressing twice does not queue two copies.
    key = f"email:message:{message_id}:to:{hashlib.sha256(patient.email.lower().encode()).hexdigest()[:16]}"
    enqueue(session, kind="email", idempotency_key=key, message_id=message_id,
            payload=email_payload(sender=sender, to=patient.email, message_bytes=email.as_bytes(), cipher=cipher))
    message.to_address = patient.email
    message.delivery_state = "queued"
    audit.record(session, actor=uow.actor, action="message.resend-corrected-address", patient_id=patient.id,
                 detail={"message_id": message_id, "failed_outbox_id": item.id})
    return message_id


@dataclass(frozen=True, slots=True)
class MessageLine:
    """One message in the patient view: its state as the front desk says it."""

    id: int
    created_at: datetime
    subject: str
    kind: str
    state: str  # queued | sent | failed | uncertain | viewed | replied
    forms: int
    forms_completed: int


def patient_messages(session: Session, patient_id: int, *, limit: int = 10) -> tuple[int, list[MessageLine]]:
    """(how many messages the patient has, the newest ``limit`` of them)."""
    total = session.scalar(select(func.count()).select_from(Message).where(Message.patient_id == patient_id)) or 0
    rows = session.execute(
        select(Message.id, Message.created_at, Message.subject, Message.kind, Message.delivery_state,
               Message.first_viewed_at)
        .where(Message.patient_id == patient_id).order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
    ).all()
    ids = [row.id for row in rows]
    replied = set(session.scalars(select(Reply.message_id).where(Reply.message_id.in_(ids)))) if ids else set()
    forms: dict[int, tuple[int, int]] = {}
    if ids:
        for message_id, count, done in session.execute(
                select(FormRequest.message_id, func.count(), func.count(FormRequest.completed_at))
                .where(FormRequest.message_id.in_(ids)).group_by(FormRequest.message_id)):
            forms[message_id] = (int(count), int(done))
    lines = []
    for row in rows:
        state = row.delivery_state
        if row.id in replied:
            state = "replied"
        elif row.first_viewed_at is not None:
            state = "viewed"
        count, done = forms.get(row.id, (0, 0))
        lines.append(MessageLine(row.id, row.created_at, row.subject, row.kind, state, count, done))
    return int(total), lines
