"""PT-4 on both backends: find by health number, or create with a checked number."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.db.models import AuditEntry
from core.errors import InvalidInput
from core.patients.registry import NewPatient, create_patient, find_by_health_number


def new(**changes) -> NewPatient:
    base = {"province": "QC", "health_number": "LEVA 9052 1401", "last_name": "Lévesque", "first_name": "Anaïs",
            "date_of_birth": date(1990, 2, 14), "sex": "F", "language": "fr"}
    return NewPatient(**{**base, **changes})


def test_create_then_find_by_any_spelling_of_the_number(app) -> None:
    with app.uow(write=True) as uow:
        patient_id = create_patient(uow, new())
    with app.uow() as uow:
        found = find_by_health_number(uow.session, "qc", "leva-9052-1401")
        action = uow.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1))
    assert [p.id for p in found] == [patient_id]
    assert found[0].chart_id.startswith("ACC-")
    assert action == "patient.create"


def test_duplicates_and_mismatches_are_refused(app) -> None:
    with app.uow(write=True) as uow:
        create_patient(uow, new(chart_id="300001"))
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="already exists"):
        create_patient(uow, new())
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="already used"):
        create_patient(uow, new(province="ON", health_number="1234 567 897", chart_id="300001"))
    with app.uow(write=True) as uow, pytest.raises(InvalidInput, match="do not match the patient's name"):
        create_patient(uow, new(health_number="TREA 9052 1401"))
    with app.uow() as uow, pytest.raises(InvalidInput, match="10 digits"):
        find_by_health_number(uow.session, "ON", "12")
