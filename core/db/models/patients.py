"""Patients as the EMR exports them (PT-1), their appointments and connected systems.

The ``*_key`` columns hold folded copies (lower case, no accents, letters and digits only)
so that search-as-you-type is an index range scan on every backend (PT-2).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


def _key_type(length: int) -> String:
    """Search keys compare byte-wise on every backend. Under a linguistic PostgreSQL collation
    (e.g. fr-CA) a prefix's upper bound such as 'co{' sorts before the keys it should bound, and
    range scans miss patients; "C" makes PostgreSQL order them exactly as SQLite does."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (
        Index("ix_patients_name_key", "last_key", "first_key", "id"),
        Index("ix_patients_health_key", "health_key", "id"),
        Index("ix_patients_phone_key", "phone_key", "id"),
        Index("ix_patients_dob", "date_of_birth", "last_key", "id"),
        Index("ix_patients_email", "email"),
        Index("ix_patients_campaign_filter", "language", "marketing_consent", "date_of_birth"),
        Index("ix_patients_campaign_age", "date_of_birth", "language", "email_consent", "marketing_consent",
              "push_enabled", "sex", "last_visit", "primary_provider_id", "id"),  # 0015: campaign conditions
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chart_id: Mapped[str] = mapped_column(_key_type(40), unique=True)
    health_number: Mapped[str | None] = mapped_column(String(40))
    health_province: Mapped[str | None] = mapped_column(String(2))
    health_version: Mapped[str | None] = mapped_column(String(4))
    health_key: Mapped[str | None] = mapped_column(_key_type(40))
    last_name: Mapped[str] = mapped_column(String(120))
    first_name: Mapped[str] = mapped_column(String(120))
    preferred_name: Mapped[str | None] = mapped_column(String(120))
    last_key: Mapped[str] = mapped_column(_key_type(120))
    first_key: Mapped[str] = mapped_column(_key_type(120))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    language: Mapped[str] = mapped_column(String(2), default="en")
    email: Mapped[str | None] = mapped_column(String(320))
    email_bad_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    email_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    push_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    primary_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    phone_key: Mapped[str | None] = mapped_column(_key_type(20))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    last_visit: Mapped[date | None] = mapped_column(Date)
    # Renewed by a portal purge (PT-6): the next message starts a blank history.
    portal_reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConnectedSystem(Base):
    """An external system the patient has connected (e.g. the patient app, CA-4/PO-6)."""

    __tablename__ = "connected_systems"
    __table_args__ = (UniqueConstraint("patient_id", "system"), Index("ix_connected_systems_system", "system"))

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    system: Mapped[str] = mapped_column(String(40))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_patient", "patient_id", "starts_at"),
        Index("ix_appointments_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=15)
    kind: Mapped[str] = mapped_column(String(40), default="visit")
    location: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="booked")  # booked|cancelled|done
