"""The `accueil` command for scripts and the IT person: clear one-line errors, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from accueil.cli import main
from core.db import schema
from core.db.engine import make_engine


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def use(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", settings.resolved_database_url())
    monkeypatch.setenv("ACCUEIL_CONFIG_DIR", str(settings.resolved_config_dir()))
    monkeypatch.setenv("ACCUEIL_DATA_DIR", str(settings.resolved_data_dir()))
    monkeypatch.setenv("ACCUEIL_SITE_KEY", settings.site_key)


def test_demo_headless_builds_once_and_search_finds_cote(capsys, tmp_path: Path) -> None:
    code, _, err = run(["demo", "--headless", "--patients", "300"], capsys)
    assert code == 0, err
    assert "300 patients" in err
    code, _, err = run(["demo", "--headless"], capsys)  # built once: not rebuilt
    assert code == 0 and "Building" not in err
    demo = tmp_path / "xdg-data" / "accueil" / "demo"
    os.environ["ACCUEIL_DATABASE_URL"] = f"sqlite:///{demo / 'demo.db'}"
    os.environ["ACCUEIL_CONFIG_DIR"] = str(demo)
    try:
        code, out, _ = run(["patients", "search", "cote", "--json"], capsys)
    finally:
        del os.environ["ACCUEIL_DATABASE_URL"], os.environ["ACCUEIL_CONFIG_DIR"]
    rows = json.loads(out)
    assert code == 0 and rows
    assert {row["last_name"] for row in rows} <= {"Côté", "Coté", "Cote"}


def test_search_and_audit_verify_on_both_backends(app, capsys, monkeypatch) -> None:
    use(app.settings, monkeypatch)
    code, out, _ = run(["patients", "search", "nobody-by-that-name"], capsys)
    assert code == 0 and out == ""
    code, out, _ = run(["audit", "verify"], capsys)
    assert code == 0 and "intact" in out


def test_broken_audit_chain_exits_1_naming_the_entry(app, capsys, monkeypatch) -> None:
    use(app.settings, monkeypatch)
    if app.engine.dialect.name != "sqlite":
        pytest.skip("tampering needs the trigger dropped; covered on PostgreSQL in test_foundation")
    with app.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        connection.execute(text("UPDATE audit_entries SET action = 'forged' WHERE id = 1"))
    code, _, err = run(["audit", "verify"], capsys)
    assert code == 1 and "entry 1" in err


def test_unreachable_database_is_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    code, out, err = run(["patients", "search", "cote"], capsys)
    assert code == 2
    assert err.startswith("accueil: Cannot reach the database")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_schema_newer_than_code_is_refused(app, capsys, monkeypatch) -> None:
    use(app.settings, monkeypatch)
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    try:
        code, _, err = run(["patients", "search", "cote"], capsys)
        assert code == 2 and "newer than this version" in err
        code, _, err = run(["db", "upgrade"], capsys)
        assert code == 2 and "newer than this version" in err
    finally:
        with app.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": schema.HEAD})


def test_db_upgrade_creates_schema_on_an_empty_database(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, out, _ = run(["db", "upgrade"], capsys)
    assert code == 0 and "upgraded to" in out
    code, out, _ = run(["db", "status"], capsys)
    assert "schema current" in out
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM patients")).scalar() == 0
    engine.dispose()


def test_site_init_writes_a_private_key_file(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", f"sqlite:///{tmp_path / 'clinic.db'}")
    monkeypatch.setenv("ACCUEIL_CONFIG_DIR", str(tmp_path / "config"))
    code, out, _ = run(["site", "init", "--name", "Clinique de l'Érable"], capsys)
    assert code == 0 and "site.key" in out
    assert (tmp_path / "config" / "site.key").stat().st_mode & 0o777 == 0o600
    code, _, err = run(["site", "init", "--name", "Again"], capsys)
    assert code == 2 and "already has a clinic" in err


def test_unknown_setting_names_the_variable(capsys, monkeypatch) -> None:
    monkeypatch.setenv("ACCUEIL_LANGAUGE", "fr")
    code, _, err = run(["settings"], capsys)
    assert code == 2 and "ACCUEIL_LANGAUGE" in err


def test_console_script_entry_runs_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "ACCUEIL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "ACCUEIL_CONFIG_DIR": str(tmp_path / "cfg")}
    result = subprocess.run([sys.executable, "-m", "accueil", "patients", "search", "cote"], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "no clinic yet" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["not a url", "mysqlx://nobody@127.0.0.1/x"])
def test_malformed_database_url_is_one_line(url: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ACCUEIL_DATABASE_URL", url)
    code, _, err = run(["patients", "search", "cote"], capsys)
    assert code == 2 and "database URL cannot be used" in err and "Traceback" not in err


def test_patients_import_reports_rows_and_writes_the_problem_file(app, tmp_path: Path, capsys, monkeypatch) -> None:
    use(app.settings, monkeypatch)
    source = tmp_path / "export.csv"
    source.write_text("Numéro de dossier;Nom;Prénom;Date de naissance\n"
                      "500001;Côté;Zoé;1980-05-12\n"
                      "500002;D'Amours;Benoît;1985-02-30\n"
                      "500003;St-Pierre;Marie-Ève;12/03/1990\n", encoding="cp1252")
    code, out, err = run(["patients", "import", str(source)], capsys)
    assert code == 1
    assert "2 added" in out and "1 rejected" in out and "row 3" in out
    report = tmp_path / "export.problems.csv"
    assert report.exists() and "1985-02-30" in report.read_text(encoding="utf-8-sig")
    assert "rows" in err  # the progress line
    code, out, _ = run(["patients", "search", "st-pierre", "--json"], capsys)
    assert json.loads(out)[0]["first_name"] == "Marie-Ève"
