"""Chart entries read back after the portal copies are purged: audited views and exports, both backends."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from core.db.models import AuditEntry, Patient, utcnow
from core.emr.chart import PlannedEntry, add_entries
from core.emr.chart_read import FileAlreadyThere, export_document, open_entry

PDF = b"%PDF-1.4 synthetic result for Zoe"


def chart(app) -> tuple[int, int]:
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [{
            "chart_id": "902", "last_name": "L'Écuyer-Noël", "first_name": "Zoé", "last_key": "lecuyernoel",
            "first_key": "zoe", "email": "zoe@example.com", "email_consent": True, "language": "fr",
            "date_of_birth": date(1979, 7, 14)}])
        patient_id = uow.session.scalar(select(Patient.id))
        note, document = add_entries(uow.session, app.cipher, patient_id=patient_id, item_kind="reply",
                                     source_id=7, now=utcnow(), entries=[
                                         PlannedEntry("note", "note", "Réponse de la patiente",
                                                      body="Je vais mieux, merci. — Zoé"),
                                         PlannedEntry("doc", "document", "Résultats", folder="Lab",
                                                      document_name="resultats.pdf", document=PDF)])
        uow.commit()
    return note, document


def audit_trail(app) -> list[tuple[str, dict]]:
    with app.uow() as uow:
        return [(a, d) for a, d in uow.session.execute(
            select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.action.like("chart.%"))
            .order_by(AuditEntry.id))]


def test_a_note_is_read_and_the_view_audited(app) -> None:
    note, _document = chart(app)
    with app.uow(write=True) as uow:
        content = open_entry(uow, app.cipher, note)
    assert (content.title, content.body, content.has_document) == ("Réponse de la patiente",
                                                                   "Je vais mieux, merci. — Zoé", False)
    assert audit_trail(app) == [("chart.view", {"entry_id": note})]


def test_a_document_is_saved_private_and_never_over_a_file_unasked(app, tmp_path: Path) -> None:
    _note, document = chart(app)
    target = tmp_path / "resultats.pdf"
    with app.uow(write=True) as uow:
        export_document(uow, app.cipher, document, target)
    assert target.read_bytes() == PDF and stat.S_IMODE(target.stat().st_mode) == 0o600
    target.write_bytes(b"the user's own file")
    with app.uow(write=True) as uow, pytest.raises(FileAlreadyThere):
        export_document(uow, app.cipher, document, target)
    assert target.read_bytes() == b"the user's own file"
    target.chmod(0o644)
    with app.uow(write=True) as uow:
        export_document(uow, app.cipher, document, target, overwrite=True)
    assert target.read_bytes() == PDF and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [a for a, _d in audit_trail(app)] == ["chart.export", "chart.export"]
