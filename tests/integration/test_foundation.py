"""The foundation on both backends: schema, unit of work, site key, audit chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core import audit
from core.bootstrap import bootstrap
from core.crypto import SiteKeyError
from core.db import schema
from core.db.models import AuditEntry, Patient, Site


def test_schema_is_current_after_bootstrap(app) -> None:
    assert schema.schema_state(app.engine) == "current"


def test_unit_of_work_rolls_back_unless_committed(app) -> None:
    with app.uow(write=True) as uow:
        uow.session.add(Patient(chart_id="X1", last_name="Côté", first_name="Zoé", last_key="cote", first_key="zoe"))
    with app.uow() as uow:
        assert uow.session.scalar(select(Patient.id)) is None
    with app.uow(write=True) as uow:
        uow.session.add(Patient(chart_id="X1", last_name="Côté", first_name="Zoé", last_key="cote", first_key="zoe"))
        uow.commit()
    with app.uow() as uow:
        assert uow.session.scalar(select(Patient.chart_id)) == "X1"


def test_wrong_site_key_is_a_clear_error(app) -> None:
    with pytest.raises(SiteKeyError) as caught:
        bootstrap(app.settings.with_changes(site_key="Another-Valid-Key-99!"))
    assert caught.value.code == "wrong"
    assert "does not match" in caught.value.message


def test_missing_site_key_names_the_key_file(app) -> None:
    with pytest.raises(SiteKeyError) as caught:
        bootstrap(app.settings.with_changes(site_key=None))
    assert caught.value.code == "missing"
    assert str(app.settings.resolved_key_file()) in caught.value.message


def test_cipher_round_trip_with_site_key(app) -> None:
    blob = app.cipher.encrypt_text("Réponse de Mme D'Amours", context="reply")
    assert b"Amours" not in blob
    assert app.cipher.decrypt_text(blob, context="reply") == "Réponse de Mme D'Amours"


def test_audit_chain_verifies_and_names_first_broken_entry(app) -> None:
    with app.uow(write=True) as uow:
        for n in range(5):
            audit.record(uow.session, actor="moa1", action="patient.view", patient_id=n + 1, detail={"via": "search"})
        uow.commit()
    with app.uow() as uow:
        report = audit.verify(uow.session)
    assert report.ok and report.entries == 6  # site.init + 5 views
    # Tamper behind the triggers' back: the chain must notice.
    with app.engine.begin() as connection:
        if app.engine.dialect.name == "sqlite":
            connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        else:
            connection.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
        connection.execute(text("UPDATE audit_entries SET actor = 'someone-else' WHERE id = 4"))
        if app.engine.dialect.name != "sqlite":  # the PostgreSQL database is shared by later tests
            connection.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))
    with app.uow() as uow:
        report = audit.verify(uow.session)
    assert not report.ok
    assert report.first_broken_id == 4


def test_audit_trail_refuses_update_and_delete(app) -> None:
    with app.uow(write=True) as uow:
        audit.record(uow.session, actor="moa1", action="patient.view", patient_id=1)
        uow.commit()
    for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError), app.engine.begin() as connection:
            connection.execute(text(statement))
    with app.uow() as uow:
        assert uow.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)) == 2


def test_site_row_never_holds_the_key(app) -> None:
    with app.uow() as uow:
        salt, check = uow.session.execute(select(Site.key_salt, Site.key_check)).one()
    assert app.settings.site_key.encode() not in check + salt
