"""Shared benchmark helpers: a throw-away clinic on SQLite or PostgreSQL, bulk synthetic patients, timings.

Every bench builds its own data in a clinic made by :func:`temp_clinic` (an SQLite file in a temporary
folder, or a uniquely named PostgreSQL database dropped at the end) so a bench never touches a real
clinic. The PostgreSQL server is the one the tests use unless ``ACCUEIL_BENCH_POSTGRES_URL`` says
otherwise; when it cannot be reached, :class:`BackendUnavailable` carries the reason to print.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.bootstrap import Accueil, bootstrap
from core.db.engine import make_engine
from core.demo import insert_patients
from core.settings import Settings
from core.site import init_site
from core.synthetic import synthetic_patients

BACKENDS = ("sqlite", "postgres")
BENCH_SITE_KEY = "Synthetic-Bench-Key-42!"
BENCH_TODAY = date(2026, 1, 1)  # fixed so that the synthetic clinic is the same every day
POSTGRES_ADMIN_URL = os.environ.get(
    "ACCUEIL_BENCH_POSTGRES_URL",
    os.environ.get("ACCUEIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)


class BackendUnavailable(Exception):
    """The backend cannot be used here (e.g. no PostgreSQL server); ``str()`` is the reason."""


@contextmanager
def temp_clinic(backend: str, *, actor: str = "bench", icu_locale: str | None = None) -> Iterator[Accueil]:
    """A bootstrapped clinic (site row and key) in an empty database, deleted on exit.

    ``icu_locale`` (PostgreSQL only, e.g. ``"fr-CA"``) creates the database with that ICU collation
    instead of the server's default, to check behaviour under a clinic server's usual locale.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"accueil-bench-{backend}-"))
    drop: str | None = None
    try:
        if backend == "sqlite":
            url = f"sqlite:///{folder / 'accueil.db'}"
        elif backend == "postgres":
            name = f"accueil_bench_{uuid.uuid4().hex[:12]}"
            locale = f" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'" if icu_locale else ""
            _admin(f'CREATE DATABASE "{name}"{locale}', unavailable=True)
            drop = name
            url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        else:
            raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
        settings = Settings(database_url=url, data_dir=folder / "data", config_dir=folder / "config",
                            site_key=BENCH_SITE_KEY)
        setup = bootstrap(settings, auto_upgrade=True, require_site=False, actor=actor)
        try:
            with setup.uow(write=True) as uow:
                init_site(uow, settings, name="Clinique synthétique du Plateau")
        finally:
            setup.dispose()
        app = bootstrap(settings, actor=actor)
        try:
            yield app
        finally:
            app.dispose()
    finally:
        if drop is not None:
            _admin(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


def _admin(statement: str, *, unavailable: bool = False) -> None:
    engine = make_engine(POSTGRES_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    except Exception as exc:
        if unavailable:  # any failure to reach the server means: skip this backend, say why
            where = make_url(POSTGRES_ADMIN_URL).render_as_string(hide_password=True)
            raise BackendUnavailable(f"not reachable at {where}: {' '.join(str(exc).split())[:160]}") from None
        raise
    finally:
        engine.dispose()


def add_patients(app: Accueil, n: int, *, seed: int = 7, today: date = BENCH_TODAY, batch: int = 5000) -> float:
    """Bulk-insert ``n`` synthetic patients (one commit per batch); returns the seconds taken.

    Call :func:`analyze` afterwards, as an import would, before timing any query.
    """
    started = time.perf_counter()
    with app.uow(write=True) as uow:
        for _ in insert_patients(uow.session, synthetic_patients(n, seed=seed, today=today), provider_ids=[],
                                 batch=batch):
            uow.commit()
    return time.perf_counter() - started


def analyze(app: Accueil) -> None:
    """Refresh the planner's statistics, as after any bulk load (both backends understand ``ANALYZE``)."""
    with app.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of unsorted values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
