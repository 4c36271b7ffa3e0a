"""The worker's periodic EMR job (one line in ``core.outbox.scheduler.JOBS``).

Each pass: queue what the portal left (``queue.sweep``), import what is due (``importer``),
then delete portal copies past their retention (``retention``). Every step is idempotent, so two
workers, or a worker restarted mid-pass, do no harm.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from core.emr.importer import import_due
from core.emr.queue import sweep
from core.emr.retention import purge_imported_copies

if TYPE_CHECKING:
    from core.bootstrap import Accueil


def run_emr_import(app: Accueil, now: datetime) -> int:
    """Returns how many things were done (queued + imported + purged)."""
    with app.uow(write=True) as uow:
        done = sweep(uow, now=now)
    done += import_due(app, now=now)
    with app.uow(write=True) as uow:
        done += purge_imported_copies(uow, now=now)
    return done
