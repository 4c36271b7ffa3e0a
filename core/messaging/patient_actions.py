"""What the patient does behind the link, as the portal reports it: view, complete a form, reply.

Each function runs in the caller's write unit of work and commits: the change, its event, the
staff notification it triggers (MS-6) and the audit entry land together or not at all. The
portal never writes the database any other way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core import audit, events
from core.crypto import SiteCipher
from core.db.models import Attachment, EForm, FormRequest, Message, Reply, utcnow
from core.errors import InvalidInput, NotFound
from core.messaging.attachments import check_files
from core.messaging.eforms import FormDefinition, validate_answers
from core.messaging.notifications import COMPLETED, VIEWED, notify
from core.settings import Settings
from core.uow import UnitOfWork

PORTAL_ACTOR = "patient-portal"


class ReplyNotAllowed(InvalidInput):
    title = "Reply not possible"


@dataclass(frozen=True)
class ReplyWindow:
    allowed: bool
    attachments_allowed: bool
    closes_on: date | None
    expired: bool


def _message(uow: UnitOfWork, message_id: int) -> Message:
    # Locked: two portal requests for one message (two tabs) must not both count as "first".
    message = uow.session.get(Message, message_id, with_for_update=True)
    if message is None or message.revoked_at is not None:
        raise NotFound("This message is no longer available.")
    return message


def record_viewed(uow: UnitOfWork, message_ids: Sequence[int], *, settings: Settings, cipher: SiteCipher,
                  now: datetime | None = None) -> int:
    """The patient opened these messages (one page can show several at once). Returns first views."""
    now = now or utcnow()
    first_views = 0
    for message_id in message_ids:
        message = uow.session.get(Message, message_id, with_for_update=True)
        if message is None or message.revoked_at is not None or message.first_viewed_at is not None:
            continue
        message.first_viewed_at = now
        first_views += 1
        events.record_event(uow.session, events.MESSAGE_CONFIRMED, at=now, patient_id=message.patient_id,
                            message_id=message.id, user_id=message.sender_user_id, provider_id=message.provider_id)
        notify(uow.session, message, VIEWED, settings=settings, cipher=cipher, now=now)
        audit.record(uow.session, actor=PORTAL_ACTOR, action="message.viewed", patient_id=message.patient_id,
                     detail={"message_id": message.id})
    uow.commit()
    return first_views


def record_form_completed(uow: UnitOfWork, form_request_id: int, answers: dict[str, Any], *, language: str,
                          settings: Settings, cipher: SiteCipher, channel: str = "online",
                          now: datetime | None = None) -> None:
    """Validate against the form's definition, store the answers encrypted, tell the sender if asked."""
    if channel not in ("online", "kiosk"):
        raise ValueError(f"unknown channel {channel!r}")
    now = now or utcnow()
    session = uow.session
    request = session.get(FormRequest, form_request_id)
    if request is None or request.state == "purged":
        raise NotFound("This form is no longer available.")
    # The message first, then its form: two forms of one message submitted at once are serialised,
    # so the second sees the first completed and the "completed" notification is sent once.
    message = _message(uow, request.message_id)
    session.refresh(request, with_for_update=True)
    if request.state == "completed":
        raise InvalidInput("This form was already completed.")
    definition = FormDefinition.from_data(session.get(EForm, request.eform_id).definition)
    clean = validate_answers(definition, answers, language)
    request.answers_ciphertext = cipher.encrypt_text(json.dumps(clean.to_data(), ensure_ascii=False),
                                                     context="form_answers")
    request.state, request.channel, request.completed_at = "completed", channel, now
    events.record_event(session, events.FORM_COMPLETED, at=now, patient_id=message.patient_id, message_id=message.id,
                        form_request_id=request.id, user_id=message.sender_user_id, provider_id=message.provider_id,
                        channel=channel)
    session.flush()
    pending = session.scalar(select(FormRequest.id).where(FormRequest.message_id == message.id,
                                                          FormRequest.state == "pending").limit(1))
    if pending is None:  # every form of this message is done: one "completed" notification
        notify(session, message, COMPLETED, settings=settings, cipher=cipher, now=now)
    audit.record(session, actor=PORTAL_ACTOR, action="form.completed", patient_id=message.patient_id,
                 detail={"message_id": message.id, "form_request_id": request.id, "channel": channel})
    uow.commit()


def reply_window(message: Message, *, timezone: str, now: datetime | None = None) -> ReplyWindow:
    options = message.options or {}
    zone = ZoneInfo(timezone)
    closes = date.fromisoformat(options["reply_until"]) if options.get("reply_until") else None
    if closes is None and options.get("reply_days") is not None:
        sent = message.created_at if message.created_at.tzinfo else message.created_at.replace(tzinfo=UTC)
        closes = sent.astimezone(zone).date() + timedelta(days=int(options["reply_days"]))
    today = (now or utcnow()).astimezone(zone).date()
    expired = closes is not None and today > closes
    return ReplyWindow(bool(options.get("allow_reply")), bool(options.get("allow_attachment")), closes, expired)


def record_reply(uow: UnitOfWork, message_id: int, text: str, files: Sequence[tuple[str, bytes]] = (), *,
                 settings: Settings, cipher: SiteCipher, now: datetime | None = None) -> int:
    """Store the patient's reply and files encrypted; they wait for the EMR import (EM)."""
    now = now or utcnow()
    session = uow.session
    message = _message(uow, message_id)
    window = reply_window(message, timezone=settings.timezone, now=now)
    if window.expired and window.closes_on is not None:
        raise ReplyNotAllowed(f"The reply window expired on {window.closes_on.isoformat()}.")
    if text.strip() and not window.allowed:
        raise ReplyNotAllowed("The clinic did not ask for a reply to this message.")
    if files and not window.attachments_allowed:
        raise ReplyNotAllowed("The clinic did not ask for files with this message.")
    if not text.strip() and not files:
        raise InvalidInput("The reply is empty.")
    checked = check_files(files)
    reply = Reply(message_id=message.id, created_at=now,
                  body_ciphertext=cipher.encrypt_text(text, context="reply") if text.strip() else None)
    session.add(reply)
    session.flush()
    for file in checked:
        session.add(Attachment(
            message_id=message.id, reply_id=reply.id, direction="patient", display_name=file.display_name,
            extension=file.extension, content_type=file.content_type, size=len(file.data),
            sha256=hashlib.sha256(file.data).digest(), ciphertext=cipher.encrypt(file.data, context="attachment"),
            created_at=now))
    events.record_event(session, events.MESSAGE_REPLIED, at=now, patient_id=message.patient_id, message_id=message.id,
                        user_id=message.sender_user_id, provider_id=message.provider_id,
                        detail={"files": len(checked)})
    audit.record(session, actor=PORTAL_ACTOR, action="message.replied", patient_id=message.patient_id,
                 detail={"message_id": message.id, "reply_id": reply.id, "files": len(checked)})
    uow.commit()
    return reply.id
