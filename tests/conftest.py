"""Shared fixtures: every test body that takes ``app`` runs on SQLite and on PostgreSQL.

Each PostgreSQL run (one per xdist worker) creates its own database, migrates it once and
empties it between tests; it is dropped at the end. SQLite tests copy a migrated template
file. The developer's own settings, key and data folders never leak in: XDG folders and every
ACCUEIL_ variable are replaced per test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from core.bootstrap import Accueil, bootstrap
from core.db import schema
from core.db.engine import make_engine
from core.settings import Settings
from core.site import init_site

TEST_SITE_KEY = "Synthetic-Test-Key-42!"
PG_ADMIN_URL = os.environ.get("ACCUEIL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("ACCUEIL_") and name != "ACCUEIL_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test process, dropped afterwards."""
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"accueil_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means: skip, say why
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {' '.join(str(exc).split())[:160]}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    """Empty every table between tests. DELETE with triggers off (replica role) is much faster than
    TRUNCATE on ~30 small tables; the audit trail's append-only trigger is off only for this cleanup."""
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )).scalars().all()
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in tables:
            connection.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "accueil.db"
        shutil.copyfile(sqlite_template, target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path / "data", config_dir=tmp_path / "config",
                    site_key=TEST_SITE_KEY)


@contextmanager
def open_clinic(settings: Settings, populate: Callable[[Accueil], None] | None = None) -> Iterator[Accueil]:
    """Set up the clinic (site row, key check, built-ins) on ``settings``' database, optionally fill it,
    and yield it bootstrapped as the app would be."""
    setup = bootstrap(settings, require_site=False, actor="test-runner")
    with setup.uow(write=True) as uow:
        init_site(uow, settings, name="Clinique synthétique du Plateau")
    if populate is not None:
        populate(setup)
    setup.dispose()
    running = bootstrap(settings, actor="test-runner")
    try:
        yield running
    finally:
        running.dispose()


@pytest.fixture
def app(settings: Settings) -> Iterator[Accueil]:
    """A bootstrapped clinic (site row, key) on an empty database of the parametrized backend."""
    with open_clinic(settings) as running:
        yield running
