"""One import item into the EMR record, in the worker (EM-1..EM-5).

Three steps so that no write transaction is held while a file converts: read the item, the
settings and the decrypted source; plan it (``core.emr.plan``, conversions included) with no
transaction open; then, for the import-folder destination, write the files, and in one write
transaction lock the item, add the chart entries not added yet and mark it imported. A crash
anywhere is repaired by running it again: chart entries are keyed by source, the folder's file
names are fixed per source, and an item already imported is left alone.

Outcomes: imported; waiting (a missing setting or an unreachable import folder: tried again by
itself); failed with a clear reason (damaged or protected file, portal copy gone), retried by staff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from core import audit
from core.db.models import ImportItem, utcnow
from core.emr import N_
from core.emr.chart import add_entries
from core.emr.convert import ConversionFailed
from core.emr.dropfolder import export_item
from core.emr.plan import Plan, Waiting, plan_import
from core.emr.settings import EmrSettings, read_settings
from core.emr.sources import Source, load_source

if TYPE_CHECKING:
    from core.bootstrap import Accueil

log = logging.getLogger(__name__)
WORKER_ACTOR = "emr-import"
BATCH = 20
WAITING_SLOTS = 2  # waiting items looked at per pass even when the batch is full

SOURCE_GONE = N_("The portal copy is no longer available; nothing can be imported.")
FOLDER_UNWRITABLE = N_("The import folder cannot be written: check its path and permissions.")
UNEXPECTED = N_("The import failed unexpectedly; retry it, and call support if it fails again.")


@dataclass(frozen=True)
class ImportOutcome:
    item_id: int
    state: str
    reason: str | None = None
    entries: int = 0


def _finish(app: Accueil, item_id: int, state: str, reason: str | None, now: datetime, *,
            source: Source | None = None, plan: Plan | None = None, settings: EmrSettings | None = None,
            exported: str | None = None) -> ImportOutcome:
    with app.uow(write=True) as uow:
        session = uow.session
        item = session.get(ImportItem, item_id, with_for_update=True)
        if item is None or item.state in ("imported", "failed") and state != "imported":
            return ImportOutcome(item_id, item.state if item else "missing", item.reason if item else None)
        if item.state == "imported":  # another worker got there first
            return ImportOutcome(item_id, "imported")
        added: list[int] = []
        if state == "imported" and plan is not None and source is not None and exported is None:
            added = add_entries(session, app.cipher, patient_id=source.patient_id, item_kind=item.kind,
                                source_id=item.source_id, entries=list(plan.entries), now=now)
        item.state, item.reason = state, reason
        if state != "waiting":  # a pass that found a setting missing is not a try
            item.attempts += 1
        if state == "imported":
            item.imported_at = now
            detail = {"item_id": item.id, "kind": item.kind, "entries": len(added),
                      "profile": settings.profile if settings else None}
            if exported is not None:
                detail["exported_to"] = "import_folder"
            audit.record(session, actor=WORKER_ACTOR, action="emr.import", patient_id=item.patient_id, detail=detail)
        uow.commit()
        return ImportOutcome(item_id, state, reason, len(added))


def import_item(app: Accueil, item_id: int, *, now: datetime | None = None) -> ImportOutcome:
    """Import one pending or waiting item; safe to run twice, or by two workers at once."""
    now = now or utcnow()
    language = app.settings.language
    with app.uow() as uow:
        item = uow.session.get(ImportItem, item_id)
        if item is None or item.state not in ("pending", "waiting"):
            return ImportOutcome(item_id, item.state if item else "missing")
        settings = read_settings(uow.session)
        source = load_source(uow.session, app.cipher, item.kind, item.source_id, language=language)
    if source is None:
        return _finish(app, item_id, "failed", SOURCE_GONE, now)
    try:
        plan = plan_import(source, settings, language)
    except Waiting as wait:
        return _finish(app, item_id, "waiting", wait.reason, now)
    except ConversionFailed as failure:
        return _finish(app, item_id, "failed", failure.reason, now)
    exported = None
    if settings.destination == "folder":
        try:
            written = export_item(Path(settings.import_path or ""), source, plan.entries, plan.file,
                                  profile=settings.profile)
        except OSError:
            return _finish(app, item_id, "waiting", FOLDER_UNWRITABLE, now)
        exported = written.document.name
    return _finish(app, item_id, "imported", None, now, source=source, plan=plan, settings=settings,
                   exported=exported)


def import_due(app: Accueil, *, now: datetime | None = None, limit: int = BATCH) -> int:
    """Import pending items, and waiting ones whose reason may have gone; returns how many imported."""
    now = now or utcnow()
    with app.uow() as uow:
        # Pending first: items waiting on a missing setting must not hold the batch forever. A
        # waiting item shares its reason with the others, so when the first succeed the rest follow.
        ids = list(uow.session.scalars(select(ImportItem.id).where(ImportItem.state == "pending")
                                       .order_by(ImportItem.id).limit(limit)))
        ids += uow.session.scalars(select(ImportItem.id).where(ImportItem.state == "waiting")
                                   .order_by(ImportItem.id).limit(max(limit - len(ids), WAITING_SLOTS)))
    imported = 0
    for item_id in ids:
        try:
            outcome = import_item(app, item_id, now=now)
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the others
            # Only the type: an exception's text can quote patient data.
            log.error("EMR import of item %s failed (%s)", item_id, type(exc).__name__)
            outcome = _finish(app, item_id, "failed", UNEXPECTED, now)
        imported += outcome.state == "imported"
    return imported
