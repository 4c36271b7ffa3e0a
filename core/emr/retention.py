"""Minimisation after import: the portal's copies of replies, patient files and completed eForms'
answers are deleted a set number of days after a successful import (site setting
``portal_retention_days``; none: kept).

Only the encrypted blobs go (the rows stay, replies and files marked ``purged_at``, forms still
"completed", so the queue and reports still add up); the chart entries, which are the record, and
the audit trail stay. Each purge writes one audit entry per item. Idempotent: a purged copy is not purged again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from core import audit
from core.db.models import Attachment, FormRequest, ImportItem, Reply, utcnow
from core.emr.settings import read_settings
from core.uow import UnitOfWork

ACTOR = "emr-retention"
BATCH = 500
# kind → (portal row, its encrypted copy, whether the row records when it was purged)
MODELS = {"reply": (Reply, "body_ciphertext", True), "attachment": (Attachment, "ciphertext", True),
          "form": (FormRequest, "answers_ciphertext", False)}


def purge_imported_copies(uow: UnitOfWork, *, now: datetime | None = None, batch: int = BATCH) -> int:
    """Delete portal copies imported more than the retention period ago. Commits; returns how many."""
    now = now or utcnow()
    session = uow.session
    days = read_settings(session).retention_days
    if days is None:
        return 0
    cutoff = now - timedelta(days=days)
    purged: list[tuple[int | None, dict[str, object]]] = []
    for kind, (model, blob, dated) in MODELS.items():
        rows = session.execute(
            select(model.id, ImportItem.patient_id, ImportItem.id)
            .join(ImportItem, (ImportItem.kind == kind) & (ImportItem.source_id == model.id))
            .where(ImportItem.state == "imported", ImportItem.imported_at <= cutoff,
                   getattr(model, blob).is_not(None))
            .order_by(model.id).limit(batch).with_for_update(of=model)  # two workers: one purges, one audits
        ).all()
        if not rows:
            continue
        # The blob is never read: an UPDATE clears it (and skips a copy purged meanwhile).
        session.execute(update(model).where(model.id.in_([source_id for source_id, _p, _i in rows]),
                                            getattr(model, blob).is_not(None))
                        .values({blob: None, "purged_at": now} if dated else {blob: None}))
        purged += [(patient_id, {"kind": kind, "source_id": source_id, "item_id": item_id, "retention_days": days})
                   for source_id, patient_id, item_id in rows]
    if purged:
        audit.record_many(session, actor=ACTOR, action="emr.portal_copy_purged", entries=purged)
        uow.commit()
    return len(purged)
