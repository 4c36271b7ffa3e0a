"""Who a send goes to (MS-1, MS-4): the patients' rows, who cannot be reached and why, what each
one's email needs (appointment, provider, language), and portal reference numbers (PT-6).

A send reads only the columns it needs, as plain rows: loading thousands of ORM objects would
cost more than the rest of the send.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core.db.bulk import update_rows
from core.db.models import Appointment, Patient, Provider, Site, utcnow
from core.errors import InvalidInput
from core.messaging.render import RenderContext
from core.settings import Settings


def skip_reason(patient: Recipient, kind: str) -> str | None:
    if not patient.email:
        return "no_email"
    if patient.email_bad_at is not None:
        return "bad_email"
    if kind != "invitation" and not patient.email_consent:
        return "no_email_consent"
    return None


Lookup = tuple[Appointment | None, str | None]  # (the appointment a message is about, the provider's name)


def lookups(session: Session, patients: Sequence[Recipient], appointment_id: int | None) -> dict[int, Lookup]:
    """Each patient's appointment (the draft's, or their next booked one) and provider, in a few queries."""
    appointments: dict[int, Appointment] = {}
    if appointment_id is not None:
        chosen = session.get(Appointment, appointment_id)
        if chosen is not None:
            appointments = {patient.id: chosen for patient in patients}
    else:
        ids = [patient.id for patient in patients]
        for start in range(0, len(ids), 2000):
            for appointment in session.scalars(
                    select(Appointment).where(Appointment.patient_id.in_(ids[start:start + 2000]),
                                              Appointment.status == "booked", Appointment.starts_at >= utcnow())
                    .order_by(Appointment.patient_id, Appointment.starts_at)):
                appointments.setdefault(appointment.patient_id, appointment)
    names = dict(session.execute(select(Provider.id, Provider.display_name)).all())
    found: dict[int, Lookup] = {}
    for patient in patients:
        appointment = appointments.get(patient.id)
        provider_id = appointment.provider_id if appointment is not None else patient.primary_provider_id
        found[patient.id] = (appointment, names.get(provider_id) if provider_id else None)
    return found


def render_context(patient: Recipient, site: Site, settings: Settings, lookup: Lookup, weblink: str | None) -> RenderContext:
    appointment, provider_name = lookup
    return RenderContext(
        first_name=patient.first_name, last_name=patient.last_name, preferred_name=patient.preferred_name,
        clinic_name=site.name, language=patient.language if patient.language in ("en", "fr") else "en",
        appointment_at=appointment.starts_at if appointment is not None else None,
        appointment_location=appointment.location if appointment is not None else None,
        provider_name=provider_name, weblink=weblink,
        weblink_french=f"{weblink}?lang=fr" if weblink else None, timezone=settings.timezone)


# The patient columns a send reads, as plain rows: loading 5,000 ORM objects costs more than the rest.
RECIPIENT_COLUMNS = (Patient.id, Patient.chart_id, Patient.first_name, Patient.last_name, Patient.preferred_name,
                     Patient.language, Patient.email, Patient.email_consent, Patient.email_bad_at,
                     Patient.primary_provider_id, Patient.portal_reference)
Recipient = Any  # a row of RECIPIENT_COLUMNS (or a Patient: both have these attributes)
PATIENTS = cast(Table, Patient.__table__)


def load_recipients(session: Session, ids: Sequence[int]) -> list[Recipient]:
    ids = list(dict.fromkeys(ids))  # a patient picked twice gets one message
    found: dict[int, Recipient] = {}
    for start in range(0, len(ids), 2000):
        found.update((row.id, row) for row in session.execute(
            select(*RECIPIENT_COLUMNS).where(Patient.id.in_(ids[start:start + 2000]))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"{len(missing)} of the chosen patients no longer exist.")
    return [found[i] for i in ids]


def portal_references(session: Session, patients: Sequence[Recipient]) -> dict[int, str]:
    """Each patient's portal reference, giving one to those without (PT-6: a new one after a purge)."""
    references = {p.id: p.portal_reference for p in patients if p.portal_reference is not None}
    new = [{"id": p.id, "portal_reference": _new_reference()} for p in patients if p.portal_reference is None]
    if new:
        update_rows(session, PATIENTS, "id", new, where="patients.portal_reference IS NULL")
        ids = [row["id"] for row in new]
        for start in range(0, len(ids), 2000):  # read back: a concurrent send may have given one first
            references.update(session.execute(select(Patient.id, Patient.portal_reference)
                                              .where(Patient.id.in_(ids[start:start + 2000]))).all())
    return references


REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 letters and digits, none easily confused


def _new_reference() -> str:
    # 32 divides 256, so each random byte picks a character uniformly.
    return "".join(REFERENCE_ALPHABET[byte % 32] for byte in secrets.token_bytes(10))
