"""The audit viewer's queries on both backends: per patient, per user, per date range, CSV export."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from core import audit
from core.audit_query import AuditFilter, export_csv, safe_cell, search, verify_text
from core.db.models import AuditEntry, Patient, utcnow
from core.errors import InvalidInput, NotFound
from core.users import add_user


@pytest.fixture
def trail(app):
    with app.uow(write=True) as uow:  # the person running the tests administers the clinic
        add_user(uow, username="auditor", display_name="Aude Itor", role="administrator", password=None,
                 os_user=app.actor)
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), [
            {"chart_id": "C-1", "last_name": "Côté", "first_name": "Zoé", "last_key": "cote", "first_key": "zoe",
             "date_of_birth": date(1990, 1, 2)},
            {"chart_id": "C-2", "last_name": "O'Brien", "first_name": "Seán", "last_key": "obrien",
             "first_key": "sean", "date_of_birth": date(1971, 7, 9)}])
        ids = dict(uow.session.execute(select(Patient.chart_id, Patient.id)).all())
        audit.record(uow.session, actor="usera", action="patient.view", patient_id=ids["C-1"])
        audit.record(uow.session, actor="userb", action="patient.view", patient_id=ids["C-2"])
        audit.record(uow.session, actor="UserA", action="message.send", patient_id=ids["C-2"],
                     detail={"message_id": 7})
        audit.record(uow.session, actor="=cmd|' /C calc'!A0", action="login.ok", detail={"note": "+1"})
        uow.commit()
    return app, ids


def run_search(app, wanted: AuditFilter):
    with app.uow(write=True) as uow:
        rows = search(uow.session, wanted, zone=app.settings.timezone, actor="auditor")
        uow.commit()
    return rows


def test_who_saw_this_record_and_the_look_is_audited(trail) -> None:
    app, ids = trail
    rows = run_search(app, AuditFilter(chart_id="C-2"))
    assert [(r.actor, r.action, r.chart_id) for r in rows] == [("UserA", "message.send", "C-2"),
                                                               ("userb", "patient.view", "C-2")]
    assert rows[0].detail == "message_id=7"
    with app.uow() as uow:
        last = uow.session.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.patient_id)
                                   .order_by(AuditEntry.id.desc()).limit(1)).one()
    assert tuple(last) == ("auditor", "audit.view", ids["C-2"])
    with pytest.raises(NotFound):
        run_search(app, AuditFilter(chart_id="C-404"))


def test_per_user_and_per_date_range(trail) -> None:
    app, _ids = trail
    assert [r.action for r in run_search(app, AuditFilter(actor="usera"))] == ["message.send", "patient.view"]
    today = utcnow().astimezone(ZoneInfo(app.settings.timezone)).date()
    assert len(run_search(app, AuditFilter(since=today, until=today))) >= 4
    assert run_search(app, AuditFilter(until=today - timedelta(days=1))) == []
    assert run_search(app, AuditFilter(since=today + timedelta(days=1))) == []


def test_export_is_rfc4180_formula_safe_private_and_audited(trail, tmp_path) -> None:
    app, ids = trail
    path, count = export_csv(app, AuditFilter(), tmp_path / "exports",
                             now=datetime(2025, 3, 10, 14, 0, tzinfo=ZoneInfo("UTC")))
    raw = path.read_bytes()
    assert path.name.startswith("audit-20250310-100000-") and path.stat().st_mode & 0o777 == 0o600
    assert raw.startswith(b"\xef\xbb\xbfid,at_utc,actor,action,chart_id,detail\r\n")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert count == len(rows) - 1 >= 4
    assert rows[-1][2:] == ["'=cmd|' /C calc'!A0", "login.ok", "", "note=+1"]
    with app.uow() as uow:
        action = uow.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1))
    assert action == "audit.export"


def test_two_exports_in_one_second_make_two_files(trail, tmp_path) -> None:
    app, _ids = trail
    now = datetime(2025, 3, 10, 14, 0, tzinfo=ZoneInfo("UTC"))
    first, _count = export_csv(app, AuditFilter(), tmp_path, now=now)
    second, _count = export_csv(app, AuditFilter(actor="usera"), tmp_path, now=now)
    assert first != second and first.exists() and second.exists()


def test_a_failed_export_leaves_no_file(trail, tmp_path, monkeypatch) -> None:
    app, _ids = trail

    def refuse(*args, **kwargs) -> None:
        raise RuntimeError("the audit entry cannot be written")

    monkeypatch.setattr(audit, "record", refuse)
    with pytest.raises(RuntimeError):
        export_csv(app, AuditFilter(), tmp_path / "exports", now=utcnow())
    assert list((tmp_path / "exports").iterdir()) == []


def test_a_search_by_user_listing_patients_is_audited_per_patient(trail) -> None:
    app, ids = trail
    run_search(app, AuditFilter(actor="usera"))
    with app.uow() as uow:
        views = uow.session.execute(select(AuditEntry.actor, AuditEntry.patient_id, AuditEntry.detail)
                                    .where(AuditEntry.action == "audit.view").order_by(AuditEntry.id)).all()
    assert [tuple(v) for v in views] == [("auditor", ids["C-1"], {"entries": 1, "actor": "usera"}),
                                         ("auditor", ids["C-2"], {"entries": 1, "actor": "usera"})][
        :: 1 if ids["C-1"] < ids["C-2"] else -1]
    run_search(app, AuditFilter(actor="=cmd|' /C calc'!A0"))  # no patient on the page: nothing to record
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(AuditEntry.action == "audit.view")) == 2


def test_safe_cells_and_the_verify_wording() -> None:
    assert [safe_cell(v) for v in ("=1+1", "+33", "-2", "@SUM(A1)", "\tx", "Côté", None, 12)] == [
        "'=1+1", "'+33", "'-2", "'@SUM(A1)", "'\tx", "Côté", "", "12"]
    assert verify_text(audit.ChainReport(True, 12)) == "Audit trail intact: 12 entries verified."
    broken = verify_text(audit.ChainReport(False, 4, 5, "its content was changed after it was written"))
    assert broken == ("Audit trail BROKEN at entry 5: its content was changed after it was written "
                      "(4 entries verified before it).")


def test_an_export_naming_patients_is_in_each_patients_trail(trail, tmp_path) -> None:
    app, ids = trail
    export_csv(app, AuditFilter(actor="usera"), tmp_path, now=utcnow())
    with app.uow() as uow:
        exports = uow.session.execute(select(AuditEntry.patient_id, AuditEntry.detail)
                                      .where(AuditEntry.action == "audit.export").order_by(AuditEntry.id)).all()
    assert sorted(((pid, d) for pid, d in exports if pid is not None), key=lambda e: e[0]) == sorted(
        [(ids["C-1"], {"entries": 1, "actor": "usera"}), (ids["C-2"], {"entries": 1, "actor": "usera"})],
        key=lambda e: e[0])
    assert [d for pid, d in exports if pid is None] == [{"entries": 2, "actor": "usera"}]
    rows = run_search(app, AuditFilter(chart_id="C-1"))  # who saw this record: the export is there
    assert ("audit.export", "C-1") in [(r.action, r.chart_id) for r in rows]


def test_only_an_administrator_reads_or_exports_the_trail(trail, tmp_path) -> None:
    from sqlalchemy import update

    from core.db.models import User

    app, _ids = trail
    with app.uow(write=True) as uow:
        uow.session.execute(update(User).where(User.username == "auditor").values(role="moa"))
        uow.commit()
        before = uow.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(InvalidInput, match="Only an administrator"):
        run_search(app, AuditFilter(chart_id="C-1"))
    with pytest.raises(InvalidInput, match="Only an administrator"):
        export_csv(app, AuditFilter(), tmp_path / "exports", now=utcnow())
    assert list((tmp_path / "exports").glob("*")) == []
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry)) == before
