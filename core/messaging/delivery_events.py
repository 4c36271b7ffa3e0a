"""MS-6 events for the mail server's answer: ``message.delivered`` and ``message.failed``.

The worker records each message's delivery state (``Message.delivery_state``, with the outbox
item's ``done_at``); this scheduler job turns every final answer into its event in the one
events table, next to sent, viewed, form completed and replied. It is idempotent: an event is
written only for a message that has none of that kind, so a restarted worker or several
workers at once never write it twice (on PostgreSQL the job takes a transaction-scoped
advisory lock; on SQLite a write transaction is already exclusive). A message left
``uncertain`` gets no event until staff resend it and the server accepts it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, select, text
from sqlalchemy.orm import Session

from core import events
from core.db.models import Event, Message, OutboxItem

if TYPE_CHECKING:
    from core.bootstrap import Accueil

OUTCOMES = {"sent": events.MESSAGE_DELIVERED, "failed": events.MESSAGE_FAILED}
LOOK_BACK = timedelta(days=30)
_ADVISORY_LOCK = 0x4D534756  # any constant that is this job's alone ("MSGV")


def record_delivery_events(session: Session, now: datetime) -> int:
    """Write the missing delivered/failed events for messages created in the last 30 days."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
    written = 0
    for state, kind in OUTCOMES.items():
        rows = session.execute(
            select(Message.id, Message.patient_id, Message.sender_user_id, Message.provider_id,
                   Message.campaign_id, OutboxItem.done_at)
            .join(OutboxItem, and_(OutboxItem.message_id == Message.id, OutboxItem.state == state))
            .where(Message.delivery_state == state, Message.created_at >= now - LOOK_BACK)
            .where(~exists().where(Event.message_id == Message.id, Event.kind == kind))
            .order_by(Message.id)
        ).all()
        events.record_events(session, [
            {"kind": kind, "message_id": row.id, "patient_id": row.patient_id, "user_id": row.sender_user_id,
             "provider_id": row.provider_id, "campaign_id": row.campaign_id, "at": row.done_at or now}
            for row in rows])
        written += len(rows)
    return written


def run_delivery_events(app: Accueil, now: datetime) -> int:
    """``record_delivery_events`` in its own unit of work, as the worker's scheduler runs it."""
    with app.uow(write=True) as uow:
        written = record_delivery_events(uow.session, now)
        uow.commit()
    return written
