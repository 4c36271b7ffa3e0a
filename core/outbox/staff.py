"""What the Outbox screen and the patient view call: list items, count states, resend an uncertain one.

Read-only apart from :func:`requeue_uncertain`, the staff decision that ends the ``uncertain``
state (see ``core.outbox.queue`` for why the worker never makes it alone).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update

from core import audit
from core.bootstrap import Accueil
from core.db.models import utcnow
from core.errors import InvalidInput, NotFound
from core.outbox.queue import MESSAGES, OUTBOX, PENDING, STATES, UNCERTAIN, set_delivery_state

log = logging.getLogger("accueil.outbox")


@dataclass(frozen=True)
class OutboxEntry:
    """One row of the Outbox screen (no payload: it holds the message itself)."""

    id: int
    kind: str
    state: str
    message_id: int | None
    attempts: int
    next_try_at: datetime
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
    recipient: str | None


def requeue_uncertain(app: Accueil, item_id: int, *, now: datetime | None = None) -> None:
    """Staff chose to resend an uncertain item: same payload, so the same Message-ID header."""
    now = now or utcnow()
    with app.uow(write=True) as uow:
        session = uow.session
        row = session.execute(
            select(OUTBOX.c.state, OUTBOX.c.message_id).where(OUTBOX.c.id == item_id)
        ).first()
        if row is None:
            raise NotFound(f"Outbox item {item_id} does not exist.")
        if row.state != UNCERTAIN:
            raise InvalidInput(f"Outbox item {item_id} is {row.state}, not uncertain: only an uncertain "
                               "item can be sent again.")
        session.execute(
            update(OUTBOX).where(OUTBOX.c.id == item_id, OUTBOX.c.state == UNCERTAIN)
            .values(state=PENDING, next_try_at=now, claimed_by=None, claimed_at=None)
        )
        patient_id = None
        if row.message_id is not None:
            set_delivery_state(session, [row.message_id], "queued", now)
            patient_id = session.execute(
                select(MESSAGES.c.patient_id).where(MESSAGES.c.id == row.message_id)
            ).scalar()
        audit.record(session, actor=app.actor, action="outbox.resend_uncertain", patient_id=patient_id,
                     detail={"outbox_id": item_id, "message_id": row.message_id})
        uow.commit()
    log.info("outbox item %d requeued by staff after an uncertain delivery", item_id)


def list_items(app: Accueil, *, states: Sequence[str] | None = None, limit: int = 200) -> list[OutboxEntry]:
    """Newest first, for the Outbox screen."""
    query = select(
        OUTBOX.c.id, OUTBOX.c.kind, OUTBOX.c.state, OUTBOX.c.message_id, OUTBOX.c.attempts,
        OUTBOX.c.next_try_at, OUTBOX.c.last_error, OUTBOX.c.created_at, OUTBOX.c.done_at,
        OUTBOX.c.payload["to"].as_string().label("recipient"),  # not the whole payload: it holds the email
    ).order_by(OUTBOX.c.id.desc()).limit(limit)
    if states:
        query = query.where(OUTBOX.c.state.in_(list(states)))
    with app.uow() as uow:
        return [OutboxEntry(**row._asdict()) for row in uow.session.execute(query)]


def counts(app: Accueil) -> dict[str, int]:
    """How many items are in each state (every state present, zero included)."""
    with app.uow() as uow:
        found = {state: number for state, number in uow.session.execute(
            select(OUTBOX.c.state, func.count()).group_by(OUTBOX.c.state)
        )}
    return {state: int(found.get(state, 0)) for state in STATES}


def mailbox_path(app: Accueil, item_id: int) -> Path | None:
    """The ``.eml`` the local mailbox holds for this item, or None (not delivered there, or sent by SMTP)."""
    from core.outbox.transports import mailbox_key
    from core.outbox.worker import decode_email_payload

    with app.uow() as uow:
        payload = uow.session.execute(select(OUTBOX.c.payload).where(OUTBOX.c.id == item_id)).scalar()
    if not isinstance(payload, dict):
        return None
    try:
        _sender, _to, message_bytes = decode_email_payload(payload, app.cipher)
    except ValueError:
        return None
    folder = app.data_dir / "mailbox"
    return next(iter(sorted(folder.glob(f"*-{mailbox_key(message_bytes)}.eml"))), None)
