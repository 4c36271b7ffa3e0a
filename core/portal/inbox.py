"""What a signed-in patient sees in the portal (PO-2, PO-4), as dataclasses, and their own deletions.

A patient sees the messages sent under their current portal reference (a purge gives a new
reference, so the history starts empty), minus revoked ones and those they deleted from their
view. Opening a message goes through ``record_viewed`` the first time ("confirmed"); every later
opening, each download and each deletion is audited here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crypto import SiteCipher
from core.db.models import Attachment, EForm, FormRequest, Message, Reply, SecureContent, Site, User, utcnow
from core.errors import NotFound
from core.messaging.eforms import FormDefinition
from core.messaging.patient_actions import PORTAL_ACTOR, ReplyWindow, record_viewed, reply_window
from core.portal.sessions import PortalUser
from core.settings import Settings
from core.uow import UnitOfWork

VISIBLE_KINDS = ("secure_message", "reminder")


@dataclass(frozen=True)
class MessageSummary:
    id: int
    subject: str
    sent_at: datetime
    sender: str
    viewed: bool
    pending_forms: int


@dataclass(frozen=True)
class FileInfo:
    id: int
    name: str
    size: int
    direction: str


@dataclass(frozen=True)
class ReplyInfo:
    created_at: datetime
    text: str
    files: tuple[FileInfo, ...]


@dataclass(frozen=True)
class FormInfo:
    id: int
    message_id: int
    title_en: str
    title_fr: str
    state: str


@dataclass(frozen=True)
class MessageView:
    id: int
    subject: str
    sent_at: datetime
    sender: str
    secure_text: str | None
    files: tuple[FileInfo, ...]
    replies: tuple[ReplyInfo, ...]
    forms: tuple[FormInfo, ...]
    window: ReplyWindow
    patient_bytes: int  # files the patient already sent with this message (MS-8 total)


@dataclass(frozen=True)
class FormToFill:
    info: FormInfo
    definition: FormDefinition


@dataclass(frozen=True)
class Download:
    name: str
    content_type: str
    data: bytes


def clinic_name(session: Session) -> str:
    return session.scalar(select(Site.name).limit(1)) or ""


def _visible(user: PortalUser):  # noqa: ANN202 - a SQLAlchemy condition list
    return (Message.patient_id == user.patient_id, Message.portal_reference == user.reference,
            Message.portal_reference.is_not(None), Message.revoked_at.is_(None),
            Message.deleted_by_patient_at.is_(None), Message.kind.in_(VISIBLE_KINDS))


def _message(session: Session, user: PortalUser, message_id: int) -> Message:
    message = session.scalar(select(Message).where(Message.id == message_id, *_visible(user)))
    if message is None:
        raise NotFound("This message is no longer available.")
    return message


def _sender(session: Session, message: Message) -> str:
    if message.sender_user_id is not None:
        name = session.scalar(select(User.display_name).where(User.id == message.sender_user_id))
        if name:
            return name
    return message.sender_emr_name or clinic_name(session)


def list_messages(uow: UnitOfWork, user: PortalUser) -> list[MessageSummary]:
    session = uow.session
    messages = session.scalars(select(Message).where(*_visible(user)).order_by(Message.created_at.desc())).all()
    pending: dict[int, int] = {}
    for (message_id,) in session.execute(select(FormRequest.message_id).where(
            FormRequest.message_id.in_([m.id for m in messages]), FormRequest.state == "pending")):
        pending[message_id] = pending.get(message_id, 0) + 1
    return [MessageSummary(m.id, m.subject, m.sent_at or m.created_at, _sender(session, m),
                           m.first_viewed_at is not None, pending.get(m.id, 0)) for m in messages]


def _files(session: Session, message_id: int, reply_id: int | None = None, direction: str = "staff"
           ) -> tuple[FileInfo, ...]:
    query = select(Attachment).where(Attachment.message_id == message_id, Attachment.direction == direction,
                                     Attachment.purged_at.is_(None))
    if reply_id is not None:
        query = query.where(Attachment.reply_id == reply_id)
    return tuple(FileInfo(a.id, a.display_name, a.size, a.direction) for a in session.scalars(query.order_by(
        Attachment.id)))


def _forms(session: Session, message_ids: list[int], states: tuple[str, ...]) -> list[FormInfo]:
    rows = session.execute(select(FormRequest.id, FormRequest.message_id, EForm.title_en, EForm.title_fr,
                                  FormRequest.state).join(EForm, EForm.id == FormRequest.eform_id)
                           .where(FormRequest.message_id.in_(message_ids), FormRequest.state.in_(states))
                           .order_by(FormRequest.id))
    return [FormInfo(*row) for row in rows]


def open_message(uow: UnitOfWork, user: PortalUser, message_id: int, *, settings: Settings,
                 cipher: SiteCipher, now: datetime | None = None, record: bool = True) -> MessageView:
    """The message as the patient reads it; the reading is recorded (needs a write unit of work) unless
    ``record`` is false (the portal only checking the reply window of a reply being sent)."""
    session = uow.session
    message = _message(session, user, message_id)
    content = session.get(SecureContent, message.id)
    text = cipher.decrypt_text(content.ciphertext, context="secure_content") \
        if content is not None and content.ciphertext is not None else None
    replies = []
    for reply in session.scalars(select(Reply).where(Reply.message_id == message.id, Reply.purged_at.is_(None))
                                 .order_by(Reply.created_at)):
        body = cipher.decrypt_text(reply.body_ciphertext, context="reply") if reply.body_ciphertext else ""
        replies.append(ReplyInfo(reply.created_at, body, _files(session, message.id, reply.id, "patient")))
    patient_bytes = sum(session.scalars(select(Attachment.size).where(Attachment.message_id == message.id,
                                                                     Attachment.direction == "patient")))
    view = MessageView(message.id, message.subject, message.sent_at or message.created_at, _sender(session, message),
                       text, _files(session, message.id), tuple(replies),
                       tuple(_forms(session, [message.id], ("pending", "completed"))),
                       reply_window(message, timezone=settings.timezone, now=now), patient_bytes)
    if not record:
        return view
    if message.first_viewed_at is None:  # "confirmed": event, notification and audit entry
        record_viewed(uow, [message.id], settings=settings, cipher=cipher, now=now)
    else:  # every later reading is in the access log too
        audit.record(session, actor=PORTAL_ACTOR, action="portal.message_opened", patient_id=user.patient_id,
                     detail={"message_id": message.id})
        uow.commit()
    return view


def download(uow: UnitOfWork, user: PortalUser, attachment_id: int, *, cipher: SiteCipher) -> Download:
    """A file of a visible message (the clinic's, or one the patient sent); audited."""
    session = uow.session
    row = session.get(Attachment, attachment_id)
    if row is None or row.ciphertext is None or row.purged_at is not None:
        raise NotFound("This file is no longer available.")
    _message(session, user, row.message_id)
    data = cipher.decrypt(row.ciphertext, context="attachment")
    audit.record(session, actor=PORTAL_ACTOR, action="portal.file_downloaded", patient_id=user.patient_id,
                 detail={"message_id": row.message_id, "attachment_id": row.id})
    uow.commit()
    return Download(row.display_name, row.content_type, data)


def delete_message(uow: UnitOfWork, user: PortalUser, message_id: int, *, now: datetime | None = None) -> None:
    """PO-2: gone from the patient's view only; the clinic's records and the EMR are untouched."""
    message = _message(uow.session, user, message_id)
    message.deleted_by_patient_at = now or utcnow()
    audit.record(uow.session, actor=PORTAL_ACTOR, action="portal.message_deleted", patient_id=user.patient_id,
                 detail={"message_id": message.id})
    uow.commit()


def pending_forms(uow: UnitOfWork, user: PortalUser) -> list[FormInfo]:
    ids = list(uow.session.scalars(select(Message.id).where(*_visible(user))))
    return _forms(uow.session, ids, ("pending",)) if ids else []


def form_to_fill(uow: UnitOfWork, user: PortalUser, form_request_id: int) -> FormToFill:
    session = uow.session
    request = session.get(FormRequest, form_request_id)
    if request is None or request.state != "pending":
        raise NotFound("This form is no longer available.")
    _message(session, user, request.message_id)
    form = session.get(EForm, request.eform_id)
    return FormToFill(FormInfo(request.id, request.message_id, form.title_en, form.title_fr, request.state),
                      FormDefinition.from_data(form.definition))


__all__ = ["Download", "FileInfo", "FormInfo", "FormToFill", "MessageSummary", "MessageView", "ReplyInfo",
           "clinic_name", "delete_message", "download", "form_to_fill", "list_messages", "open_message",
           "pending_forms"]
