"""The unit of work: one transaction, rolled back unless ``commit()`` is called.

Services take a unit of work and return plain data; screens never see a session. A write
unit of work's sessions come from the write engine (see ``Accueil.uow``): on SQLite each of its
transactions starts with BEGIN IMMEDIATE, so concurrent SSH sessions queue instead of failing
half-way.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session], *, write: bool = False, actor: str = "system"):
        self._factory = session_factory
        self.write = write
        self.actor = actor
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session = self.session
        try:
            session.rollback()  # whatever was not committed; a no-op after commit()
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        if not self.write:
            raise RuntimeError("commit() on a read-only unit of work")
        self.session.commit()
        # A service may go on (batched imports do): the next statement opens a new transaction,
        # again BEGIN IMMEDIATE on SQLite since write sessions come from the write engine.

    def rollback(self) -> None:
        self.session.rollback()
