"""The unit of work: one transaction, rolled back unless ``commit()`` is called.

Services take a unit of work and return plain data; screens never see a session. A write
unit of work's sessions come from the write engine (see ``Accueil.uow``): on SQLite each of its
transactions starts with BEGIN IMMEDIATE, so concurrent SSH sessions queue instead of failing
half-way.

Stale site key guard: while a unit of work is open, ``SiteCipher.encrypt`` notes the salt of the key
it used (``core.crypto.ENCRYPTED_SALTS``). Before any commit of its session after an encryption
(``commit()`` or the session's own, a ``before_commit`` guard), it flushes, then reads the site's salt
in the same transaction (on PostgreSQL ``FOR SHARE``, so a key rotation's switch, which
updates that row, waits for this commit and then re-encrypts what it wrote as a row "added
meanwhile"; or the switch committed first and the new salt is seen). When a salt used is no longer
the site's, the transaction is rolled back and ``SiteKeyChanged`` raised: a process still holding the
replaced key never commits a blob the new key cannot read. One tiny query, only on commits that
encrypted something. Encrypt inside the unit of work that stores the blob (every service does, and
``tests/unit/test_encrypt_inside_uow.py`` checks the sources): a blob made before entering it is not
seen by its guard.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
from types import TracebackType

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from core.crypto import ENCRYPTED_SALTS, SiteKeyChanged
from core.db.models import Site

_UOW = "accueil.unit_of_work"
_SALT = select(Site.__table__.c.key_salt)
_SALT_FOR_SHARE = _SALT.with_for_update(read=True)


@event.listens_for(Session, "before_commit")
def _guard(session: Session) -> None:
    """Before any commit of a unit of work's session: nothing encrypted under a replaced key."""
    uow = session.info.get(_UOW)
    if uow is not None:
        uow._check_key(session)


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = False, actor: str = "system",
                 key_changed: Callable[[], None] | None = None):
        self._factory = session_factory
        self.write = write
        self.actor = actor
        self._session: Session | None = None
        self._key_changed = key_changed
        self._salts: set[bytes] = set()
        self._staged: set[bytes] = set()
        self._token: Token[set[bytes] | None] | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        self._session.info[_UOW] = self  # the guard also runs on a commit made on the session itself
        self._salts, self._staged = set(), set()
        self._token = ENCRYPTED_SALTS.set(self._salts)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            session.rollback()  # whatever was not committed; a no-op after commit()
        finally:
            session.info.pop(_UOW, None)
            session.close()
            self._session = None
            self._restore_recorder()

    def _restore_recorder(self) -> None:
        token, self._token = self._token, None
        if token is None:
            return
        try:
            ENCRYPTED_SALTS.reset(token)
        except ValueError:  # left in another context than the one it was entered in
            if ENCRYPTED_SALTS.get() is self._salts:
                ENCRYPTED_SALTS.set(None)

    def stage_key(self, salt: bytes) -> None:
        """Blobs under ``salt`` written by this unit of work are a key rotation's, staged for its switch
        (``core.site_key``): not yet the site's key, and never read as such before the switch."""
        self._staged.add(bytes(salt))

    def commit(self) -> None:
        if not self.write:
            raise RuntimeError("commit() on a read-only unit of work")
        session = self.session
        try:
            session.commit()  # `_guard` runs first
        except SiteKeyChanged:
            session.rollback()
            self._salts.clear()
            if self._key_changed is not None:
                self._key_changed()
            raise
        self._salts.clear()
        # A service may go on (batched imports do): the next statement opens a new transaction,
        # again BEGIN IMMEDIATE on SQLite since write sessions come from the write engine.

    def _check_key(self, session: Session) -> None:
        if not self._salts - self._staged:
            return
        session.flush()  # every write of this unit of work takes its locks before the salt is read
        connection = session.connection()
        # PostgreSQL: FOR SHARE, so that a switch's UPDATE of the site row waits for this commit.
        query = _SALT_FOR_SHARE if connection.dialect.name == "postgresql" else _SALT
        current = connection.execute(query).scalar_one_or_none()
        if current is None:  # no clinic yet: nothing can have replaced the key
            return
        if self._salts - self._staged - {bytes(current)}:
            raise SiteKeyChanged()

    def rollback(self) -> None:
        self.session.rollback()
        self._salts.clear()
