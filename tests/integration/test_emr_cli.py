"""`accueil emr settings` for the IT person: shows the EMR settings, changes those given, refuses bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.emr.settings import read_settings
from tests.integration.test_cli import run, use


def test_emr_settings_show_change_and_refuse(app, capsys: pytest.CaptureFixture[str], monkeypatch,
                                            tmp_path: Path) -> None:
    use(app.settings, monkeypatch)
    code, out, _ = run(["emr", "settings"], capsys)
    assert code == 0 and "profile = generic" in out and "destination = chart" in out
    code, out, err = run(["emr", "settings", "--profile", "accuro", "--consult-notes-as", "completed",
                          "--folder", "Résultats", "--subfolder", "Messagerie", "--destination", "folder",
                          "--import-path", str(tmp_path), "--retention-days", "14"], capsys)
    assert code == 0, err
    assert "folder = Résultats" in out and "retention_days = 14" in out
    with app.uow() as uow:
        saved = read_settings(uow.session)
    assert (saved.profile, saved.consult_notes_as, saved.subfolder, saved.import_path) == (
        "accuro", "completed", "Messagerie", str(tmp_path))
    code, _, err = run(["emr", "settings", "--import-path", "relative/dir"], capsys)
    assert code == 2 and err.strip() == "accueil: The import folder must be an absolute path."
    code, _, err = run(["emr", "settings", "--retention-days", "soon"], capsys)
    assert code == 2 and "--retention-days" in err
    code, out, _ = run(["emr", "settings", "--subfolder", "", "--retention-days", "none"], capsys)
    assert code == 0 and "subfolder = \n" in out and "retention_days = \n" in out
