"""PT-3 import of an EMR export, on SQLite and PostgreSQL, with synthetic patients only."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from core import audit
from core.db.models import AuditEntry, Patient
from core.patients import import_columns
from core.patients.importer import ImportFileError, import_patients_csv, write_problem_report
from core.patients.search import search_patients
from core.synthetic import synthetic_patients

PATIENTS = Patient.__table__

ENGLISH = ["Chart ID", "Last Name", "First Name", "Preferred Name", "Date of Birth", "Sex", "Language",
           "Health Number", "Province", "Email", "Email Consent", "Marketing Consent", "Phone", "Postal Code",
           "Last Visit"]
FRENCH = ["No de dossier", "Nom", "Prénom", "Prénom usuel", "Date de naissance", "Sexe", "Langue", "NAM",
          "Province", "Courriel", "Consentement courriel", "Consentement marketing", "Téléphone", "Code postal",
          "Dernière visite"]
PEOPLE = [
    ["C1001", "Côté", "Zoé", "", "1984-03-12", "F", "fr", "COTZ 8453 1212", "QC", "zoe.cote@example.com",
     "oui", "non", "514-555-0101", "h2x 1y4", "2024-05-02"],
    ["C1002", "D'Amours", "Marie-Ève", "Marie", "30/11/1979", "Femme", "français", "DAMM 7961 3012", "Québec",
     "", "", "", "438 555 0102", "H3Z 2Y7", ""],
    ["C1003", "St-Pierre", "Jérôme", "", "1990/01/05", "M", "fr", "", "", "jerome.stpierre@example.org", "yes",
     "yes", "", "", ""],
    ["C1004", "Gauthier-Lévesque", "Benoît", "Ben", "1965-07-21", "Homme", "en", "1234 567 890 AB", "ON",
     "benoit.gl@example.net", "Y", "N", "1-416-555-0104", "M5V 2T6", "2023-12-01"],
    ["C1005", "O'Neil", "Siobhan", "", "2001-02-28", "X", "English", "9876543210", "Ontario", "", "0", "0", "",
     "", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def stored(app: Any) -> dict[str, Any]:
    with app.uow() as uow:
        return {row.chart_id: row for row in uow.session.execute(select(PATIENTS))}


def test_english_headers_comma_utf8(app, tmp_path: Path) -> None:
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, PEOPLE))
    assert (result.rows, result.inserted, result.updated, result.rejected) == (5, 5, 0, 0)
    assert (result.encoding, result.delimiter, result.cancelled, result.problems) == ("utf-8", ",", False, [])
    patients = stored(app)
    cote = patients["C1001"]
    assert (cote.last_name, cote.first_name, cote.last_key, cote.first_key) == ("Côté", "Zoé", "cote", "zoe")
    assert (cote.date_of_birth, cote.sex, cote.language, cote.postal_code) == (date(1984, 3, 12), "F", "fr", "H2X 1Y4")
    assert cote.email_consent and cote.email_consent_at is not None
    assert not cote.marketing_consent and cote.marketing_consent_at is None
    assert (cote.health_number, cote.health_key, cote.health_province) == ("COTZ 8453 1212", "COTZ84531212", "QC")
    assert (cote.phone, cote.phone_key, cote.last_visit) == ("514-555-0101", "5145550101", date(2024, 5, 2))
    damours = patients["C1002"]
    assert (damours.date_of_birth, damours.sex, damours.health_province) == (date(1979, 11, 30), "F", "QC")
    assert (damours.preferred_name, damours.email, damours.email_consent) == ("Marie", None, False)
    assert patients["C1003"].date_of_birth == date(1990, 1, 5) and patients["C1003"].health_province is None
    benoit = patients["C1004"]
    assert (benoit.health_number, benoit.health_version, benoit.health_key) == ("1234 567 890", "AB", "1234567890")
    assert (benoit.phone_key, benoit.sex, benoit.language) == ("4165550104", "M", "en")
    oneil = patients["C1005"]
    assert (oneil.sex, oneil.language, oneil.health_province, oneil.last_key) == ("X", "en", "ON", "oneil")


def test_french_headers_semicolon_windows_1252(app, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", FRENCH, PEOPLE, encoding="cp1252", delimiter=";")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the file really is Windows-1252, not UTF-8
    result = import_patients_csv(app, path)
    assert (result.encoding, result.delimiter, result.inserted, result.rejected) == ("cp1252", ";", 5, 0)
    patients = stored(app)
    assert patients["C1004"].last_name == "Gauthier-Lévesque"
    assert (patients["C1002"].last_name, patients["C1002"].first_name) == ("D'Amours", "Marie-Ève")
    assert patients["C1001"].email == "zoe.cote@example.com"


def test_utf8_with_bom(app, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", ENGLISH, PEOPLE, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = import_patients_csv(app, path)
    assert (result.encoding, result.inserted, result.ignored_columns) == ("utf-8-sig", 5, [])
    assert stored(app)["C1003"].first_name == "Jérôme"


def test_headers_fold_case_accents_spaces_and_underscores(app, tmp_path: Path) -> None:
    header = ["NUMÉRO DE DOSSIER", "nom_de_famille", "PRENOM", "date_de_naissance", "E_Mail", "Remarques"]
    rows = [["A7", "Côté", "Zoé", "12/03/1984", "zoe@example.com", "à rappeler"]]
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", header, rows, delimiter=";"))
    assert (result.inserted, result.ignored_columns) == (1, ["Remarques"])
    assert stored(app)["A7"].date_of_birth == date(1984, 3, 12)


def test_reimport_updates_by_chart_id(app, tmp_path: Path) -> None:
    import_patients_csv(app, write_csv(tmp_path / "first.csv", ENGLISH, PEOPLE))
    before = stored(app)
    header = ["Chart ID", "Last Name", "First Name", "Email", "Email Consent", "Phone", "Language"]
    rows = [
        ["C1001", "Côté-Gagnon", "Zoé", "zoe.cg@example.com", "oui", "514-555-0199", ""],
        ["C1002", "D'Amours", "Marie-Ève", "marie.damours@example.com", "yes", "", "en"],
        ["C1003", "St-Pierre", "Jérôme", "", "non", "", "fr"],
        ["C1006", "Lachapelle", "Élodie", "", "", "", ""],
    ]
    result = import_patients_csv(app, write_csv(tmp_path / "second.csv", header, rows))
    assert (result.rows, result.inserted, result.updated, result.rejected) == (4, 1, 3, 0)
    after = stored(app)
    assert len(after) == 6
    cote = after["C1001"]
    assert (cote.last_name, cote.last_key, cote.email, cote.phone_key) == (
        "Côté-Gagnon", "cotegagnon", "zoe.cg@example.com", "5145550199")
    assert cote.email_consent_at == before["C1001"].email_consent_at  # still consenting: original date kept
    assert cote.language == "fr"  # empty language cell keeps the language
    assert cote.date_of_birth == date(1984, 3, 12) and cote.health_key == "COTZ84531212"  # absent columns untouched
    damours = after["C1002"]
    assert damours.email_consent and damours.email_consent_at is not None and damours.phone is None
    assert damours.phone_key is None and damours.language == "en"
    stpierre = after["C1003"]
    assert (stpierre.email, stpierre.email_consent, stpierre.email_consent_at) == (None, False, None)
    assert stpierre.marketing_consent  # marketing column absent from the second file: untouched
    assert (after["C1006"].language, after["C1006"].email_consent) == ("en", False)
    assert after["C1004"].updated_at == before["C1004"].updated_at  # not in the second file


def test_missing_required_column_names_it(app, tmp_path: Path) -> None:
    header = ["Chart ID", "Last Name", "Date of Birth"]
    path = write_csv(tmp_path / "export.csv", header, [["C1", "Côté", "1984-03-12"]])
    with pytest.raises(ImportFileError) as caught:
        import_patients_csv(app, path)
    assert "first name" in caught.value.message and "Prénom" in caught.value.message
    assert "'Chart ID', 'Last Name', 'Date of Birth'" in caught.value.message
    assert stored(app) == {}


def test_duplicate_header_is_refused(app, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", ["Chart", "MRN", "Nom", "Prénom"], [["1", "2", "Côté", "Zoé"]])
    with pytest.raises(ImportFileError, match="'Chart' and 'MRN'"):
        import_patients_csv(app, path)


@pytest.mark.parametrize("content", [
    "Chart ID,Last Name,First Name\r\nC1,Côté,Zoé\r\n".encode("utf-16"),
    "Chart ID,Last Name,First Name\r\nC1,Côté,Zoé\r\n".encode("utf-16-le"),  # no mark: NULs pass as UTF-8
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
], ids=["utf-16", "utf-16-le-without-mark", "binary"])
def test_unreadable_encoding_is_refused(app, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError) as caught:
        import_patients_csv(app, path)
    assert "UTF-8" in caught.value.message and "Windows-1252" in caught.value.message
    assert stored(app) == {}


def test_duplicate_chart_ids_first_row_wins(app, tmp_path: Path) -> None:
    rows = [PEOPLE[0], PEOPLE[1], ["C1001", "Tremblay", "Zoé"] + PEOPLE[0][3:], PEOPLE[2]]
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, rows))
    assert (result.inserted, result.rejected) == (3, 1)
    [problem] = result.problems
    assert (problem.row, problem.column) == (4, "Chart ID")
    assert "row 2" in problem.message
    assert stored(app)["C1001"].last_name == "Côté"


def test_impossible_and_future_dates_are_row_errors(app, tmp_path: Path) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    rows = [PEOPLE[0], ["X1", "Roy", "Léa", "", "1985-02-30"] + PEOPLE[0][5:],
            ["X2", "Roy", "Noé", "", "31/04/1990"] + PEOPLE[0][5:], ["X3", "Roy", "Zoé", "", tomorrow] + PEOPLE[0][5:],
            ["X4", "Roy", "Éloïse", "", "March 3 1990"] + PEOPLE[0][5:], PEOPLE[1]]
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, rows))
    assert (result.inserted, result.rejected) == (2, 4)
    assert [(p.row, p.column) for p in result.problems] == [(3, "Date of Birth"), (4, "Date of Birth"),
                                                            (5, "Date of Birth"), (6, "Date of Birth")]
    assert "'1985-02-30' is not a real date" in result.problems[0].message
    assert "not a real date" in result.problems[1].message
    assert "in the future" in result.problems[2].message
    assert "YYYY-MM-DD" in result.problems[3].message
    assert set(stored(app)) == {"C1001", "C1002"}


GARBAGE = [  # (column made bad, bad value or None for a cut row, expected column in the problem)
    ("Date of Birth", "1985-13-01", "Date of Birth"), ("Email", "zoe at example.com", "Email"),
    ("Last Name", "   ", "Last Name"), ("Sex", "Z", "Sex"), ("Email Consent", "peut-être", "Email Consent"),
    ("First Name", "É" * 121, "First Name"), (None, None, None), ("Province", "Californie", "Province"),
    ("Health Number", "9" * 41, "Health Number"), ("Last Visit", "hier", "Last Visit"),
]


def test_ten_percent_garbage_rows(app, tmp_path: Path) -> None:
    header = ENGLISH + ["Notes"]
    rows: list[list[str]] = []
    expected_problems: list[tuple[int, str | None]] = []
    bad_charts: set[str] = set()
    for index, p in enumerate(synthetic_patients(200, seed=3, today=date(2025, 1, 15))):
        row = [p.chart_id, p.last_name, p.first_name, p.preferred_name or "", p.date_of_birth.isoformat(), p.sex,
               p.language, p.health_number, p.health_province, p.email or "", "oui" if p.email_consent else "non",
               "1" if p.marketing_consent else "0", p.phone or "", p.postal_code or "",
               p.last_visit.isoformat() if p.last_visit else "",
               "rappeler; \"urgent\",\nligne 2" if index % 3 == 0 else ""]  # multi-line cells: rows stay records
        if index % 10 == 9:
            column, value, reported = GARBAGE[(index // 10) % len(GARBAGE)]
            if column is None:
                row = row[:5]
            else:
                row[header.index(column)] = value
            expected_problems.append((index + 2, reported))
            bad_charts.add(p.chart_id)
        rows.append(row)
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", header, rows), batch_size=64)
    assert (result.rows, result.inserted, result.updated, result.rejected) == (200, 180, 0, 20)
    assert [(p.row, p.column) for p in result.problems] == expected_problems
    assert result.ignored_columns == ["Notes"]
    charts = set(stored(app))
    assert len(charts) == 180 and not charts & bad_charts
    assert charts == {row[0] for row in rows} - bad_charts


def test_value_too_long_is_a_row_error_on_every_backend(app, tmp_path: Path) -> None:
    rows = [PEOPLE[0], ["L1", "Côté" * 31] + PEOPLE[0][2:], PEOPLE[1]]
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, rows))
    assert (result.inserted, result.rejected) == (2, 1)
    assert [(p.row, p.column, p.message) for p in result.problems] == [
        (3, "Last Name", "last name is longer than 120 characters")]


@pytest.fixture
def refusing_trigger(app) -> Any:
    """A database rule the importer cannot know about: refuses the last name 'Refusé' on insert."""
    postgres = app.engine.dialect.name == "postgresql"
    with app.engine.begin() as connection:
        if postgres:
            connection.execute(text(
                "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.last_name = 'Refusé' THEN RAISE EXCEPTION 'refused by the test rule' "
                "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$"))
            connection.execute(text("CREATE TRIGGER test_refuse BEFORE INSERT ON patients "
                                    "FOR EACH ROW EXECUTE FUNCTION test_refuse()"))
        else:
            connection.execute(text("CREATE TRIGGER test_refuse BEFORE INSERT ON patients "
                                    "WHEN NEW.last_name = 'Refusé' BEGIN "
                                    "SELECT RAISE(ABORT, 'refused by the test rule'); END"))
    yield
    with app.engine.begin() as connection:  # the PostgreSQL database outlives this test
        connection.execute(text("DROP TRIGGER test_refuse ON patients" if postgres else "DROP TRIGGER test_refuse"))
        if postgres:
            connection.execute(text("DROP FUNCTION test_refuse()"))


def test_database_refusal_falls_back_row_by_row(app, tmp_path: Path, refusing_trigger: None) -> None:
    import_patients_csv(app, write_csv(tmp_path / "first.csv", ENGLISH, PEOPLE[:2]))
    rows = [[f"R{n}", "Refusé" if n == 5 else "Côté", "Zoé"] + PEOPLE[0][3:] for n in range(10)]
    rows.append(["C1001", "Côté", "Zoé-Renée"] + PEOPLE[0][3:])  # an update in the same batch
    result = import_patients_csv(app, write_csv(tmp_path / "second.csv", ENGLISH, rows), batch_size=100)
    assert (result.rows, result.inserted, result.updated, result.rejected) == (11, 9, 1, 1)
    [problem] = result.problems
    assert (problem.row, problem.column) == (7, None)
    assert "database refused" in problem.message and "refused by the test rule" in problem.message
    patients = stored(app)
    assert "R5" not in patients and {f"R{n}" for n in range(10) if n != 5} <= set(patients)
    assert patients["C1001"].first_name == "Zoé-Renée"


def test_value_too_long_for_postgres_found_row_by_row(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths; the importer's own check covers it")
    monkeypatch.setitem(import_columns._MAX_LENGTHS, "last_name", 10_000)  # let the value reach the database
    rows = [PEOPLE[0], ["L1", "Côté" * 31] + PEOPLE[0][2:], PEOPLE[1], PEOPLE[2]]
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, rows))
    assert (result.inserted, result.rejected) == (3, 1)
    [problem] = result.problems
    assert problem.row == 3 and "value too long" in problem.message
    assert set(stored(app)) == {"C1001", "C1002", "C1003"}


def synthetic_rows(count: int) -> list[list[str]]:
    return [[p.chart_id, p.last_name, p.first_name, "", p.date_of_birth.isoformat()] + [""] * 10
            for p in synthetic_patients(count, seed=5, today=date(2025, 1, 15))]


def test_progress_after_each_batch(app, tmp_path: Path) -> None:
    rows = synthetic_rows(25)
    rows.insert(12, [""] * 15)  # a blank row is skipped and not counted
    calls: list[tuple[int, int]] = []
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, rows), batch_size=10,
                                 progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 25), (10, 25), (20, 25), (25, 25)]
    assert (result.rows, result.inserted) == (25, 25)


def test_cancel_after_first_batch_keeps_whole_batches(app, tmp_path: Path) -> None:
    rows = synthetic_rows(35)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 10:
            cancel.set()

    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", ENGLISH, rows), batch_size=10,
                                 progress=progress, cancel=cancel)
    assert result.cancelled and (result.rows, result.inserted) == (10, 10)
    assert set(stored(app)) == {row[0] for row in rows[:10]}
    with app.uow() as uow:
        detail = uow.session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "patients.import")).one()
    assert detail["cancelled"] is True and detail["inserted"] == 10


def test_audit_entry_holds_counts_only(app, tmp_path: Path) -> None:
    rows = PEOPLE + [["C1009", "Côté", "Zoé", "", "1985-02-30"] + PEOPLE[0][5:]]
    import_patients_csv(app, write_csv(tmp_path / "export-Côté-Zoé.csv", ENGLISH, rows))
    with app.uow() as uow:
        entries = uow.session.execute(select(AuditEntry.actor, AuditEntry.patient_id, AuditEntry.detail)
                                      .where(AuditEntry.action == "patients.import")).all()
        chain = audit.verify(uow.session)
    assert chain.ok
    [(actor, patient_id, detail)] = entries
    assert actor == app.actor and patient_id is None
    assert detail == {"rows": 6, "inserted": 5, "updated": 0, "rejected": 1, "cancelled": False}
    dumped = json.dumps(detail, ensure_ascii=False)
    assert not any(word in dumped for word in ("Côté", "cote", "Zoé", "export", "C1001", "1985"))


def test_search_finds_imported_patients(app, tmp_path: Path) -> None:
    import_patients_csv(app, write_csv(tmp_path / "export.csv", FRENCH, PEOPLE, encoding="cp1252", delimiter=";"))
    with app.uow() as uow:
        assert [r.chart_id for r in search_patients(uow.session, "cote").rows] == ["C1001"]
        assert [r.chart_id for r in search_patients(uow.session, "oneil").rows] == ["C1005"]
        assert [r.chart_id for r in search_patients(uow.session, "damours, marie").rows] == ["C1002"]
        assert [r.chart_id for r in search_patients(uow.session, "1234 567 890").rows] == ["C1004"]


def test_problem_report_is_a_safe_csv(app, tmp_path: Path) -> None:
    header = ENGLISH + ["=Notes"]
    rows = [PEOPLE[0] + [""], ["C2", "Roy", "Léa", "", "1985-02-30", "F", "fr", "", "", "=cmd|x", "", "", "", "", "",
                               ""]]
    result = import_patients_csv(app, write_csv(tmp_path / "export.csv", header, rows))
    report = tmp_path / "problems.csv"
    write_problem_report(result, report)
    assert report.read_bytes().startswith(b"\xef\xbb\xbf")
    with report.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["row", "column", "problem"]
    assert lines[1][:2] == ["1", "'=Notes"]
    assert [line[:2] for line in lines[2:]] == [["3", "Date of Birth"], ["3", "Email"]]
    assert all(not cell.startswith("=") for line in lines for cell in line)


def test_empty_file_and_header_only(app, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="empty"):
        import_patients_csv(app, empty)
    result = import_patients_csv(app, write_csv(tmp_path / "header.csv", ENGLISH, []))
    assert (result.rows, result.inserted, result.cancelled) == (0, 0, False)
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(PATIENTS)) == 0
