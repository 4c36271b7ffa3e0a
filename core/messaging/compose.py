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
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, events
from core.crypto import SiteCipher
from core.db.models import (
    Appointment,
    Attachment,
    EForm,
    FormRequest,
    Message,
    Patient,
    Provider,
    SecureContent,
    Site,
    utcnow,
)
from core.errors import InvalidInput
from core.licences import check_can_send, check_emr_sender
from core.messaging.attachments import CheckedFile, check_files
from core.messaging.render import RenderContext, RenderedMessage, render_message
from core.outbox.queue import enqueue
from core.outbox.worker import email_payload
from core.settings import Settings
from core.uow import UnitOfWork

IDENTITY_CHECKS = ("date_of_birth", "health_number", "chart_id", "password")
LINK_MARKER = "[secure link]"


@dataclass(frozen=True)
class MessageOptions:
    allow_reply: bool = False
    allow_attachment: bool = False  # independent of allow_reply (MS-1)
    reply_until: date | None = None
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
        if self.notify_no_response_days is not None and not 1 <= self.notify_no_response_days <= 90:
            found.append("'notify if no response' must be between 1 and 90 days")
        return found

    def to_data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "allow_reply": self.allow_reply, "allow_attachment": self.allow_attachment,
            "reply_until": self.reply_until.isoformat() if self.reply_until else None,
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


def skip_reason(patient: Patient, kind: str) -> str | None:
    if not patient.email:
        return "no_email"
    if patient.email_bad_at is not None:
        return "bad_email"
    if kind != "invitation" and not patient.email_consent:
        return "no_email_consent"
    return None


def from_header(site: Site, settings: Settings) -> tuple[str, str]:
    """(display header, envelope address). The approved custom address comes with the site-account issue."""
    address = settings.noreply_address
    return str(Address(display_name=site.email_friendly_name, addr_spec=address)), address


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


def _context(session: Session, patient: Patient, site: Site, settings: Settings, draft: Draft,
             weblink: str | None) -> RenderContext:
    appointment = None
    if draft.appointment_id is not None:
        appointment = session.get(Appointment, draft.appointment_id)
    else:
        appointment = session.scalar(
            select(Appointment).where(Appointment.patient_id == patient.id, Appointment.status == "booked",
                                      Appointment.starts_at >= utcnow()).order_by(Appointment.starts_at).limit(1))
    provider_id = appointment.provider_id if appointment is not None else patient.primary_provider_id
    provider = session.get(Provider, provider_id) if provider_id else None
    return RenderContext(
        first_name=patient.first_name, last_name=patient.last_name, preferred_name=patient.preferred_name,
        clinic_name=site.name, language=patient.language if patient.language in ("en", "fr") else "en",
        appointment_at=appointment.starts_at if appointment is not None else None,
        # An appointment without a room or address takes place at the clinic itself.
        appointment_location=(appointment.location or site.name) if appointment is not None else None,
        provider_name=provider.display_name if provider else None, weblink=weblink,
        weblink_french=f"{weblink}?lang=fr" if weblink else None, timezone=settings.timezone)


def _patients(session: Session, ids: Sequence[int]) -> list[Patient]:
    ids = list(dict.fromkeys(ids))  # a patient picked twice gets one message
    found = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"{len(missing)} of the chosen patients no longer exist.")
    return [found[i] for i in ids]


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


def preview_draft(uow: UnitOfWork, draft: Draft, *, settings: Settings) -> Preview:
    session = uow.session
    _forms, _files, site = _prepare(session, draft)
    skipped, first, count = [], None, 0
    for patient in _patients(session, draft.patient_ids):
        reason = skip_reason(patient, draft.kind)
        if reason:
            skipped.append(Skipped(patient.id, patient.chart_id, reason))
            continue
        count += 1
        # Every recipient is rendered, so a missing value anywhere is caught before Send.
        rendered = render_message(draft.subject, draft.salutation, draft.body_html,
                                  _context(session, patient, site, settings, draft, settings.portal_base_url + "/m/…"))
        first = first or rendered
    return Preview(count, skipped, first, from_header(site, settings)[0], _warnings(draft))


def send_draft(uow: UnitOfWork, draft: Draft, *, settings: Settings, cipher: SiteCipher) -> SendResult:
    """Create one message per reachable patient and queue its email; commits once at the end."""
    result = queue_draft(uow, draft, settings=settings, cipher=cipher)
    uow.commit()
    return result


def queue_draft(uow: UnitOfWork, draft: Draft, *, settings: Settings, cipher: SiteCipher) -> SendResult:
    """:func:`send_draft` without the commit, for a caller that writes more in the same transaction."""
    session = uow.session
    forms, files, site = _prepare(session, draft)
    header, envelope = from_header(site, settings)
    domain = envelope.rpartition("@")[2] or "accueil.invalid"
    options = draft.options.to_data()
    now = utcnow()
    message_ids: list[int] = []
    skipped: list[Skipped] = []
    for patient in _patients(session, draft.patient_ids):
        reason = skip_reason(patient, draft.kind)
        if reason:
            skipped.append(Skipped(patient.id, patient.chart_id, reason))
            continue
        message_ids.append(_send_one(session, draft, patient, site, settings, cipher, forms, files,
                                     header=header, envelope=envelope, domain=domain, options=options, now=now,
                                     actor=uow.actor))
    return SendResult(message_ids, skipped)


def _send_one(session: Session, draft: Draft, patient: Patient, site: Site, settings: Settings, cipher: SiteCipher,
              forms: list[EForm], files: list[CheckedFile], *, header: str, envelope: str, domain: str,
              options: dict[str, object], now: datetime, actor: str) -> int:
    token = secrets.token_urlsafe(32)  # 256 bits
    marker = "LINK-" + secrets.token_hex(16)
    link = f"{settings.portal_base_url.rstrip('/')}/m/{marker}"
    rendered = render_message(draft.subject, draft.salutation, draft.body_html,
                              _context(session, patient, site, settings, draft, link))
    if patient.portal_reference is None:
        patient.portal_reference = _new_reference()
    message_id_header = make_msgid(domain=domain)
    message = Message(
        patient_id=patient.id, kind=draft.kind, sender_user_id=draft.sender_user_id,
        sender_emr_name=draft.sender_emr_name, provider_id=patient.primary_provider_id, template_id=draft.template_id,
        appointment_id=draft.appointment_id, portal_reference=patient.portal_reference, to_address=patient.email,
        subject=_redact(rendered.subject, link), body_html=_redact(rendered.html, link),
        body_text=_redact(rendered.text, link),
        options=options, token_hash=hashlib.sha256(token.encode()).digest(),
        token_expires_at=now + timedelta(days=settings.link_valid_days), message_id_header=message_id_header,
        delivery_state="queued", created_at=now,
    )
    session.add(message)
    session.flush()
    if draft.secure_message:
        session.add(SecureContent(message_id=message.id,
                                  ciphertext=cipher.encrypt_text(draft.secure_message, context="secure_content")))
    requests = [FormRequest(message_id=message.id, eform_id=form.id) for form in forms]
    session.add_all(requests)
    for checked in files:
        session.add(Attachment(
            message_id=message.id, direction="staff", display_name=checked.display_name, extension=checked.extension,
            content_type=checked.content_type, size=len(checked.data), sha256=hashlib.sha256(checked.data).digest(),
            ciphertext=cipher.encrypt(checked.data, context="attachment")))
    session.flush()
    common = {"patient_id": patient.id, "message_id": message.id, "user_id": draft.sender_user_id,
              "provider_id": patient.primary_provider_id}
    rows = [{"kind": events.LINK_CREATED, **common}]
    if not requests and draft.kind == "secure_message":
        rows.append({"kind": events.MESSAGE_SENT, **common})
    rows += [{"kind": events.FORM_SENT, "form_request_id": r.id, **common} for r in requests]
    events.record_events(session, rows, at=now)
    email = build_email(rendered, header=header, to=patient.email or "", message_id=message_id_header, marker=marker,
                   token=token, now=now)
    enqueue(session, kind="email", idempotency_key=f"email:message:{message.id}", message_id=message.id,
            payload=email_payload(sender=envelope, to=patient.email or "", message_bytes=email, cipher=cipher))
    audit.record(session, actor=actor, action="message.send", patient_id=patient.id,
                 detail={"message_id": message.id, "forms": len(requests), "attachments": len(files)})
    return message.id


def _redact(text: str, link: str) -> str:
    return text.replace(link + "?lang=fr", LINK_MARKER).replace(link, LINK_MARKER)


def build_email(rendered: RenderedMessage, *, header: str, to: str, message_id: str, marker: str, token: str,
           now: datetime) -> bytes:
    mail = EmailMessage()
    mail["From"] = header
    mail["To"] = to
    mail["Subject"] = rendered.subject.replace(marker, token)  # [weblink] may be in the subject too
    mail["Date"] = formatdate(now.timestamp(), usegmt=True)
    mail["Message-ID"] = message_id
    mail.set_content(rendered.text.replace(marker, token))
    mail.add_alternative(rendered.html.replace(marker, token), subtype="html")
    return bytes(mail)


def _new_reference() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))
