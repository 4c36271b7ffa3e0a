"""The patient view (PT-1, PT-5): one record as plain data, and the audit entry that opening it writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from core import audit
from core.db.models import Appointment, ConnectedSystem, Patient, Provider
from core.errors import NotFound
from core.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class AppointmentSummary:
    id: int
    starts_at: datetime
    duration_minutes: int
    kind: str
    status: str
    provider_name: str | None


@dataclass(frozen=True, slots=True)
class PatientRecord:
    id: int
    chart_id: str
    last_name: str
    first_name: str
    preferred_name: str | None
    date_of_birth: date | None
    sex: str | None
    language: str
    health_number: str | None
    health_province: str | None
    health_version: str | None
    email: str | None
    email_bad: bool
    email_consent: bool
    email_consent_at: datetime | None
    marketing_consent: bool
    marketing_consent_at: datetime | None
    push_enabled: bool
    phone: str | None
    postal_code: str | None
    last_visit: date | None
    primary_provider: str | None
    portal_reference: str | None
    connected_systems: tuple[str, ...]
    appointments: tuple[AppointmentSummary, ...]


def open_patient(uow: UnitOfWork, patient_id: int, *, via: str = "search", appointments: int = 20) -> PatientRecord:
    """Load one record for display and audit the view; needs a write unit of work (the audit)."""
    session = uow.session
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound("This patient no longer exists.")
    provider = session.get(Provider, patient.primary_provider_id) if patient.primary_provider_id else None
    systems = tuple(session.scalars(
        select(ConnectedSystem.system).where(ConnectedSystem.patient_id == patient_id).order_by(ConnectedSystem.system)
    ))
    appointment_rows = session.execute(
        select(Appointment, Provider.display_name)
        .outerjoin(Provider, Provider.id == Appointment.provider_id)
        .where(Appointment.patient_id == patient_id)
        .order_by(Appointment.starts_at.desc())
        .limit(appointments)
    ).all()
    record = PatientRecord(
        id=patient.id, chart_id=patient.chart_id, last_name=patient.last_name, first_name=patient.first_name,
        preferred_name=patient.preferred_name, date_of_birth=patient.date_of_birth, sex=patient.sex,
        language=patient.language, health_number=patient.health_number, health_province=patient.health_province,
        health_version=patient.health_version, email=patient.email, email_bad=patient.email_bad_at is not None,
        email_consent=patient.email_consent, email_consent_at=patient.email_consent_at,
        marketing_consent=patient.marketing_consent, marketing_consent_at=patient.marketing_consent_at,
        push_enabled=patient.push_enabled, phone=patient.phone, postal_code=patient.postal_code,
        last_visit=patient.last_visit, primary_provider=provider.display_name if provider else None,
        portal_reference=patient.portal_reference, connected_systems=systems,
        appointments=tuple(
            AppointmentSummary(a.id, a.starts_at, a.duration_minutes, a.kind, a.status, name)
            for a, name in appointment_rows
        ),
    )
    audit.record(session, actor=uow.actor, action="patient.view", patient_id=patient_id, detail={"via": via})
    uow.commit()
    return record
