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

This module holds enqueueing, claiming and recovery; ``core.outbox.results`` the transitions
after the claim (the worker's per-message record among them) and ``core.outbox.states`` the
states and shared types. Both are re-exported here, so ``queue.mark_sent`` and the like stay
the one interface the worker and the push sender use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.bootstrap import Accueil
from core.db.bulk import insert_returning, insert_rows, next_ids
from core.db.models import utcnow
from core.outbox.results import (
    Executor,
    TransmitRecorder,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_transmitting,
    mark_uncertain,
    release,
    rowcount,
    safe_error,
    set_delivery_state,
)
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
    STATES,
    TRANSMITTING,
    UNCERTAIN,
    ClaimedItem,
    LostClaim,
    Recovery,
    RetryPolicy,
)

# The results module's operations and the shared states are part of this module's interface.
__all__ = [
    "CLAIMED", "DEFAULT_POLICY", "FAILED", "HELD", "MESSAGES", "OUTBOX", "PATIENTS", "PENDING", "SENT", "STATES",
    "TRANSMITTING", "UNCERTAIN", "ClaimedItem", "Executor", "LostClaim", "OutboxRequest", "Recovery",
    "RetryPolicy", "TransmitRecorder", "claim", "enqueue", "enqueue_many", "mark_failed", "mark_retry",
    "mark_sent", "mark_transmitting", "mark_uncertain", "recover_stale", "release", "safe_error",
    "set_delivery_state",
]

log = logging.getLogger("accueil.outbox")


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
    created in this very transaction), so the rows go in with ids of their own and without the
    conflict check (``core.db.bulk``); a clash all the same fails the statement, and so the
    caller's transaction.
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
    if new_keys and len(rows) > 1:
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


# -- recovery ---------------------------------------------------------------

def recover_stale(app: Accueil, older_than: timedelta, *, now: datetime | None = None) -> Recovery:
    """Items held longer than ``older_than`` by a worker presumed dead (see the module docstring)."""
    now = now or utcnow()
    cutoff = now - older_than
    with app.uow(write=True) as uow:
        session = uow.session
        returned = rowcount(session.execute(
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
