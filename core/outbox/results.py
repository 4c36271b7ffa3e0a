"""Recording what happened to a claimed outbox item: transmitting, sent, retry, failed, uncertain.

The transitions and why each is safe after a crash are described in ``core.outbox.queue``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, bindparam, func, literal_column, select, text, update
from sqlalchemy.orm import Session

from core.bootstrap import Accueil
from core.db.engine import WRITE
from core.db.models import UTCDateTime, utcnow
from core.outbox.states import (
    CLAIMED,
    DEFAULT_POLICY,
    FAILED,
    HELD,
    MESSAGES,
    OUTBOX,
    PATIENTS,
    PENDING,
    SENT,
    TRANSMITTING,
    UNCERTAIN,
    ClaimedItem,
    LostClaim,
    RetryPolicy,
)

# -- results ----------------------------------------------------------------------------------
# The worker records one or two results per message, so these use one short Core transaction on
# a pooled connection rather than a unit of work's ORM session: same BEGIN IMMEDIATE on SQLite,
# a fraction of the overhead.

Executor = Connection | Session


@contextmanager
def _write(app: Accueil, *, durable: bool) -> Iterator[Connection]:
    """One write transaction, committed on leaving the block (rolled back on an exception).

    ``durable=False`` lets a PostgreSQL commit return before its WAL reaches the disk. That is
    safe for every transition except ``transmitting``: losing one of the others in a database
    server crash leaves the item in its previous state, which recovery turns into ``pending``
    (nothing was transmitted) or ``uncertain``, never into a second send; and WAL is flushed in
    order, so the next durable ``transmitting`` commit makes all earlier ones durable too.
    """
    with app.engine.connect() as connection:
        connection.execution_options(**WRITE)
        with connection.begin():
            if not durable and connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL synchronous_commit = off"))
            yield connection


def rowcount(result: Any) -> int:
    return int(cast("CursorResult[Any]", result).rowcount)


def _held(item: ClaimedItem, states: Sequence[str] = HELD) -> Any:
    return (OUTBOX.c.id == item.id) & (OUTBOX.c.claimed_by == item.claimed_by) & OUTBOX.c.state.in_(states)


def set_delivery_state(db: Executor, message_ids: Sequence[int | None], state: str, now: datetime) -> None:
    ids = [message_id for message_id in message_ids if message_id is not None]
    if not ids:
        return
    values: dict[str, Any] = {"delivery_state": state}
    if state == SENT:
        values["sent_at"] = now
    where = MESSAGES.c.id == ids[0] if len(ids) == 1 else MESSAGES.c.id.in_(ids)
    db.execute(update(MESSAGES).where(where).values(**values))


def safe_error(text: str | None, limit: int = 300) -> str | None:
    """A server reply fit to store: addresses replaced, whitespace folded, length bounded."""
    if text is None:
        return None
    cleaned = re.sub(r"<?[^\s<>@]+@[^\s<>]+>?", "<address>", text)
    return " ".join(cleaned.split())[:limit]


def _in_states(*states: str) -> Any:
    # Literal states, not bound ones: the statements below are built once and reused, and an
    # "expanding" IN parameter would be recompiled at every execution.
    return OUTBOX.c.state.in_([literal_column(f"'{state}'") for state in states])


# The per-message statements, built once (building a statement costs more than running it).
_HOLDER = (OUTBOX.c.id == bindparam("item_id")) & (OUTBOX.c.claimed_by == bindparam("holder"))
_TO_SENT = (update(OUTBOX).where(_HOLDER, _in_states(*HELD))
            .values(state=SENT, done_at=bindparam("now", type_=UTCDateTime()), attempts=OUTBOX.c.attempts + 1,
                    last_error=None))
_MESSAGE_SENT = (update(MESSAGES).where(MESSAGES.c.id == bindparam("message_id"))
                 .values(delivery_state=SENT, sent_at=bindparam("now", type_=UTCDateTime())))


def _record_sent(db: Executor, items: Sequence[ClaimedItem], now: datetime) -> int:
    recorded = 0
    for item in items:
        if rowcount(db.execute(_TO_SENT, {"item_id": item.id, "holder": item.claimed_by, "now": now})):
            recorded += 1
            if item.message_id is not None:
                db.execute(_MESSAGE_SENT, {"message_id": item.message_id, "now": now})
    return recorded


# On PostgreSQL the worker's record before DATA is ONE statement in autocommit mode: the earlier
# 250s and this item's 'transmitting' in a single round trip and a single durable commit (data-
# modifying CTEs run whether or not the main statement reads them). On SQLite the statements run
# in process, so three of them in a BEGIN IMMEDIATE transaction cost less than a round trip would.
# On PostgreSQL that durable commit (a WAL flush) bounds one worker's rate: a few milliseconds a
# message on an ordinary disk, more than the SMTP exchange itself on loopback. Sharing one flush
# among several messages would put several items in doubt at once when a worker dies, so it is
# not done; more workers (each claims its own items) share the server's flushes instead.
# Both run on the driver's connection with the SQL written out: this is the one write per message
# between the server's RCPT reply and DATA, and SQLAlchemy's statement handling cost more than
# SQLite's own work (a pause there also costs the SMTP exchange: see TransmitRecorder).
_HELD_SQL = ", ".join(f"'{state}'" for state in HELD)
_PG_TRANSMITTING = f"""
WITH sent AS (
    UPDATE outbox SET state = '{SENT}', done_at = %(now)s, attempts = attempts + 1, last_error = NULL
    WHERE id = ANY(%(sent_ids)s::integer[]) AND claimed_by = %(holder)s AND state IN ({_HELD_SQL})
    RETURNING message_id
), delivered AS (
    UPDATE messages SET delivery_state = '{SENT}', sent_at = %(now)s
    WHERE id IN (SELECT message_id FROM sent WHERE message_id IS NOT NULL)
)
UPDATE outbox SET state = '{TRANSMITTING}', claimed_at = %(now)s
WHERE id = %(item_id)s AND claimed_by = %(holder)s AND state = '{CLAIMED}'
"""
_SQLITE_SENT = (f"UPDATE outbox SET state = '{SENT}', done_at = ?, attempts = attempts + 1, last_error = NULL "
                f"WHERE id = ? AND claimed_by = ? AND state IN ({_HELD_SQL})")
_SQLITE_MESSAGE_SENT = f"UPDATE messages SET delivery_state = '{SENT}', sent_at = ? WHERE id = ?"
_SQLITE_TRANSMITTING = (f"UPDATE outbox SET state = '{TRANSMITTING}', claimed_at = ? "
                        f"WHERE id = ? AND claimed_by = ? AND state = '{CLAIMED}'")


class TransmitRecorder:
    """The worker's per-message record, on one database connection kept for a batch.

    Taking a pooled connection for every message costs a checkout, a liveness ping and a reset,
    several round trips on PostgreSQL; the worker keeps this recorder's connection for its
    batch and closes it after. A database error closes it too (the next call opens a new one).

    The record runs while the SMTP server waits between its RCPT reply and our DATA; time spent
    there costs more than itself on a busy machine (the server's process has gone to sleep and
    must be woken and scheduled again), so it is kept to the driver's calls alone.
    """

    def __init__(self, app: Accueil) -> None:
        self.app = app
        self._connection: Connection | None = None
        dialect = app.engine.dialect
        self._postgres = dialect.name == "postgresql"
        # A moment as the UTC columns store it (naive UTC; text on SQLite), as insert() would bind it.
        process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        self._moment = process or (lambda value: value)

    def _open(self) -> Any:
        """The driver's connection (psycopg in autocommit mode, or sqlite3 without implicit transactions)."""
        if self._connection is None:
            connection = self.app.engine.connect()
            if self._postgres:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                connection = connection.execution_options(**WRITE)
            self._connection = connection
        return self._connection.connection.dbapi_connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def mark_transmitting(self, item: ClaimedItem, *, now: datetime, sent: Sequence[ClaimedItem] = ()) -> None:
        """Commit 'transmitting' (durably) right before DATA; :class:`LostClaim` if the item is not ours.

        ``sent`` are earlier items of this worker the server already accepted: recording them in
        the same commit saves one per message. ``claimed_at`` restarts here, so staleness of a
        transmitting item counts from this moment.
        """
        moment = self._moment(now)
        try:
            driver = self._open()
            if self._postgres:
                changed = driver.execute(_PG_TRANSMITTING, {
                    "now": moment, "sent_ids": [other.id for other in sent if other.claimed_by == item.claimed_by],
                    "holder": item.claimed_by, "item_id": item.id}, prepare=True).rowcount
                foreign = [other for other in sent if other.claimed_by != item.claimed_by]
                if foreign:  # pragma: no cover - one worker holds all its items under one token
                    mark_sent(self.app, foreign, now=now)
            else:
                changed = self._sqlite(driver, item, moment, sent)
        except BaseException:
            self.close()
            raise
        if changed != 1:
            raise LostClaim(f"outbox item {item.id} is no longer held by {item.claimed_by}")

    @staticmethod
    def _sqlite(driver: Any, item: ClaimedItem, moment: Any, sent: Sequence[ClaimedItem]) -> int:
        driver.execute("BEGIN IMMEDIATE")  # the driver is in autocommit mode: see core.db.engine
        try:
            for other in sent:
                if driver.execute(_SQLITE_SENT, (moment, other.id, other.claimed_by)).rowcount \
                        and other.message_id is not None:
                    driver.execute(_SQLITE_MESSAGE_SENT, (moment, other.message_id))
            changed = int(driver.execute(_SQLITE_TRANSMITTING, (moment, item.id, item.claimed_by)).rowcount)
            driver.execute("COMMIT")
        except BaseException:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            raise
        return changed


def mark_transmitting(app: Accueil, item: ClaimedItem, *, now: datetime | None = None,
                      sent: Sequence[ClaimedItem] = ()) -> None:
    """:meth:`TransmitRecorder.mark_transmitting` on a connection of its own."""
    recorder = TransmitRecorder(app)
    try:
        recorder.mark_transmitting(item, now=now or utcnow(), sent=sent)
    finally:
        recorder.close()


def mark_sent(app: Accueil, item: ClaimedItem | Sequence[ClaimedItem], *, now: datetime | None = None) -> bool:
    """The server answered 250 (for one item or several). False if any was no longer ours (left alone)."""
    items = [item] if isinstance(item, ClaimedItem) else list(item)
    if not items:
        return True
    now = now or utcnow()
    with _write(app, durable=False) as db:
        recorded = _record_sent(db, items, now)
    return recorded == len(items)


def _settle(app: Accueil, item: ClaimedItem, values: dict[str, Any], delivery_state: str, now: datetime, *,
            states: Sequence[str] = HELD, address_bad: bool = False) -> bool:
    """One non-success outcome for a held item, with its message's delivery state."""
    with _write(app, durable=False) as db:
        changed = db.execute(update(OUTBOX).where(_held(item, states)).values(**values)).rowcount
        if changed:
            set_delivery_state(db, [item.message_id], delivery_state, now)
            if address_bad and item.message_id is not None:
                _flag_bad_address(db, item.message_id, now)
    return bool(changed)


def mark_retry(app: Accueil, item: ClaimedItem, error: str, *, now: datetime | None = None,
               policy: RetryPolicy = DEFAULT_POLICY) -> str | None:
    """A temporary failure: back to 'pending' after the back-off, or 'failed' at the last attempt.

    Returns the new state, or None if the item was no longer ours.
    """
    now = now or utcnow()
    attempts = item.attempts + 1
    if attempts >= policy.max_attempts:
        return FAILED if mark_failed(app, item, f"gave up after {attempts} attempts: {error}", now=now) else None
    values = {"state": PENDING, "attempts": attempts, "next_try_at": now + policy.delay(attempts),
              "claimed_by": None, "claimed_at": None, "last_error": safe_error(error)}
    return PENDING if _settle(app, item, values, "queued", now) else None


def mark_failed(app: Accueil, item: ClaimedItem, error: str, *, now: datetime | None = None,
                address_bad: bool = False) -> bool:
    """A permanent failure: never retried. ``address_bad`` (5.1.1) flags the patient's email.

    The patient's address is flagged only while it is still the one the message went to, so an
    address staff have corrected since is not marked bad by an old bounce.
    """
    now = now or utcnow()
    values = {"state": FAILED, "done_at": now, "attempts": OUTBOX.c.attempts + 1, "last_error": safe_error(error)}
    return _settle(app, item, values, FAILED, now, address_bad=address_bad)


def _flag_bad_address(db: Executor, message_id: int, now: datetime) -> None:
    sent_to = select(MESSAGES.c.patient_id, MESSAGES.c.to_address).where(MESSAGES.c.id == message_id).subquery()
    db.execute(
        update(PATIENTS)
        .where(PATIENTS.c.id == select(sent_to.c.patient_id).scalar_subquery(),
               func.lower(PATIENTS.c.email) == func.lower(select(sent_to.c.to_address).scalar_subquery()),
               PATIENTS.c.email_bad_at.is_(None))
        .values(email_bad_at=now)
    )


def mark_uncertain(app: Accueil, item: ClaimedItem, error: str, *, now: datetime | None = None) -> bool:
    """The connection broke after the content went out: the server may have it. Never re-sent by itself."""
    now = now or utcnow()
    values = {"state": UNCERTAIN, "attempts": OUTBOX.c.attempts + 1, "last_error": safe_error(error)}
    return _settle(app, item, values, UNCERTAIN, now, states=(CLAIMED, TRANSMITTING))


def release(app: Accueil, items: Sequence[ClaimedItem], *, next_try_at: datetime, reason: str | None = None) -> int:
    """Give back claimed items not yet tried (server unreachable, shutting down): no attempt counted."""
    values: dict[str, Any] = {"state": PENDING, "next_try_at": next_try_at, "claimed_by": None, "claimed_at": None}
    if reason:
        values["last_error"] = safe_error(reason)
    with _write(app, durable=False) as db:
        return sum(db.execute(update(OUTBOX).where(_held(item, (CLAIMED,))).values(**values)).rowcount
                   for item in items)
