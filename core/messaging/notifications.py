"""MS-6 staff notifications: viewed, completed, no response after N days.

A notification belongs to one message: the sender of a message that asked for it is told once,
when the patient views that message (or completes its forms). So a user already notified is
never told again about secure content that other users send later, unless they send content
with a notification requested themselves — the seed's rule, with its four scenarios in the tests.

Recipients: the sender's email and their clinical delegates' emails; for a message sent by an
EMR user without an Accueil account, the site's clinical administrator / support contact.
The emails go through the outbox, encrypted like every other outgoing email, and carry the
chart ID only (no name, no content).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.crypto import SiteCipher
from core.db.models import DelegateEmail, Event, FormRequest, Message, Notification, Patient, Site, User
from core.outbox.queue import enqueue
from core.outbox.worker import email_payload
from core.sender.identity import sender_for
from core.settings import Settings

if TYPE_CHECKING:
    from core.bootstrap import Accueil

VIEWED, COMPLETED, NO_RESPONSE = "viewed", "completed", "no_response"

_TEXT = {
    "en": {
        VIEWED: ("Your secure message was viewed", "The patient (chart {chart}) viewed the secure message you sent on {sent}."),
        COMPLETED: ("A form you sent was completed", "The patient (chart {chart}) completed the form(s) you sent on {sent}."),
        NO_RESPONSE: ("No response to your message", "The patient (chart {chart}) has not responded to the message you sent on {sent}."),
    },
    "fr": {
        VIEWED: ("Votre message sécurisé a été consulté", "Le patient (dossier {chart}) a consulté le message sécurisé envoyé le {sent}."),
        COMPLETED: ("Un formulaire que vous avez envoyé a été rempli", "Le patient (dossier {chart}) a rempli le ou les formulaires envoyés le {sent}."),
        NO_RESPONSE: ("Aucune réponse à votre message", "Le patient (dossier {chart}) n'a pas répondu au message envoyé le {sent}."),
    },
}  # fmt: skip


def recipients(session: Session, message: Message) -> tuple[int | None, list[str], str]:
    """(user id, addresses, language) who hear about this message."""
    if message.sender_user_id is not None:
        user = session.get(User, message.sender_user_id)
        if user is not None:
            addresses = [user.email] if user.email else []
            addresses += list(session.scalars(select(DelegateEmail.email).where(DelegateEmail.user_id == user.id)))
            return user.id, sorted(set(addresses)), user.language
    site = session.scalars(select(Site)).one()
    contact = site.support_contact_email or site.admin_contact_email
    return None, [contact] if contact else [], "en"


def _wanted(message: Message, kind: str) -> bool:
    options = message.options or {}
    if kind == VIEWED:
        return bool(options.get("notify_viewed"))
    if kind == COMPLETED:
        return bool(options.get("notify_completed"))
    return bool(options.get("notify_no_response_days"))


def notify(session: Session, message: Message, kind: str, *, settings: Settings, cipher: SiteCipher,
           now: datetime) -> int:
    """Queue this message's ``kind`` notification once; returns how many emails were queued."""
    if not _wanted(message, kind):
        return 0
    already = session.scalar(select(exists().where(Notification.message_id == message.id, Notification.kind == kind)))
    if already:
        return 0
    user_id, addresses, language = recipients(session, message)
    chart = session.scalar(select(Patient.chart_id).where(Patient.id == message.patient_id))
    identity = sender_for(session, settings)
    subject, body = _TEXT.get(language, _TEXT["en"])[kind]
    text = body.format(chart=chart, sent=message.created_at.date().isoformat())
    for address in addresses:
        session.add(Notification(user_id=user_id, email=address, kind=kind, message_id=message.id,
                                 patient_id=message.patient_id, created_at=now))
        session.flush()
        mail = EmailMessage()
        mail["From"] = identity.from_header
        mail["To"] = address
        mail["Subject"] = subject
        mail["Date"] = formatdate(now.timestamp(), usegmt=True)
        mail["Message-ID"] = make_msgid(domain=identity.domain)
        mail.set_content(text)
        enqueue(session, kind="email", idempotency_key=f"notify:{kind}:{message.id}:{address}",
                payload=email_payload(sender=identity.envelope_from, to=address,
                                      message_bytes=identity.sign(bytes(mail)), cipher=cipher))
    if not addresses:
        # Still recorded, so the scheduler does not try again every minute; the Site screen lists
        # notifications that had nowhere to go.
        session.add(Notification(user_id=user_id, email="", kind=kind, message_id=message.id,
                                 patient_id=message.patient_id, created_at=now))
    return len(addresses)


def check_no_response(session: Session, *, settings: Settings, cipher: SiteCipher, now: datetime) -> int:
    """The scheduler's job: messages past their 'no response after N days' with no reply, view or form."""
    queued = 0
    candidates = session.scalars(
        select(Message).where(Message.revoked_at.is_(None), Message.created_at <= now - timedelta(days=1),
                              Message.created_at >= now - timedelta(days=91))
        .where(~exists().where(Notification.message_id == Message.id, Notification.kind == NO_RESPONSE))
    )
    for message in candidates:
        days = (message.options or {}).get("notify_no_response_days")
        if not days or message.created_at > now - timedelta(days=int(days)):
            continue
        responses = ["message.replied", "form.completed"]
        asks_nothing = not (message.options or {}).get("allow_reply") and not session.scalar(
            select(exists().where(FormRequest.message_id == message.id)))
        if asks_nothing:  # nothing to answer: opening the message is the response
            responses.append("message.confirmed")
        responded = session.scalar(select(exists().where(Event.message_id == message.id, Event.kind.in_(responses))))
        if not responded:
            queued += notify(session, message, NO_RESPONSE, settings=settings, cipher=cipher, now=now)
    return queued


def run_no_response_check(app: Accueil, now: datetime) -> int:
    """``check_no_response`` in its own unit of work, as the worker's scheduler runs it."""
    with app.uow(write=True) as uow:
        queued = check_no_response(uow.session, settings=app.settings, cipher=app.cipher, now=now)
        uow.commit()
    return queued
