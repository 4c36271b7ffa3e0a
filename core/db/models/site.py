"""The clinic (one site per database), its staff, licences and EMR providers (SI, MS-7)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class Site(Base):
    """The clinic account. One row: each clinic has its own database."""

    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email_friendly_name: Mapped[str] = mapped_column(String(200))
    admin_contact_email: Mapped[str | None] = mapped_column(String(320))
    support_contact_email: Mapped[str | None] = mapped_column(String(320))
    custom_from_address: Mapped[str | None] = mapped_column(String(320))
    custom_from_state: Mapped[str] = mapped_column(String(20), default="none")  # none|pending|approved|fallen_back
    custom_from_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The site key itself never lives here: only the scrypt salt and a check value that tells
    # a wrong key from a right one without decrypting patient data.
    key_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    key_check: Mapped[bytes] = mapped_column(LargeBinary(128))
    emr_profile: Mapped[str] = mapped_column(String(20), default="generic")  # generic|oscar_pro|accuro
    consult_notes_as: Mapped[str] = mapped_column(String(20), default="active")  # active|completed
    secure_notes_as: Mapped[str] = mapped_column(String(20), default="folder")  # folder|encounter_note
    notes_folder: Mapped[str | None] = mapped_column(String(200))
    notes_subfolder: Mapped[str | None] = mapped_column(String(200))
    emr_destination: Mapped[str] = mapped_column(String(20), default="chart")  # chart|folder
    emr_import_path: Mapped[str | None] = mapped_column(String(500))
    portal_retention_days: Mapped[int | None] = mapped_column(Integer, default=30,  # None: kept
                                                              server_default=text("30"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Licence(Base):
    """A patient-engagement licence held by a provider (or a nurse acting as one)."""

    __tablename__ = "licences"

    id: Mapped[int] = mapped_column(primary_key=True)
    holder_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    """A staff account. Roles follow MS-7: provider, nurse, moa, administrator, resident,
    medical_student, medical_assistant; ``operator`` approves custom From addresses (SI-3)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(2), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    os_user: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    can_campaigns: Mapped[bool] = mapped_column(Boolean, default=False)
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    # Support staff enabled to send by a provider's licence (at most 3 per licence).
    enabled_by_licence_id: Mapped[int | None] = mapped_column(ForeignKey("licences.id", use_alter=True))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    theme: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DelegateEmail(Base):
    """A clinical delegate's address that receives a user's notifications (MS-6)."""

    __tablename__ = "delegate_emails"
    __table_args__ = (UniqueConstraint("user_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))


class Provider(Base):
    """A provider as the EMR knows them (may or may not have a staff account)."""

    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    emr_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
