"""Secure messages and what hangs off them (MS-1..MS-9, PO-1..PO-8).

A ``Message`` is one send to one patient: two patients sharing a mailbox get two rows, two
links. Sensitive content (secure text, replies, form answers, attachments) is stored only as
AES-GCM ciphertext made with the site key (SR-2); link tokens only as SHA-256 (SR-3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONData, UTCDateTime, utcnow


class EForm(Base):
    """An eForm definition: its fields are data (type, required, FR/EN labels, choices)."""

    __tablename__ = "eforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_fr: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONData)
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Template(Base):
    """A saved message (MS-3): every field and option of compose."""

    __tablename__ = "templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="secure_message")  # secure_message|reminder|invitation
    language: Mapped[str] = mapped_column(String(2), default="en")
    subject: Mapped[str] = mapped_column(String(300))
    salutation: Mapped[str] = mapped_column(String(300), default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    secure_message: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    built_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TemplateEForm(Base):
    __tablename__ = "template_eforms"

    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id", ondelete="CASCADE"), primary_key=True)
    eform_id: Mapped[int] = mapped_column(ForeignKey("eforms.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """One email to one patient with its personal link."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_patient", "patient_id", "created_at"),
        Index("ix_messages_sender", "sender_user_id", "created_at"),
        Index("ix_messages_kind", "id", "kind"),  # a message's kind from the index alone (reports, 0016)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(20))  # secure_message|reminder|invitation
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sender_emr_name: Mapped[str | None] = mapped_column(String(200))  # EMR user without an account
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    portal_reference: Mapped[str | None] = mapped_column(String(20))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_html: Mapped[str] = mapped_column(Text)
    body_text: Mapped[str] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id_header: Mapped[str] = mapped_column(String(200), unique=True)
    delivery_state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|sent|failed|uncertain
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_patient_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecureContent(Base):
    __tablename__ = "secure_contents"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)  # None once purged
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FormRequest(Base):
    """One eForm attached to one message: pending, completed (answers encrypted) or purged."""

    __tablename__ = "form_requests"
    __table_args__ = (UniqueConstraint("message_id", "eform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    eform_id: Mapped[int] = mapped_column(ForeignKey("eforms.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    answers_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    channel: Mapped[str | None] = mapped_column(String(20))  # online|kiosk
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Reply(Base):
    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    body_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file in either direction (MS-8): staff → patient or patient → clinic."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("replies.id"))
    direction: Mapped[str] = mapped_column(String(10))  # staff|patient
    display_name: Mapped[str] = mapped_column(String(255))
    extension: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PortalSession(Base):
    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReminderRule(Base):
    """MS-9: send the reminder template N days before matching appointments."""

    __tablename__ = "reminder_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    days_before: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[int] = mapped_column(ForeignKey("templates.id"))
    # The same reminder in the other language, for patients whose language is not template_id's.
    alt_template_id: Mapped[int | None] = mapped_column(ForeignKey("templates.id"))
    provider_ids: Mapped[list[int]] = mapped_column(JSONData, default=list)
    appointment_kinds: Mapped[list[str]] = mapped_column(JSONData, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ReminderSent(Base):
    """Once per appointment per rule, whatever the worker's restarts."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("rule_id", "appointment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """Who was told what (MS-6), so the seed's 'already notified' rule can be applied."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_patient", "user_id", "patient_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    email: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(20))  # viewed|completed|no_response
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
