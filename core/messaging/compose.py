"""Compose and send secure messages (MS-1, MS-4): from a draft to one email per patient.

``preview_draft`` renders the exact email for the first recipient and counts who would be
skipped and why; ``send_draft`` writes, in ONE transaction per batch of patients, the message
row, its encrypted secure content, form requests and staff attachments, the events, the audit
entries and the outbox row that the worker will send. Nothing leaves the process here.

Each patient gets a fresh 256-bit link token; only its SHA-256 is stored. The stored copy of the
email and the outbox payload never hold the token in clear: the message row keeps the email
with the link replaced by a marker, and the outbox keeps the real email encrypted with the
site key until the worker has sent it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, object_session

from core import audit, events
from core.crypto import SiteCipher
from core.db.bulk import insert_rows, next_ids
from core.db.models import (
    Attachment,
    EForm,
    FormRequest,
    Message,
    SecureContent,
    Site,
    utcnow,
)
from core.errors import InvalidInput
from core.licences import check_can_send, check_emr_sender
from core.messaging.attachments import CheckedFile, check_files
from core.messaging.mime import EmailBuilder
from core.messaging.recipients import Recipient, lookups, portal_references, render_context, skip_reason
from core.messaging.recipients import load_recipients as _patients
from core.messaging.render import (
    RenderContext,
    RenderedMessage,
    find_placeholders,
    render_message,
    render_plain,
)
from core.outbox.queue import OutboxRequest, enqueue_many
from core.outbox.worker import email_payload
from core.sender.identity import sender_for
from core.settings import Settings
from core.uow import UnitOfWork

IDENTITY_CHECKS = ("date_of_birth", "health_number", "chart_id", "password")
LINK_MARKER = "[secure link]"


@dataclass(frozen=True)
class MessageOptions:
    allow_reply: bool = False
    allow_attachment: bool = False  # independent of allow_reply (MS-1)
    reply_until: date | None = None
    # A window typed as a number of days: it closes that many days after the message is sent (in the
    # clinic's time zone), so a template keeps "30 days" rather than a date that will pass.
    reply_days: int | None = None
    notify_viewed: bool = False
    notify_completed: bool = False
    notify_no_response_days: int | None = None
    identity_checks: tuple[str, ...] = ("date_of_birth",)
    password: str | None = field(default=None, repr=False)  # given to the patient in advance

    def problems(self) -> list[str]:
        found = [f"unknown identity check '{c}'" for c in self.identity_checks if c not in IDENTITY_CHECKS]
        if not self.identity_checks:
            found.append("at least one identity check is needed")
        if "password" in self.identity_checks and not self.password:
            found.append("the password identity check needs the password given to the patient")
        if self.reply_days is not None and not 0 <= self.reply_days <= 3650:
            found.append("the reply window must be 0 to 3650 days")
        if self.notify_no_response_days is not None and not 1 <= self.notify_no_response_days <= 90:
            found.append("'notify if no response' must be between 1 and 90 days")
        return found

    def to_data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "allow_reply": self.allow_reply, "allow_attachment": self.allow_attachment,
            "reply_until": self.reply_until.isoformat() if self.reply_until else None,
            "reply_days": self.reply_days,
            "notify_viewed": self.notify_viewed, "notify_completed": self.notify_completed,
            "notify_no_response_days": self.notify_no_response_days,
            "identity_checks": list(self.identity_checks),
        }
        if self.password:
            salt = secrets.token_bytes(16)
            digest = hashlib.scrypt(self.password.encode(), salt=salt, n=2**14, r=8, p=1)
            data["password_scrypt"] = salt.hex() + ":" + digest.hex()
        return data


@dataclass(frozen=True)
class Draft:
    patient_ids: tuple[int, ...]
    subject: str
    salutation: str
    body_html: str = field(repr=False)
    secure_message: str | None = field(default=None, repr=False)
    eform_codes: tuple[str, ...] = ()
    attachments: tuple[tuple[str, bytes], ...] = field(default=(), repr=False)
    options: MessageOptions = MessageOptions()
    kind: str = "secure_message"
    template_id: int | None = None
    sender_user_id: int | None = None
    sender_emr_name: str | None = None  # an EMR user with no Accueil account
    appointment_id: int | None = None
    # MS-7 already applied by the caller (appointment reminders check the appointment's provider).
    licence_checked: bool = False


@dataclass(frozen=True)
class Skipped:
    patient_id: int
    chart_id: str
    reason: str  # no_email | bad_email | no_email_consent


@dataclass(frozen=True)
class Preview:
    recipients: int
    skipped: list[Skipped]
    first: RenderedMessage | None
    from_header: str
    warnings: list[str]


@dataclass(frozen=True)
class SendResult:
    message_ids: list[int]
    skipped: list[Skipped]


def from_header(site: Site, settings: Settings) -> tuple[str, str]:
    """(display header, envelope address): the approved custom address or the no-reply one."""
    identity = sender_for(object_session(site), settings)  # type: ignore[arg-type]
    return identity.from_header, identity.envelope_from


def _check_draft(session: Session, draft: Draft) -> tuple[list[str], list[EForm]]:
    problems = list(draft.options.problems())
    if not draft.patient_ids:
        problems.append("choose at least one patient")
    if not draft.subject.strip():
        problems.append("the subject is empty")
    if draft.sender_user_id is None and not (draft.sender_emr_name or "").strip():
        problems.append("the sender is unknown")
    forms: list[EForm] = []
    for code in draft.eform_codes:
        form = session.scalar(select(EForm).where(EForm.code == code, EForm.active.is_(True)))
        if form is None:
            problems.append(f"eForm '{code}' does not exist")
        else:
            forms.append(form)
    return problems, forms


def _warnings(draft: Draft) -> list[str]:
    if draft.sender_user_id is None and (draft.options.notify_viewed or draft.options.notify_completed
                                         or draft.options.notify_no_response_days):
        return ["Notifications for a sender without an Accueil account go to the clinic's support contact, "
                "not to the sender: link your EMR user to an account to receive them."]
    return []


MESSAGES = cast(Table, Message.__table__)
REQUESTS = cast(Table, FormRequest.__table__)


def _prepare(session: Session, draft: Draft) -> tuple[list[EForm], list[CheckedFile], Site]:
    """What preview and send both check first: the draft, the sender's licence, the files."""
    problems, forms = _check_draft(session, draft)
    if problems:
        raise InvalidInput("This message cannot be sent yet: " + "; ".join(problems) + ".")
    if draft.licence_checked:
        pass
    elif draft.sender_user_id is not None:
        check_can_send(session, draft.sender_user_id)
    else:
        check_emr_sender(session)
    files = check_files(draft.attachments)
    return forms, files, session.scalars(select(Site)).one()


def _split(patients: Sequence[Recipient], kind: str) -> tuple[list[Recipient], list[Skipped]]:
    reachable: list[Recipient] = []
    skipped: list[Skipped] = []
    for patient in patients:
        reason = skip_reason(patient, kind)
        if reason:
            skipped.append(Skipped(patient.id, patient.chart_id, reason))
        else:
            reachable.append(patient)
    return reachable, skipped


def preview_draft(uow: UnitOfWork, draft: Draft, *, settings: Settings) -> Preview:
    session = uow.session
    _forms, _files, site = _prepare(session, draft)
    reachable, skipped = _split(_patients(session, draft.patient_ids), draft.kind)
    found = lookups(session, reachable, draft.appointment_id)
    first = None
    for patient in reachable:
        # Every recipient is rendered, so a missing value anywhere is caught before Send.
        context = render_context(patient, site, settings, found[patient.id], settings.portal_base_url + "/m/…")
        rendered = render_message(draft.subject, draft.salutation, draft.body_html, context)
        _secure_text(draft, context)
        first = first or rendered
    return Preview(len(reachable), skipped, first, from_header(site, settings)[0], _warnings(draft))


def send_draft(uow: UnitOfWork, draft: Draft, *, settings: Settings, cipher: SiteCipher) -> SendResult:
    """Create one message per reachable patient and queue its email; commits once at the end."""
    result = queue_draft(uow, draft, settings=settings, cipher=cipher)
    uow.commit()
    return result


@dataclass
class _Outgoing:
    patient: Recipient
    row: dict[str, Any]
    email: bytes
    envelope: str
    secure: str | None


def _secure_text(draft: Draft, context: RenderContext) -> str | None:
    """The secure message for one patient: its placeholders filled (a problem stops the send, as
    in the email); without placeholders, the text as typed."""
    if draft.secure_message is None or not find_placeholders(draft.secure_message):
        return draft.secure_message
    return render_plain(draft.secure_message, context)


def queue_draft(uow: UnitOfWork, draft: Draft, *, settings: Settings, cipher: SiteCipher) -> SendResult:
    """:func:`send_draft` without the commit, for a caller that writes more in the same transaction.

    Every patient's email is rendered and built first (a render error stops the send before
    anything is written); then each table gets one multi-row INSERT for the whole send.
    """
    session = uow.session
    forms, files, site = _prepare(session, draft)
    reachable, skipped = _split(_patients(session, draft.patient_ids), draft.kind)
    if not reachable:
        return SendResult([], skipped)
    outgoing = _build(session, draft, reachable, site, settings)
    references = portal_references(session, reachable)
    for item in outgoing:
        item.row["portal_reference"] = references[item.patient.id]
    ids = next_ids(session, MESSAGES, len(outgoing))
    for message_id, item in zip(ids, outgoing, strict=True):
        item.row["id"] = message_id
    insert_rows(session, MESSAGES, [item.row for item in outgoing])
    if draft.secure_message:
        insert_rows(session, cast(Table, SecureContent.__table__), [
            {"message_id": message_id, "ciphertext": cipher.encrypt_text(item.secure or "", context="secure_content")}
            for message_id, item in zip(ids, outgoing, strict=True)])
    requests: dict[int, list[int]] = {message_id: [] for message_id in ids}
    if forms:
        request_rows: list[dict[str, Any]] = [{"message_id": message_id, "eform_id": form.id, "state": "pending"}
                                              for message_id in ids for form in forms]
        for row, request_id in zip(request_rows, next_ids(session, REQUESTS, len(request_rows)), strict=True):
            row["id"] = request_id
        insert_rows(session, REQUESTS, request_rows)
        pairs = [(row["id"], row["message_id"]) for row in request_rows]
        for request_id, message_id in pairs:
            requests[message_id].append(request_id)
        for found in requests.values():
            found.sort()  # in form order (ids grow with the insert's rows)
    if files:
        insert_rows(session, cast(Table, Attachment.__table__), [
            {"message_id": message_id, "direction": "staff", "display_name": checked.display_name,
             "extension": checked.extension, "content_type": checked.content_type, "size": len(checked.data),
             "sha256": hashlib.sha256(checked.data).digest(), "ciphertext": cipher.encrypt(checked.data,
                                                                                        context="attachment")}
            for message_id in ids for checked in files])
    now = outgoing[0].row["created_at"]
    rows: list[dict[str, Any]] = []
    for message_id, item in zip(ids, outgoing, strict=True):
        common = {"patient_id": item.patient.id, "message_id": message_id, "user_id": draft.sender_user_id,
                  "provider_id": item.patient.primary_provider_id}
        rows.append({"kind": events.LINK_CREATED, **common})
        if not requests[message_id] and draft.kind == "secure_message":
            rows.append({"kind": events.MESSAGE_SENT, **common})
        rows += [{"kind": events.FORM_SENT, "form_request_id": r, **common} for r in requests[message_id]]
    events.record_events(session, rows, at=now)
    envelope = outgoing[0].envelope
    enqueue_many(session, [
        OutboxRequest(kind="email", idempotency_key=f"email:message:{message_id}", message_id=message_id,
                      payload=email_payload(sender=envelope, to=item.row["to_address"], message_bytes=item.email,
                                            cipher=cipher))
        for message_id, item in zip(ids, outgoing, strict=True)], new_keys=True)
    audit.record_many(session, actor=uow.actor, action="message.send", entries=[
        (item.patient.id, {"message_id": message_id, "forms": len(requests[message_id]), "attachments": len(files)})
        for message_id, item in zip(ids, outgoing, strict=True)])
    return SendResult(ids, skipped)


def _build(session: Session, draft: Draft, patients: list[Recipient], site: Site, settings: Settings) -> list[_Outgoing]:
    """Render and build each patient's email, with a fresh link token each (only its hash is kept)."""
    identity = sender_for(session, settings)  # the approved custom From (DKIM-signed) or the no-reply
    header, envelope = identity.from_header, identity.envelope_from
    domain = identity.domain
    builder = EmailBuilder(header)
    base = settings.portal_base_url.rstrip("/")
    found = lookups(session, patients, draft.appointment_id)
    options = draft.options.to_data()  # once per send: a password's scrypt is not cheap
    now = utcnow()
    timestamp = now.timestamp()
    expires = now + timedelta(days=settings.link_valid_days)
    outgoing: list[_Outgoing] = []
    for patient in patients:
        token = secrets.token_urlsafe(32)  # 256 bits
        marker = "LINK-" + secrets.token_hex(16)
        link = f"{base}/m/{marker}"
        context = render_context(patient, site, settings, found[patient.id], link)
        rendered = render_message(draft.subject, draft.salutation, draft.body_html, context)
        secure = _secure_text(draft, context)
        message_id_header = make_msgid(domain=domain)
        to = patient.email or ""
        email = identity.sign(builder.build(  # [weblink] may be in the subject too
            to=to, subject=rendered.subject.replace(marker, token), message_id=message_id_header,
            timestamp=timestamp, text=rendered.text.replace(marker, token), html=rendered.html.replace(marker, token)))
        outgoing.append(_Outgoing(patient, {
            "patient_id": patient.id, "kind": draft.kind, "sender_user_id": draft.sender_user_id,
            "sender_emr_name": draft.sender_emr_name, "provider_id": patient.primary_provider_id,
            "template_id": draft.template_id,
            "appointment_id": draft.appointment_id,
            "portal_reference": None, "to_address": to,
            "subject": _redact(rendered.subject, link), "body_html": _redact(rendered.html, link),
            "body_text": _redact(rendered.text, link), "options": options,
            "token_hash": hashlib.sha256(token.encode()).digest(), "token_expires_at": expires,
            "message_id_header": message_id_header, "delivery_state": "queued", "failed_checks": 0,
            "created_at": now}, email, envelope, _redact(secure, link) if secure else secure))
    return outgoing


def _redact(text: str, link: str) -> str:
    return text.replace(link + "?lang=fr", LINK_MARKER).replace(link, LINK_MARKER)


def build_email(rendered: RenderedMessage, *, header: str, to: str, message_id: str, now: datetime) -> bytes:
    """One email on its own (a test send); a send to many patients uses one :class:`EmailBuilder`."""
    return EmailBuilder(header).build(to=to, subject=rendered.subject, message_id=message_id,
                                      timestamp=now.timestamp(), text=rendered.text, html=rendered.html)
