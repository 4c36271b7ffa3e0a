"""The outbox table as a queue: enqueue in the caller's transaction, claim, record results.

One item's states (each arrow one committed transaction)::

    pending ─claim─> claimed ─before DATA─> transmitting ─250─> sent
      ^  ^             │  └─ 5xx ─> failed          │  ├─ 5xx after the content ─> failed
      │  └─ 4xx/drop ──┘                            │  ├─ 4xx after the content ─> pending
      └─ recover_stale: claimed too long            │  └─ drop after the content, or the worker
      └─ requeue_uncertain (staff) <── uncertain <──┘     died (recover_stale) ─> uncertain

Crash semantics (SR-4: nothing lost, nothing sent twice). ``transmitting`` is committed,
durably, right before the SMTP ``DATA`` command (MAIL and RCPT accepted); ``sent`` once the
server answered ``250``, recorded with the next message's ``transmitting`` commit (one commit
per message) or on its own at the end of a batch or before any other outcome. A worker that dies
leaves its items ``claimed`` or ``transmitting``; :func:`recover_stale`, run by every worker at
start and every minute, returns stale ``claimed`` items to ``pending`` (the server never saw
their content, so sending again cannot duplicate) and turns stale ``transmitting`` items into
``uncertain``: the server may or may not hold the message, so it is never re-sent automatically.
Staff see them (the Outbox screen, the message's delivery state) and may resend with
``core.outbox.staff.requeue_uncertain``, which reuses the payload and so the Message-ID header.
Hence every message is delivered exactly once, except an ``uncertain`` one: at most once unless
staff resend it. (A worker killed between a 250 and its record leaves an ``uncertain`` item that
was in fact delivered: the window is the next message's MAIL and RCPT.) A connection dropped
after the content went out is the same case (``uncertain``); a drop before it (connect, MAIL,
RCPT, the 354) is a plain retry. On SQLite (WAL, ``synchronous=NORMAL``) commits survive a
process crash but not a power cut; PostgreSQL's durable ``transmitting`` commit survives both.

Every transition after the claim is guarded by ``claimed_by`` (a per-run token) and the expected
state, so a worker presumed dead cannot overwrite another's claim or transmit an item it lost.
Claiming: on PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` then an UPDATE in the same
transaction; on SQLite a conditional UPDATE in a write unit of work (``BEGIN IMMEDIATE``).
Nothing here logs or stores content, addresses or patient data: ``last_error`` keeps the
server's reply with any address replaced by ``<address>``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Table, bindparam, func, literal_column, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.bootstrap import Accueil
from core.db.bulk import insert_returning, insert_rows, next_ids
from core.db.engine import WRITE
from core.db.models import Message, OutboxItem, Patient, UTCDateTime, utcnow

log = logging.getLogger("accueil.outbox")

PENDING = "pending"
CLAIMED = "claimed"
TRANSMITTING = "transmitting"
SENT = "sent"
FAILED = "failed"
UNCERTAIN = "uncertain"
STATES = (PENDING, CLAIMED, TRANSMITTING, SENT, FAILED, UNCERTAIN)
# States in which a worker holds the item (its claimed_by is the holder).
HELD = (CLAIMED, TRANSMITTING, UNCERTAIN)

OUTBOX = cast(Table, OutboxItem.__table__)
MESSAGES = cast(Table, Message.__table__)
PATIENTS = cast(Table, Patient.__table__)


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off for temporary failures (4xx, connection trouble), in the spirit of RFC 5321 §4.5.4.1.

    The n-th failed attempt waits ``min(base × factor^(n-1), cap)`` before the next one; with the
    defaults: 1, 2, 4, … 32 min, then hourly, giving up (``failed``) at ``max_attempts`` ≈ 4 days.
    """

    base_seconds: float = 60.0
    factor: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 100

    def delay(self, attempts: int) -> timedelta:
        seconds = self.base_seconds * self.factor ** max(0, attempts - 1)
        return timedelta(seconds=min(seconds, self.cap_seconds))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class ClaimedItem:
    """One outbox item held by a worker: what to send, and who holds it."""

    id: int
    kind: str
    payload: dict[str, Any]
    message_id: int | None
    attempts: int
    claimed_by: str


@dataclass(frozen=True)
class Recovery:
    returned: int  # stale 'claimed' items back to 'pending'
    uncertain: int  # stale 'transmitting' items now 'uncertain'


class LostClaim(Exception):
    """The item is no longer held by this worker (recovered as stale): do not transmit it."""


# -- enqueue ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxRequest:
    """One item to add: see :func:`enqueue`."""

    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    message_id: int | None = None


_INSERT = {
    name: dialect_insert(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"])
    .returning(OUTBOX.c.id, OUTBOX.c.idempotency_key)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_EXISTING = select(OUTBOX.c.id, OUTBOX.c.idempotency_key).where(
    OUTBOX.c.idempotency_key.in_(bindparam("keys", expanding=True)))


def enqueue(session: Session, *, kind: str, payload: dict[str, Any], idempotency_key: str,
            message_id: int | None = None) -> int:
    """Add an outbox item in the caller's transaction and return its id.

    A second call with the same ``idempotency_key`` returns the existing item's id and adds
    nothing, also when two transactions race: ``INSERT … ON CONFLICT DO NOTHING`` waits for the
    other transaction on PostgreSQL and is serialised by the write lock on SQLite.
    """
    return enqueue_many(session, [OutboxRequest(kind, payload, idempotency_key, message_id)])[0]


def enqueue_many(session: Session, requests: Sequence[OutboxRequest], *, new_keys: bool = False) -> list[int]:
    """:func:`enqueue` for many items in one statement (a send, a campaign's Start); ids in request order.

    ``new_keys``: the caller vouches that no item with these keys can exist (each key names a row
    created in this very transaction), so on PostgreSQL the rows are copied in without the
    conflict check; a clash all the same fails the statement, and so the caller's transaction.
    """
    if not requests:
        return []
    keys = [request.idempotency_key for request in requests]
    if not all(keys):
        raise ValueError("an outbox item needs an idempotency key")
    now = utcnow()
    rows = [{"kind": r.kind, "idempotency_key": r.idempotency_key, "payload": r.payload, "message_id": r.message_id,
             "state": PENDING, "attempts": 0, "next_try_at": now, "created_at": now} for r in requests]
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and new_keys and len(rows) > 1:
        new_ids = next_ids(session, OUTBOX, len(rows))
        for row, item_id in zip(rows, new_ids, strict=True):
            row["id"] = item_id
        insert_rows(session, OUTBOX, rows)
        return new_ids
    if postgres and len(rows) > 1:
        ids = {key: item_id for item_id, key in insert_returning(
            session, OUTBOX, rows, ("id", "idempotency_key"), on_conflict_do_nothing=("idempotency_key",))}
    else:
        statement = _INSERT[session.get_bind().dialect.name]
        ids = {key: item_id for item_id, key in session.execute(statement, rows[0] if len(rows) == 1 else rows)}
    missing = [key for key in keys if key not in ids]
    if missing:
        ids.update({key: item_id for item_id, key in session.execute(_EXISTING, {"keys": missing})})
    if len(ids) < len(set(keys)):  # pragma: no cover - the conflicting row vanished (deleted meanwhile)
        raise RuntimeError("outbox idempotency conflict with a row that no longer exists")
    return [int(ids[key]) for key in keys]


# -- claim ------------------------------------------------------------------------------------

def claim(app: Accueil, *, worker_id: str, limit: int, now: datetime | None = None,
          kinds: Sequence[str] | None = None) -> list[ClaimedItem]:
    """Take up to ``limit`` due pending items (oldest first) for ``worker_id``; commits the claim."""
    now = now or utcnow()
    with app.uow(write=True) as uow:
        session = uow.session
        query = (
            select(OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.payload, OUTBOX.c.message_id, OUTBOX.c.attempts)
            .where(OUTBOX.c.state == PENDING, OUTBOX.c.next_try_at <= now)
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        if kinds:
            query = query.where(OUTBOX.c.kind.in_(list(kinds)))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.execute(query).all()
        if not rows:
            return []
        claimed = session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([row.id for row in rows]), OUTBOX.c.state == PENDING)
            .values(state=CLAIMED, claimed_by=worker_id, claimed_at=now)
            .returning(OUTBOX.c.id)
        ).scalars().all()
        uow.commit()
    taken = set(claimed)
    items = [ClaimedItem(id=row.id, kind=row.kind, payload=row.payload, message_id=row.message_id,
                         attempts=row.attempts, claimed_by=worker_id) for row in rows if row.id in taken]
    log.debug("worker %s claimed %d outbox items", worker_id, len(items))
    return items


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


def _rowcount(result: Any) -> int:
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
_TO_TRANSMITTING = (update(OUTBOX).where(_HOLDER, _in_states(CLAIMED))
                    .values(state=TRANSMITTING, claimed_at=bindparam("now", type_=UTCDateTime())))
_TO_SENT = (update(OUTBOX).where(_HOLDER, _in_states(*HELD))
            .values(state=SENT, done_at=bindparam("now", type_=UTCDateTime()), attempts=OUTBOX.c.attempts + 1,
                    last_error=None))
_MESSAGE_SENT = (update(MESSAGES).where(MESSAGES.c.id == bindparam("message_id"))
                 .values(delivery_state=SENT, sent_at=bindparam("now", type_=UTCDateTime())))


def _record_sent(db: Executor, items: Sequence[ClaimedItem], now: datetime) -> int:
    recorded = 0
    for item in items:
        if _rowcount(db.execute(_TO_SENT, {"item_id": item.id, "holder": item.claimed_by, "now": now})):
            recorded += 1
            if item.message_id is not None:
                db.execute(_MESSAGE_SENT, {"message_id": item.message_id, "now": now})
    return recorded


# On PostgreSQL the worker's record before DATA is ONE statement in autocommit mode: the earlier
# 250s and this item's 'transmitting' in a single round trip and a single durable commit (data-
# modifying CTEs run whether or not the main statement reads them). On SQLite the statements run
# in process, so three of them in a BEGIN IMMEDIATE transaction cost less than a round trip would.
_PG_TRANSMITTING = text(f"""
WITH sent AS (
    UPDATE outbox SET state = '{SENT}', done_at = :now, attempts = attempts + 1, last_error = NULL
    WHERE id = ANY(CAST(:sent_ids AS integer[])) AND claimed_by = :holder
      AND state IN ('{CLAIMED}', '{TRANSMITTING}', '{UNCERTAIN}')
    RETURNING message_id
), delivered AS (
    UPDATE messages SET delivery_state = '{SENT}', sent_at = :now
    WHERE id IN (SELECT message_id FROM sent WHERE message_id IS NOT NULL)
)
UPDATE outbox SET state = '{TRANSMITTING}', claimed_at = :now
WHERE id = :item_id AND claimed_by = :holder AND state = '{CLAIMED}'
""").bindparams(bindparam("now", type_=UTCDateTime()))


class TransmitRecorder:
    """The worker's per-message record, on one database connection kept for a batch.

    Taking a pooled connection for every message costs a checkout, a liveness ping and a reset,
    several round trips on PostgreSQL; the worker keeps this recorder's connection for its
    batch and closes it after. A database error closes it too (the next call opens a new one).
    """

    def __init__(self, app: Accueil) -> None:
        self.app = app
        self._connection: Connection | None = None

    def _open(self) -> Connection:
        if self._connection is None:
            connection = self.app.engine.connect()
            if connection.dialect.name == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                connection = connection.execution_options(**WRITE)
            self._connection = connection
        return self._connection

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
        try:
            connection = self._open()
            if connection.dialect.name == "postgresql":
                changed = _rowcount(connection.execute(_PG_TRANSMITTING, {
                    "now": now, "sent_ids": [other.id for other in sent if other.claimed_by == item.claimed_by],
                    "holder": item.claimed_by, "item_id": item.id}))
                foreign = [other for other in sent if other.claimed_by != item.claimed_by]
                if foreign:  # pragma: no cover - one worker holds all its items under one token
                    with connection.begin():
                        _record_sent(connection, foreign, now)
            else:
                with connection.begin():
                    if sent:
                        _record_sent(connection, sent, now)
                    changed = _rowcount(connection.execute(
                        _TO_TRANSMITTING, {"item_id": item.id, "holder": item.claimed_by, "now": now}))
        except BaseException:
            self.close()
            raise
        if changed != 1:
            raise LostClaim(f"outbox item {item.id} is no longer held by {item.claimed_by}")


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


# -- recovery ---------------------------------------------------------------

def recover_stale(app: Accueil, older_than: timedelta, *, now: datetime | None = None) -> Recovery:
    """Items held longer than ``older_than`` by a worker presumed dead (see the module docstring)."""
    now = now or utcnow()
    cutoff = now - older_than
    with app.uow(write=True) as uow:
        session = uow.session
        returned = _rowcount(session.execute(
            update(OUTBOX).where(OUTBOX.c.state == CLAIMED, OUTBOX.c.claimed_at <= cutoff)
            .values(state=PENDING, claimed_by=None, claimed_at=None)
        ))
        doubtful = session.execute(
            update(OUTBOX).where(OUTBOX.c.state == TRANSMITTING, OUTBOX.c.claimed_at <= cutoff)
            .values(state=UNCERTAIN, last_error="worker stopped during transmission; delivery unknown")
            .returning(OUTBOX.c.id, OUTBOX.c.message_id)
        ).all()
        set_delivery_state(session, [row.message_id for row in doubtful], UNCERTAIN, now)
        uow.commit()
    if returned or doubtful:
        log.warning("recovered stale outbox items: %d back to pending, %d uncertain (ids %s)",
                    returned, len(doubtful), ",".join(str(row.id) for row in doubtful[:50]))
    return Recovery(returned=returned, uncertain=len(doubtful))
