"""PT-4: a patient who is not in the system yet is found, or created, by health number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import Patient, utcnow
from core.errors import InvalidInput
from core.uow import UnitOfWork

from .contact import EMAIL
from .health_numbers import HealthNumberError, parse_health_number
from .keys import fold, phone_key
from .search import PatientSummary, summaries_where


@dataclass(frozen=True)
class NewPatient:
    province: str
    health_number: str
    last_name: str
    first_name: str
    date_of_birth: date
    sex: str | None = None
    language: str = "en"
    email: str | None = None
    phone: str | None = None
    chart_id: str | None = None  # the EMR's chart number when known; else one is made up (ACC-…)
    email_consent: bool = False  # consents given at the desk are dated now
    marketing_consent: bool = False


def find_by_health_number(session: Session, province: str, number: str) -> list[PatientSummary]:
    try:
        parsed = parse_health_number(province, number)
    except HealthNumberError as exc:
        raise InvalidInput(str(exc)) from None
    return summaries_where(session, Patient.health_key == parsed.key)


def create_patient(uow: UnitOfWork, details: NewPatient) -> int:
    """Create the record after checking the number against the province and the patient's details."""
    last, first = details.last_name.strip(), details.first_name.strip()
    if not last or not first:
        raise InvalidInput("Last name and first name are both needed.")
    if details.date_of_birth > date.today():
        raise InvalidInput("The date of birth is in the future.")
    try:
        parsed = parse_health_number(details.province, details.health_number, last_name=last, first_name=first,
                                     birth=details.date_of_birth, sex=details.sex)
    except HealthNumberError as exc:
        raise InvalidInput(str(exc)) from None
    email = (details.email or "").strip() or None
    if email is not None and not EMAIL.match(email):
        raise InvalidInput("This is not an email address: it needs a name, an @ and a domain such as example.com.")
    if details.email_consent and email is None:
        raise InvalidInput("Consent to email needs an email address.")
    session = uow.session
    if session.scalar(select(func.count()).where(Patient.health_key == parsed.key)):
        raise InvalidInput("A patient with this health number already exists: open it from the search instead.")
    chart_id = (details.chart_id or "").strip()
    if chart_id and session.scalar(select(func.count()).where(Patient.chart_id == chart_id)):
        raise InvalidInput(f"Chart ID {chart_id} is already used by another patient.")
    now = utcnow()
    patient = Patient(
        chart_id=chart_id or f"ACC-{now.strftime('%y%m%d%H%M%S%f')}", health_number=parsed.number,
        health_province=parsed.province, health_version=parsed.version or None, health_key=parsed.key,
        last_name=last, first_name=first, last_key=fold(last), first_key=fold(first),
        date_of_birth=details.date_of_birth, sex=details.sex, language=details.language,
        email=email, phone=details.phone, phone_key=phone_key(details.phone),
        email_consent=details.email_consent, email_consent_at=now if details.email_consent else None,
        marketing_consent=details.marketing_consent, marketing_consent_at=now if details.marketing_consent else None,
        created_at=now, updated_at=now,
    )
    session.add(patient)
    session.flush()
    audit.record(session, actor=uow.actor, action="patient.create", patient_id=patient.id,
                 detail={"via": "health-number"})
    uow.commit()
    return patient.id
