"""Loading a million synthetic patients quickly, on SQLite and PostgreSQL, for benches that only read them.

:func:`bench.common.add_patients` goes through SQLAlchemy's executemany (the same path as an import),
which is minutes for 1,000,000 rows. Here the same rows (``core.synthetic`` through
``core.demo.patient_row``, so the same distribution and columns) go straight to the driver:
``COPY patients FROM STDIN`` with psycopg on PostgreSQL, ``executemany`` of plain tuples in one
transaction on SQLite. Values are converted by each column type's own bind processor, so dates,
UTC datetimes and booleans are stored exactly as the application stores them. The indexes are
kept up to date row by row, as an import keeps them, so that queries meet index pages laid out as
in a clinic's database rather than freshly sorted ones (and dropping them saves little on SQLite).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any, cast

from sqlalchemy import Table

from bench.common import BENCH_TODAY
from core.bootstrap import Accueil
from core.db.models import Patient
from core.demo import patient_row
from core.synthetic import synthetic_patients

PATIENTS = cast(Table, Patient.__table__)
_BATCH = 20_000


def _columns() -> list[str]:
    sample = patient_row(next(synthetic_patients(1, seed=1, today=BENCH_TODAY)), None, datetime.now(UTC))
    return list(sample)


def _converters(dialect: Any, names: list[str]) -> list[Callable[[Any], Any] | None]:
    return [PATIENTS.c[name].type._cached_bind_processor(dialect) for name in names]  # noqa: SLF001


def _tuples(n: int, names: list[str], converters: list[Callable[[Any], Any] | None], *, seed: int,
            today: date) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    for patient in synthetic_patients(n, seed=seed, today=today):
        row = patient_row(patient, None, now)
        yield tuple(row[name] if convert is None else convert(row[name])
                    for name, convert in zip(names, converters, strict=True))


def load_patients(app: Accueil, n: int, *, seed: int = 7, today: date = BENCH_TODAY) -> float:
    """Insert ``n`` synthetic patients straight through the driver; returns the seconds taken.

    Call :func:`bench.common.analyze` afterwards before timing any query.
    """
    started = time.perf_counter()
    names = _columns()
    dialect = app.engine.dialect
    rows = _tuples(n, names, _converters(dialect, names), seed=seed, today=today)
    column_list = ", ".join(names)
    raw = app.engine.raw_connection()
    try:
        driver = raw.driver_connection
        if dialect.name == "postgresql":
            with driver.cursor() as cursor, cursor.copy(f"COPY patients ({column_list}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            driver.commit()
        else:
            statement = f"INSERT INTO patients ({column_list}) VALUES ({', '.join('?' * len(names))})"
            usual = driver.execute("PRAGMA cache_size").fetchone()[0]
            driver.execute("PRAGMA cache_size = -262144")  # 256 MB while loading: the indexes stay in memory
            try:
                driver.execute("BEGIN IMMEDIATE")
                while batch := list(islice(rows, _BATCH)):
                    driver.executemany(statement, batch)
                driver.execute("COMMIT")
            finally:  # the timed queries run with the application's own cache
                driver.execute(f"PRAGMA cache_size = {int(usual)}")
    finally:
        raw.close()
    return time.perf_counter() - started
