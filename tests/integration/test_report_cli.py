"""`accueil report NAME --from --to [--csv FILE]` on both backends: CSV on stdout or in a file,
every run audited, user errors in one line (exit 2)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.db.models import AuditEntry
from tests.integration.test_cli import run, use
from tests.integration.test_report_export import _links, clinic, read_back  # noqa: F401 - fixture

ARGS = ["report", "links-created", "--from", "2025-04-15", "--to", "2025-04-15"]


def test_report_to_stdout_and_to_a_file(clinic, capsys, monkeypatch, tmp_path: Path) -> None:  # noqa: F811
    app, patients, user_id = clinic
    _links(app, patients, user_id, 5)
    use(app.settings, monkeypatch)
    code, out, err = run(ARGS, capsys)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0][:3] == ["Date", "Msg", "Chart"] and len(rows) == 6
    assert "5 rows (2025-04-15 to 2025-04-15)" in err
    target = tmp_path / "liens.csv"
    code, _out, err = run([*ARGS, "--csv", str(target), "--sender", "lise"], capsys)
    assert code == 0, err
    assert len(read_back(target)) == 6 and f"written to {target}" in err
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(AuditEntry.action == "report.export")) == 2
        actor, detail = uow.session.execute(select(AuditEntry.actor, AuditEntry.detail)
                                            .where(AuditEntry.action == "report.export")
                                            .order_by(AuditEntry.id.desc()).limit(1)).one()
    assert actor and detail == {"report": "links-created", "from": "2025-04-15", "to": "2025-04-15", "rows": 5,
                                "sender_id": user_id, "provider_id": None, "searched": False}


@pytest.mark.parametrize(("extra", "message"), [
    (["report", "no-such-report"], "No report by that name"),
    ([*ARGS, "--sender", "nobody"], "No user named 'nobody'"),
    ([*ARGS, "--provider", "PR404"], "No provider with EMR ID PR404"),
    (["report", "links-created", "--from", "2025-04-16", "--to", "2025-04-15"], "start date is after"),
    (["report", "links-created", "--from", "1900-01-01", "--to", "2025-04-15"], "longer than ten years"),
])
def test_report_errors_are_one_line(clinic, capsys, monkeypatch, extra, message) -> None:  # noqa: F811
    app, _patients, _user_id = clinic
    use(app.settings, monkeypatch)
    code, out, err = run(extra, capsys)
    assert code == 2 and out == ""
    assert err.startswith("accueil: ") and message in err and err.count("\n") == 1


def test_a_date_not_written_yyyy_mm_dd_is_refused(clinic, capsys, monkeypatch) -> None:  # noqa: F811
    app, _patients, _user_id = clinic
    use(app.settings, monkeypatch)
    with pytest.raises(SystemExit) as exited:
        run(["report", "links-created", "--from", "15/04/2025"], capsys)
    _out, err = capsys.readouterr()
    assert exited.value.code == 2 and "--from" in err and "15/04/2025" in err
    with app.uow() as uow:  # refused before anything was read
        assert uow.session.scalar(select(func.count()).where(AuditEntry.action == "report.export")) == 0
