"""PT-5 access log and PT-4 creation with consents, on both backends."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from core import audit
from core.audit_query import patient_entries
from core.db.models import AuditEntry, Patient
from core.errors import InvalidInput
from core.patients.records import open_patient
from core.patients.registry import NewPatient, create_patient


def new(**changes) -> NewPatient:
    base = {"province": "ON", "health_number": "1234 567 897", "last_name": "Nguyen", "first_name": "Linh",
            "date_of_birth": date(1959, 12, 1), "sex": "F", "language": "en"}
    return NewPatient(**{**base, **changes})


def test_access_log_lists_the_newest_entries_of_that_patient_only_and_is_not_itself_audited(app) -> None:
    with app.uow(write=True) as uow:
        first = create_patient(uow, new())
    with app.uow(write=True) as uow:
        other = create_patient(uow, new(health_number="2975 646 205", last_name="O'Neil", first_name="Patrick",
                                        sex="M"))
    for _time in range(3):
        with app.uow(write=True) as uow:
            open_patient(uow, first)
    with app.uow(write=True) as uow:
        audit.record(uow.session, actor="dr.okafor", action="message.send", patient_id=first, detail={"message_id": 4})
        audit.record(uow.session, actor="dr.okafor", action="patient.view", patient_id=other)
        uow.commit()
    with app.uow() as uow:
        before = uow.session.scalar(select(func.count()).select_from(AuditEntry))
        rows = patient_entries(uow.session, first, limit=3)
        after = uow.session.scalar(select(func.count()).select_from(AuditEntry))
        everything = patient_entries(uow.session, first, limit=50)
    assert [(r.actor, r.action) for r in rows] == [("dr.okafor", "message.send"), (app.actor, "patient.view"),
                                                   (app.actor, "patient.view")]
    assert rows[0].detail == "message_id=4" and rows[0].chart_id is not None
    assert [r.action for r in everything] == ["message.send", "patient.view", "patient.view", "patient.view",
                                              "patient.create"]
    assert rows[0].at >= rows[-1].at
    assert before == after


def test_consents_are_kept_and_dated_and_an_email_is_checked(app) -> None:
    with app.uow(write=True) as uow:
        patient_id = create_patient(uow, new(email=" linh@example.com ", email_consent=True))
    with app.uow() as uow:
        patient = uow.session.get(Patient, patient_id)
        assert patient is not None
        assert (patient.email, patient.email_consent, patient.marketing_consent) == ("linh@example.com", True, False)
        assert patient.email_consent_at is not None and patient.marketing_consent_at is None
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="not an email address"):
        create_patient(uow, new(health_number="2975 646 205", email="linh.example.com"))
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="needs an email address"):
        create_patient(uow, new(health_number="2975 646 205", email_consent=True))
