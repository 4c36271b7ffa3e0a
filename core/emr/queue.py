"""The import queue (EM-5): hand-over from the portal, listing and retry.

The portal stores replies, patient files and completed forms and knows nothing of the EMR;
``sweep`` finds those without an import item and queues them. The (kind, source_id) unique
constraint plus INSERT … ON CONFLICT DO NOTHING means two workers sweeping at once, or a sweep
retried after a crash, queue each source once. Staff list the queue and retry failed items
here; the conversions themselves run in the worker (``core.emr.importer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from core import audit
from core.db.models import Attachment, FormRequest, ImportItem, Message, Patient, Reply, utcnow
from core.errors import InvalidInput, NotFound
from core.uow import UnitOfWork

SWEEP_LIMIT = 500
STATES = ("pending", "waiting", "imported", "failed")
KINDS = ("reply", "attachment", "form")


@dataclass(frozen=True)
class QueueEntry:
    id: int
    kind: str
    state: str
    reason: str | None
    attempts: int
    created_at: datetime
    imported_at: datetime | None
    chart_id: str
    patient_name: str


def _not_queued(kind: str, column):  # type: ignore[no-untyped-def]
    return ~exists().where(and_(ImportItem.kind == kind, ImportItem.source_id == column))


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]) -> int:
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (insert(ImportItem).values(rows).on_conflict_do_nothing(index_elements=["kind", "source_id"])
                 .returning(ImportItem.id))
    return len(session.execute(statement).all())


def sweep(uow: UnitOfWork, *, now: datetime | None = None, limit: int = SWEEP_LIMIT) -> int:
    """Queue every reply with text, patient file and completed form not queued yet. Commits.

    An item's ``created_at`` is when the patient sent it (the queue screen's "Received")."""
    now = now or utcnow()
    session = uow.session
    found: list[tuple[str, int, int, datetime | None]] = []
    found += [("reply", i, p, at) for i, p, at in session.execute(
        select(Reply.id, Message.patient_id, Reply.created_at).join(Message, Message.id == Reply.message_id)
        .where(Reply.body_ciphertext.is_not(None), _not_queued("reply", Reply.id)).order_by(Reply.id).limit(limit))]
    # The reply's time, not the attachment's: on SQLite a column stored after a large blob costs a
    # walk through the blob's overflow pages, and this runs every minute.
    found += [("attachment", i, p, at) for i, p, at in session.execute(
        select(Attachment.id, Message.patient_id, Reply.created_at).join(Message, Message.id == Attachment.message_id)
        .outerjoin(Reply, Reply.id == Attachment.reply_id)
        .where(Attachment.direction == "patient", Attachment.ciphertext.is_not(None),
               _not_queued("attachment", Attachment.id)).order_by(Attachment.id).limit(limit))]
    found += [("form", i, p, at) for i, p, at in session.execute(
        select(FormRequest.id, Message.patient_id, FormRequest.completed_at).join(Message, Message.id == FormRequest.message_id)
        .where(FormRequest.state == "completed", _not_queued("form", FormRequest.id))
        .order_by(FormRequest.id).limit(limit))]
    added = _insert_ignoring_duplicates(session, [
        {"kind": kind, "source_id": source_id, "patient_id": patient_id, "state": "pending", "attempts": 0,
         "created_at": received or now} for kind, source_id, patient_id, received in found])
    uow.commit()
    return added


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(ImportItem.state, func.count()).group_by(ImportItem.state)).all()
    return {state: 0 for state in STATES} | {state: count for state, count in rows}


def list_items(session: Session, *, states: tuple[str, ...] | None = None, limit: int = 200) -> list[QueueEntry]:
    """The newest items first, with the patient's chart ID and name (no content)."""
    query = (select(ImportItem.id, ImportItem.kind, ImportItem.state, ImportItem.reason, ImportItem.attempts,
                    ImportItem.created_at, ImportItem.imported_at, Patient.chart_id, Patient.last_name,
                    Patient.first_name)
             .join(Patient, Patient.id == ImportItem.patient_id).order_by(ImportItem.id.desc()).limit(limit))
    if states:
        query = query.where(ImportItem.state.in_(states))
    return [QueueEntry(*row[:8], patient_name=f"{row.last_name}, {row.first_name}") for row in session.execute(query)]


def retry_item(uow: UnitOfWork, item_id: int) -> None:
    """Send one failed item back to the queue (the worker imports it on its next pass). Commits."""
    session = uow.session
    item = session.get(ImportItem, item_id, with_for_update=True)
    if item is None:
        raise NotFound("This import item no longer exists.")
    if item.state != "failed":
        raise InvalidInput("Only a failed item can be retried.")
    item.state, item.reason = "pending", None
    audit.record(session, actor=uow.actor, action="emr.import_retry", patient_id=item.patient_id,
                 detail={"item_id": item.id})
    uow.commit()


def retry_failed(uow: UnitOfWork) -> int:
    """Send every failed item back to the queue. Commits; returns how many."""
    session = uow.session
    rows = session.execute(select(ImportItem.id, ImportItem.patient_id).where(ImportItem.state == "failed")
                           .with_for_update()).all()
    if not rows:
        return 0
    session.execute(update(ImportItem).where(ImportItem.id.in_([r.id for r in rows]))
                    .values(state="pending", reason=None))
    audit.record_many(session, actor=uow.actor, action="emr.import_retry",
                      entries=[(r.patient_id, {"item_id": r.id}) for r in rows])
    uow.commit()
    return len(rows)
