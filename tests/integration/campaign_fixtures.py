"""Shared data for the campaign tests: a clinic whose actor holds the Campaigns permission."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, select

from core.bootstrap import Accueil
from core.campaigns.campaigns import CampaignDraft
from core.campaigns.templates import default_invitation
from core.db.models import Appointment, ConnectedSystem, Patient, Provider, User
from core.patients.keys import fold

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def patient(chart: str, last: str, first: str, *, email: str | None = None, email_consent: bool = True,
            marketing: bool = True, push: bool = True, language: str = "fr", born: date = date(1980, 1, 1),
            sex: str = "F", postal: str | None = "H2X 1Y4", last_visit: date | None = None) -> dict[str, object]:
    return {"chart_id": chart, "last_name": last, "first_name": first, "last_key": fold(last),
            "first_key": fold(first), "email": email, "email_consent": email_consent, "marketing_consent": marketing,
            "marketing_consent_at": NOW if marketing else None, "push_enabled": push, "language": language,
            "date_of_birth": born, "sex": sex, "postal_code": postal, "last_visit": last_visit}


PATIENTS = [
    patient("1001", "Côté", "Zoé", email="zoe.cote@example.com", born=date(1950, 6, 1), last_visit=date(2025, 5, 1)),
    patient("1002", "O'Neil", "Margaret", email="m.oneil@example.org", language="en", born=date(1990, 3, 3),
            sex="F", postal="K1A 0B1"),
    patient("1003", "St-Pierre", "Luc", email="luc@example.net", email_consent=False, marketing=False, sex="M"),
    patient("1004", "Gauthier-Lévesque", "Marie-Ève", email=None, push=False, born=date(2010, 2, 2)),
    patient("1005", "Nguyen", "Linh", email="linh@example.com", push=False, language="en", sex="F",
            born=date(1960, 12, 1)),
]


def add_staff_and_patients(app: Accueil, *, actor_can: bool = True) -> dict[str, int]:
    """The actor's account (with or without the permission), a provider, the five patients; chart -> id."""
    with app.uow(write=True) as uow:
        session = uow.session
        session.add(User(username="campagnes", display_name="Chantal Campagne", role="administrator",
                         os_user=app.actor, can_campaigns=actor_can))
        provider = Provider(emr_id="P1", display_name="Dre Anne Tremblay")
        session.add(provider)
        session.flush()
        session.execute(insert(Patient), [{**row, "primary_provider_id": provider.id} for row in PATIENTS])
        ids = {row.chart_id: row.id for row in session.execute(select(Patient.chart_id, Patient.id))}
        session.add(ConnectedSystem(patient_id=ids["1001"], system="patient_app", connected_at=NOW))
        session.add(Appointment(patient_id=ids["1002"], provider_id=provider.id,
                                starts_at=datetime(2026, 3, 10, 14, 0, tzinfo=UTC)))
        uow.commit()
    return ids


def invitation_draft(name: str = "Invitation printemps") -> CampaignDraft:
    template = default_invitation("fr")
    return CampaignDraft("invitation", name, email_subject=template.subject, email_body=template.body)


def app_draft(name: str = "Heures des fêtes", starts: date = date(2026, 3, 1),
              ends: date = date(2026, 3, 31)) -> CampaignDraft:
    return CampaignDraft("app", name, starts, ends, app_title="Nouvel horaire, @ptFirstName",
                         app_body="<p>La clinique <b>@clinicName</b> ferme le 24 décembre.</p><script>x</script>")
