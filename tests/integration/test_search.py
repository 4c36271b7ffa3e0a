"""PT-2 search on both backends: every query form, folding, stable order and paging."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert

from core.db.models import Patient
from core.demo import patient_row
from core.patients.search import parse_birth_date, search_patients
from core.synthetic import SyntheticPatient

PEOPLE = [
    # chart, last, first, dob, health number, province, phone
    ("200001", "Côté", "Zoé", date(1980, 5, 12), "1234 567 890", "ON", "514-555-0101"),
    ("200002", "Coté", "Élodie", date(1975, 1, 3), "COTE 7551 0312", "QC", "438-555-0102"),
    ("200003", "Cote", "Marc-André", date(1990, 7, 21), "9876 543 210", "ON", "+1 613 555 0103"),
    ("200004", "O'Neil", "Margaret", date(1948, 11, 30), "ONEM 4861 3012", "QC", "819-555-0104"),
    ("200005", "St-Pierre", "Jean-François", date(2001, 2, 14), "5555 444 333", "ON", None),
    ("200006", "Gauthier-Lévesque", "Anaïs", date(2012, 9, 9), "GAUA 1259 0911", "QC", "514-555-0106"),
    ("200007", "D'Amours", "Benoît", date(1966, 3, 3), "4444 333 222", "ON", "418-555-0107"),
    ("A-77", "MacDonald", "Owen", date(1980, 5, 12), "1111 222 333", "ON", "705-555-0108"),
]


@pytest.fixture
def clinic(app):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for chart, last, first, dob, hn, prov, phone in PEOPLE:
        synthetic = SyntheticPatient(chart, hn, prov, "", last, first, None, dob, "F", "fr", None, False, None,
                                     False, None, False, phone, None, None)
        rows.append(patient_row(synthetic, None, now))
    with app.uow(write=True) as uow:
        uow.session.execute(insert(Patient), rows)
        uow.commit()
    return app


def charts(app, query: str, **kwargs) -> list[str]:
    with app.uow() as uow:
        return [row.chart_id for row in search_patients(uow.session, query, **kwargs).rows]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cote", ["200002", "200003", "200001"]),  # accents and case ignored; ordered by first name
        ("CÔTÉ", ["200002", "200003", "200001"]),
        ("oneil", ["200004"]),
        ("o'neil", ["200004"]),
        ("st-p", ["200005"]),
        ("st pierre", ["200005"]),
        ("gauthier lev", ["200006"]),
        ("damours", ["200007"]),
        ("cote, el", ["200002"]),
        ("Côté, zo", ["200001"]),
        ("1234 567 890", ["200001"]),
        ("1234567890AB", ["200001"]),  # Ontario version code ignored
        ("cote 7551", ["200002"]),  # RAMQ with spaces
        ("200004", ["200004"]),
        ("A-77", ["A-77"]),
        ("613555", ["200003"]),  # phone digits
        ("1980-05-12", ["200001", "A-77"]),
        ("12/05/1980", ["200001", "A-77"]),
        ("zzz", []),
    ],
)
def test_query_forms(clinic, query: str, expected: list[str]) -> None:
    assert charts(clinic, query) == expected


def test_empty_query_lists_by_name_in_stable_order(clinic) -> None:
    first = charts(clinic, "")
    assert first == charts(clinic, "   ")
    assert first[0] == "200002"  # "cote, elodie" sorts first
    assert len(first) == len(PEOPLE)


def test_pages_are_bounded_and_cursor_continues_without_overlap(clinic) -> None:
    seen: list[str] = []
    with clinic.uow() as uow:
        page = search_patients(uow.session, "", limit=3)
        while True:
            seen.extend(row.chart_id for row in page.rows)
            assert len(page.rows) <= 3
            if page.next_cursor is None:
                break
            page = search_patients(uow.session, "", limit=3, after=page.next_cursor)
    assert seen == charts(clinic, "", limit=50)


def test_identifier_pages_continue_across_forms(clinic) -> None:
    with clinic.uow() as uow:
        page = search_patients(uow.session, "5", limit=1)  # health number 5555… and phone 514…/555…
        collected = [row.chart_id for row in page.rows]
        while page.next_cursor is not None:
            page = search_patients(uow.session, "5", limit=1, after=page.next_cursor)
            collected.extend(row.chart_id for row in page.rows)
    assert len(collected) == len(set(collected))
    assert set(collected) == {"200005", "200001", "200006"}


def test_birth_date_parsing() -> None:
    assert parse_birth_date("1980-05-12") == date(1980, 5, 12)
    assert parse_birth_date("12/05/1980") == date(1980, 5, 12)
    assert parse_birth_date("31/02/1980") is None
    assert parse_birth_date("cote") is None


def test_search_on_a_french_collation_postgres_database(tmp_path) -> None:
    """A clinic's server created with an ICU fr-CA collation: prefix scans must still find everyone."""
    import uuid

    from sqlalchemy import text

    from core.db import schema
    from core.db.engine import make_engine
    from tests.conftest import PG_ADMIN_URL

    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"accueil_frca_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu "
                                    "ICU_LOCALE 'fr-CA' LOCALE 'C.UTF-8'"))
    except Exception as exc:  # noqa: BLE001 - no server, or a server without ICU: say why
        admin.dispose()
        pytest.skip(f"no PostgreSQL with ICU here: {' '.join(str(exc).split())[:120]}")
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        schema.upgrade(engine)
        now = datetime(2026, 1, 1, tzinfo=UTC)
        rows = []
        for chart, last, first in (("1039", "Côté", "Zoé"), ("1199", "Cozette", "Anaïs"), ("A-7", "Coz", "Léa"),
                                   ("a-100", "Cloutier", "Émile")):
            person = SyntheticPatient(chart, "", "ON", "", last, first, None, date(1990, 1, 1), "F", "fr", None,
                                      False, None, False, None, False, None, None, None)
            rows.append(patient_row(person, None, now))
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            session.execute(insert(Patient), rows)
            session.commit()
            found = {q: [r.chart_id for r in search_patients(session, q).rows] for q in ("10", "1", "coz", "co")}
        assert found["10"] == ["1039"]
        assert sorted(found["1"]) == ["1039", "1199"]
        assert found["coz"] == ["A-7", "1199"]
        assert found["co"] == ["1039", "A-7", "1199"]
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
