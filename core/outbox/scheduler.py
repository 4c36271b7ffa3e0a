"""Periodic jobs run by the worker between batches: one list, one line per job.

A job is ``function(app, now) -> int`` (how many things it did) and must be idempotent: several
workers may run it, and a worker that restarts runs every job again at once. The interval only
says how often one worker tries; what was already done is recognised by the job from the
database (a notification row, a reminder row, a validation's date), never from memory.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from core.crypto import SiteKeyChanged

if TYPE_CHECKING:
    from core.bootstrap import Accueil

log = logging.getLogger(__name__)

JobFunction = Callable[["Accueil", datetime], int]


@dataclass(frozen=True)
class Job:
    name: str
    target: str
    """``module:function``, imported on first run (the worker must not import every area up front)."""
    every: timedelta


JOBS: tuple[Job, ...] = (
    Job("no-response notifications", "core.messaging.notifications:run_no_response_check", timedelta(minutes=5)),
    Job("custom From re-validation (daily)", "core.sender.approval:revalidate", timedelta(hours=1)),
    Job("EMR import", "core.emr.jobs:run_emr_import", timedelta(minutes=1)),
    Job("appointment reminders", "core.messaging.reminders:run_reminders", timedelta(minutes=5)),
    Job("push notifications", "core.campaigns.push:deliver_due", timedelta(seconds=5)),
    Job("delivered/failed events", "core.messaging.delivery_events:run_delivery_events", timedelta(minutes=1)),
)


def load(target: str) -> JobFunction:
    module, _, name = target.partition(":")
    function: JobFunction = getattr(importlib.import_module(module), name)
    return function


@dataclass
class Scheduler:
    jobs: tuple[Job, ...] = JOBS
    next_run: dict[str, datetime] = field(default_factory=dict)

    def run_due(self, app: Accueil, now: datetime) -> int:
        """Run every job whose time has come; a failing job is logged and tried again next time."""
        done = 0
        for job in self.jobs:
            due = self.next_run.get(job.name)
            if due is not None and now < due:
                continue
            self.next_run[job.name] = now + job.every
            try:
                try:
                    done += load(job.target)(app, now)
                except SiteKeyChanged:  # a key rotation switched under the job: nothing saved, again with the new key
                    done += load(job.target)(app, now)
            except Exception as exc:  # noqa: BLE001 - one job's failure must not stop the others or the worker
                # Only the type: an exception's text can quote patient data.
                log.error("scheduled job %r failed (%s); will try again", job.name, type(exc).__name__)
        return done
