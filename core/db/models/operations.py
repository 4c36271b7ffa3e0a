"""Campaigns, the EMR side, the outbox, events and the audit trail.

The outbox is written in the same transaction as the change that causes a side effect and is
drained by the worker (MS-5, SR-4); events feed reports and notifications (RP, MS-6); the
audit trail is append-only and hash-chained (SR-1), refused UPDATE and DELETE by triggers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, JSONData, UTCDateTime, utcnow


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # invitation|app
    mode: Mapped[str] = mapped_column(String(10))  # email|app
    status: Mapped[str] = mapped_column(String(10), default="draft")  # draft|started|ended
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    email_subject: Mapped[str | None] = mapped_column(String(300))
    email_body: Mapped[str | None] = mapped_column(Text)
    app_title: Mapped[str | None] = mapped_column(String(200))
    app_body: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "patient_id"),
        Index("ix_campaign_recipients_patient", "patient_id"),
        Index("ix_campaign_recipients_token", "invite_token_hash", unique=True),
        Index("ix_campaign_recipients_page", "campaign_id", "id"),
        Index("ix_campaign_recipients_added", "added_at", "id"),  # the campaign report (0008)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    state: Mapped[str] = mapped_column(String(20), default="assigned")  # assigned|sent|skipped|failed|removed
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    marketing_consent_at_send: Mapped[bool | None] = mapped_column(Boolean)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An invitation's link: only the SHA-256 of its token is kept (SR-3); valid 14 days (PO-6).
    invite_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    invite_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invite_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_id: Mapped[int | None] = mapped_column(Integer)  # the email or push of this send


class CampaignConsent(Base):
    """The consent ledger (CA-8): what one recipient had consented to at the moment of Start."""

    __tablename__ = "campaign_consents"
    __table_args__ = (Index("ix_campaign_consents_patient", "patient_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("campaign_recipients.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(10))  # email|push
    marketing_consent: Mapped[bool] = mapped_column(Boolean)
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_consent: Mapped[bool] = mapped_column(Boolean)
    has_email: Mapped[bool] = mapped_column(Boolean)
    push_enabled: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(String(10))  # sent|skipped
    reason: Mapped[str | None] = mapped_column(String(40))


class PatientCondition(Base):
    """A saved condition set of the campaign condition builder (CA-4)."""

    __tablename__ = "patient_conditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONData)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChartEntry(Base):
    """What Accueil wrote into the EMR record (EM-1..EM-4): note, progress note, task,
    document, folder entry or encounter note. ``source_key`` makes a retried import idempotent."""

    __tablename__ = "chart_entries"
    __table_args__ = (Index("ix_chart_entries_patient", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str | None] = mapped_column(String(20))  # tasks: active|completed
    title: Mapped[str] = mapped_column(String(300))
    body_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    folder: Mapped[str | None] = mapped_column(String(200))
    subfolder: Mapped[str | None] = mapped_column(String(200))
    document_name: Mapped[str | None] = mapped_column(String(255))
    document_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportItem(Base):
    """The EMR import queue (EM-5): one reply or one attachment waiting to go into the record."""

    __tablename__ = "import_items"
    __table_args__ = (UniqueConstraint("kind", "source_id"), Index("ix_import_items_state", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # reply|attachment
    source_id: Mapped[int] = mapped_column(Integer)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|waiting|imported|failed
    reason: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxItem(Base):
    """A side effect that leaves the process (email, push, EMR drop), sent by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "next_try_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # email|push|emr_import
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONData)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|claimed|sent|failed|uncertain
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """Something that happened to a message, form or campaign; reports read only this table."""

    __tablename__ = "events"
    __table_args__ = (
        # (kind, at, id): keyset pages; message_id: the confirmed report's message kind without a row read (0016).
        Index("ix_events_kind_at", "kind", "at", "id", "message_id"),
        Index("ix_events_message", "message_id", "kind"),
        # Reports (0008): a filter by sender, provider or patient within a kind and a date range.
        Index("ix_events_kind_user", "kind", "user_id", "at"),
        Index("ix_events_kind_provider", "kind", "provider_id", "at"),
        Index("ix_events_patient", "patient_id", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    form_request_id: Mapped[int | None] = mapped_column(ForeignKey("form_requests.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    channel: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONData)


class DomainCheck(Base):
    """One validation of a custom From address's DNS records (SI-2, SI-4 history)."""

    __tablename__ = "domain_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))  # green|yellow|red|unknown
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONData)


class AuditEntry(Base):
    """Append-only; ``entry_hash`` = SHA-256 over the previous hash and this entry's fields."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_patient", "patient_id", "id"),
        Index("ix_audit_entries_actor", "actor", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    patient_id: Mapped[int | None] = mapped_column(Integer)  # no FK: the trail outlives any record
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONData)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """One row holding the chain's last hash; locked by every append so the chain stays linear."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
