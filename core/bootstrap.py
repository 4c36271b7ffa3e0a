"""``bootstrap(settings)``: build the engine, the session factory and the site cipher once.

Nothing is built at import time. Every face calls this and then asks the returned ``Accueil``
for units of work. The site key is read and checked here so that a wrong or missing key stops
the app with a clear sentence before any patient data is touched.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.crypto import SiteCipher, SiteKeyError, load_passphrase
from core.db import schema
from core.db.engine import WRITE, is_sqlite, make_engine
from core.db.models import Site
from core.errors import AccueilError
from core.settings import Settings
from core.uow import UnitOfWork

KEY_RECHECK_SECONDS = 5.0
"""How often a running process looks whether another one rotated the site key (one tiny query)."""


class DatabaseUnreachable(AccueilError):
    title = "Database unreachable"


class SiteNotSetUp(AccueilError):
    title = "No clinic in this database"


@dataclass
class Accueil:
    """The running context every face shares: settings, engine, sessions and the cipher."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    actor: str
    _cipher: SiteCipher | None = field(default=None, repr=False)
    _key_check: bytes | None = field(default=None, repr=False)
    _key_checked_at: float = field(default=0.0, repr=False)

    def uow(self, *, write: bool = False) -> UnitOfWork:
        return UnitOfWork(self.write_sessions if write else self.sessions, write=write, actor=self.actor,
                          key_changed=self.key_changed)

    def key_changed(self) -> None:
        """A commit was refused because the site key changed under it: the next ``cipher`` looks again."""
        self._key_checked_at = float("-inf")

    @property
    def cipher(self) -> SiteCipher:
        """The site cipher, following a rotation by another process within ``KEY_RECHECK_SECONDS``. What
        it encrypts in a unit of work is checked at commit against the key in force (``core.uow``)."""
        if self._cipher is None:
            raise SiteNotSetUp("This database has no clinic yet: run `accueil site init` or `accueil demo`.")
        if time.monotonic() - self._key_checked_at > KEY_RECHECK_SECONDS:
            self.refresh_cipher()
        return self._cipher

    def refresh_cipher(self) -> bool:
        """Follow a site key rotation made by another process (``core.site_key``): when the database's
        key check has changed, open the new key (from the key file). True when the key changed."""
        self._key_checked_at = time.monotonic()
        if self._key_check is None or self.settings.resolved_database_url().startswith("sqlite:///:memory:"):
            return False
        with self.engine.connect() as connection:
            row = connection.execute(select(Site.key_salt, Site.key_check)).first()
        if row is None or bytes(row.key_check) == self._key_check:
            return False
        self._cipher = open_cipher(self.settings, row.key_salt, row.key_check)
        self._key_check = bytes(row.key_check)
        return True

    @property
    def data_dir(self) -> Path:
        return self.settings.resolved_data_dir()

    def dispose(self) -> None:
        self.engine.dispose()


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


def bootstrap(settings: Settings, *, auto_upgrade: bool | None = None, require_site: bool = True,
              actor: str | None = None) -> Accueil:
    """Open the configured database, bring the schema in step, load and check the site key.

    ``auto_upgrade`` defaults to True for the embedded SQLite database and False for a server
    database, whose upgrades are the IT person's decision (`accueil db upgrade`).
    """
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = make_engine(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseUnreachable(
            f"The database URL cannot be used ({type(exc).__name__}): check database_url / ACCUEIL_DATABASE_URL."
        ) from None
    try:
        schema.ensure_current(engine, auto_upgrade=is_sqlite(engine) if auto_upgrade is None else auto_upgrade)
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseUnreachable(f"Cannot reach the database ({_short_reason(exc)}).") from None
    except AccueilError:
        engine.dispose()
        raise
    app = Accueil(settings=settings, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False),
                  write_sessions=sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False),
                  actor=actor or default_actor())
    with app.uow() as uow:
        site = uow.session.execute(select(Site.key_salt, Site.key_check)).first()
    if site is None:
        if require_site:
            engine.dispose()
            raise SiteNotSetUp("This database has no clinic yet: run `accueil site init` or `accueil demo`.")
        return app
    app._cipher = open_cipher(settings, site.key_salt, site.key_check)
    app._key_check, app._key_checked_at = bytes(site.key_check), time.monotonic()
    return app


def open_cipher(settings: Settings, salt: bytes, key_check: bytes) -> SiteCipher:
    passphrase = load_passphrase(env_value=settings.site_key, key_file=settings.resolved_key_file())
    cipher = SiteCipher(passphrase, salt)
    try:
        cipher.verify_key_check(key_check)
    except SiteKeyError:
        # A key rotation may have stopped between its last commit and its key file rename.
        from core.site_key import recover_pending_key

        recovered = recover_pending_key(settings, salt, key_check)
        if recovered is None:
            raise
        return recovered
    return cipher


def _short_reason(exc: OperationalError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return " ".join(text.split())[:200]


__all__ = ["Accueil", "DatabaseUnreachable", "SiteKeyError", "SiteNotSetUp", "bootstrap", "open_cipher"]
