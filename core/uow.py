"""The unit of work: one transaction, rolled back unless ``commit()`` is called.

Services take a unit of work and return plain data; screens never see a session. A write
unit of work takes the write lock at its start on SQLite (BEGIN IMMEDIATE), so concurrent
SSH sessions queue instead of failing half-way.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from core.db.engine import WRITE


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = False, actor: str = "system"):
        self._factory = session_factory
        self.write = write
        self.actor = actor
        self._session: Session | None = None
        self._committed = False

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        if self.write:
            self._session.connection(execution_options=WRITE)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            if not self._committed:
                session.rollback()
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        if not self.write:
            raise RuntimeError("commit() on a read-only unit of work")
        self.session.commit()
        self._committed = True
        # Start again so a service can go on in a fresh transaction (batched imports do).
        self.session.connection(execution_options=WRITE)
        self._committed = False

    def rollback(self) -> None:
        self.session.rollback()
