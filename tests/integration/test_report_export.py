"""RP-2 CSV export on both backends: RFC 4180 round trip through Python's csv module, formula
injection neutralised, cancel leaves nothing behind, every export audited."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from core import events
from core.db.models import AuditEntry, Message, Patient, User
from core.errors import InvalidInput
from core.patients.keys import fold
from core.reports import definitions as names
from core.reports.export import ExportCancelled, export_csv, safe_cell, safe_cells
from core.reports.query import ReportQuery

ZONE = "America/Toronto"
DAY = date(2025, 4, 15)
HOSTILE = ['=HYPERLINK("http://x.example","clic")', "+33 1 23", "-2+3", "@SUM(A1)", "\tTab", "\rRetour"]


def read_back(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


@pytest.fixture
def clinic(app):
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [
            {"chart_id": f"C{i}", "last_name": last, "first_name": "Zoé", "last_key": fold(last) or "x",
             "first_key": "zoe", "date_of_birth": date(1980, 1, 1)}
            for i, last in enumerate(["Côté", "O'Neil", *HOSTILE])])
        uow.session.add(User(username="lise", display_name='Gagnon, "Lise"\nMOA', role="moa"))
        uow.commit()
    with app.uow() as uow:
        patients = uow.session.scalars(select(Patient.id).order_by(Patient.chart_id)).all()
        user_id = uow.session.scalar(select(User.id))
    return app, patients, user_id


def _links(app, patient_ids, user_id, n: int) -> None:
    start = datetime(2025, 4, 15, 14, 0, tzinfo=UTC)
    rows = [{"kind": events.LINK_CREATED, "at": start + timedelta(seconds=i), "patient_id": patient_ids[i % len(
        patient_ids)], "user_id": user_id} for i in range(n)]
    with app.uow(write=True) as uow:
        events.record_events(uow.session, rows)
        uow.commit()


def _query() -> ReportQuery:
    return ReportQuery(names.LINKS_CREATED, DAY, DAY, timezone=ZONE, sort="chart", descending=False)


def test_safe_cell_prefixes_what_a_spreadsheet_would_run() -> None:
    assert [safe_cell(text) for text in HOSTILE] == ["'" + text for text in HOSTILE]
    assert safe_cell("O'Neil, Zoé") == "O'Neil, Zoé"
    assert safe_cell("2025-04-15 10:00") == "2025-04-15 10:00"
    assert safe_cell("") == ""
    plain = ["O'Neil, Zoé", "2025-04-15 10:00", "", "12"]
    assert safe_cells([*HOSTILE, *plain]) == [safe_cell(text) for text in (*HOSTILE, *plain)]  # the row form


def test_csv_round_trips_and_neutralises_formulas(clinic, tmp_path: Path) -> None:
    app, patients, user_id = clinic
    _links(app, patients, user_id, len(patients))
    target = tmp_path / "liens.csv"
    seen: list[tuple[int, int]] = []
    result = export_csv(app, _query(), target, progress=lambda done, total: seen.append((done, total)))
    assert result.rows == len(patients) and seen[-1] == (len(patients), len(patients))
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") >= len(patients) + 1
    rows = read_back(target)
    assert rows[0] == ["Date", "Msg", "Chart", "Patient", "Type", "Sender", "Provider"]
    assert len(rows) == len(patients) + 1
    by_chart = {row[2]: row for row in rows[1:]}
    assert by_chart["C0"][3] == "CÔTÉ, Zoé" and by_chart["C1"][3] == "O'NEIL, Zoé"
    for i, text in enumerate(HOSTILE, start=2):
        assert by_chart[f"C{i}"][3] == "'" + text.upper() + ", Zoé"
    assert {row[5] for row in rows[1:]} == {'Gagnon, "Lise"\nMOA'}  # comma, quotes and newline survive
    assert rows[1][0] == "2025-04-15 10:00"  # local time
    assert target.stat().st_mode & 0o077 == 0  # patient names: the owner only


def test_every_export_is_audited_without_patient_data(clinic, tmp_path: Path) -> None:
    app, patients, user_id = clinic
    _links(app, patients, user_id, 3)
    export_csv(app, _query(), tmp_path / "a.csv")
    with app.uow() as uow:
        actor, detail, patient_id = uow.session.execute(
            select(AuditEntry.actor, AuditEntry.detail, AuditEntry.patient_id)
            .where(AuditEntry.action == "report.export")).one()
    assert actor == "test-runner" and patient_id is None
    assert detail == {"report": names.LINKS_CREATED, "from": "2025-04-15", "to": "2025-04-15", "rows": 3,
                      "sender_id": None, "provider_id": None, "searched": False}


def test_cancel_leaves_no_file_and_no_audit(clinic, tmp_path: Path) -> None:
    app, patients, user_id = clinic
    _links(app, patients, user_id, 2500)
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "gros.csv"
    calls: list[int] = []
    with pytest.raises(ExportCancelled):
        export_csv(app, _query(), target, progress=lambda done, total: calls.append(done),
                   cancelled=lambda: len(calls) >= 2)
    assert calls == [1000, 2000]
    assert list(folder.iterdir()) == []  # neither the file nor its temporary part
    with app.uow() as uow:
        assert uow.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "report.export")) is None


def test_an_existing_file_is_kept_unless_overwrite(clinic, tmp_path: Path) -> None:
    app, patients, user_id = clinic
    _links(app, patients, user_id, 2)
    target = tmp_path / "deja.csv"
    target.write_text("garder")
    with pytest.raises(InvalidInput):
        export_csv(app, _query(), target)
    assert target.read_text() == "garder"
    assert export_csv(app, _query(), target, overwrite=True).rows == 2
    assert len(read_back(target)) == 3
    with pytest.raises(InvalidInput):
        export_csv(app, _query(), tmp_path / "absent" / "x.csv")
    with pytest.raises(InvalidInput):
        export_csv(app, _query(), tmp_path)
    with app.uow() as uow:  # no message was ever involved
        assert uow.session.scalar(select(Message.id)) is None
