"""Reading the audit trail (SR-1, SI-5): who saw a patient's record, what a user did, when.

``search`` filters by patient (chart ID), user (the actor recorded) and a date range in the
clinic's time zone, newest first, one bounded page at a time. Looking at a patient's entries is
itself a view of that patient and is audited (``audit.view``). ``export_csv`` writes the
filtered entries as RFC 4180 CSV (CRLF, quoted as needed, UTF-8 with a BOM for spreadsheets),
with a ``'`` before any cell a spreadsheet would take for a formula, into a private file (mode
600), and audits the export. ``verify_text`` words ``audit.verify``'s result for people.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import AuditEntry, Patient
from core.errors import NotFound
from core.i18n import _

PAGE = 500
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    chart_id: str | None = None
    actor: str | None = None
    since: date | None = None  # inclusive, clinic's local date
    until: date | None = None  # inclusive

    def to_data(self) -> dict[str, str]:
        return {k: str(v) for k, v in (("chart_id", self.chart_id), ("actor", self.actor), ("since", self.since),
                                       ("until", self.until)) if v}


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    chart_id: str | None
    detail: str


def _detail(detail: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((detail or {}).items()))


def _statement(session: Session, wanted: AuditFilter, zone: str) -> tuple[Select[Any], int | None]:
    entries = AuditEntry.__table__
    statement = (select(entries.c.id, entries.c.at, entries.c.actor, entries.c.action, entries.c.detail,
                        Patient.chart_id)
                 .select_from(entries.outerjoin(Patient, Patient.id == entries.c.patient_id)))
    patient_id = None
    if wanted.chart_id:
        patient_id = session.scalar(select(Patient.id).where(Patient.chart_id == wanted.chart_id.strip()))
        if patient_id is None:
            raise NotFound(_("No patient with chart ID {chart}.").format(chart=wanted.chart_id.strip()))
        statement = statement.where(entries.c.patient_id == patient_id)
    if wanted.actor:
        statement = statement.where(func.lower(entries.c.actor) == wanted.actor.strip().lower())
    local = ZoneInfo(zone)
    if wanted.since:
        statement = statement.where(entries.c.at >= datetime.combine(wanted.since, time(), local).astimezone(UTC))
    if wanted.until:
        end = datetime.combine(wanted.until + timedelta(days=1), time(), local).astimezone(UTC)
        statement = statement.where(entries.c.at < end)
    return statement.order_by(entries.c.id.desc()), patient_id


def search(session: Session, wanted: AuditFilter, *, zone: str, actor: str, limit: int = PAGE) -> list[AuditRow]:
    """One page of entries, newest first; the caller commits (a patient's trail read is audited)."""
    statement, patient_id = _statement(session, wanted, zone)
    rows = [AuditRow(r.id, r.at, r.actor, r.action, r.chart_id, _detail(r.detail))
            for r in session.execute(statement.limit(limit))]
    if patient_id is not None:
        audit.record(session, actor=actor, action="audit.view", patient_id=patient_id,
                     detail={"entries": len(rows)})
    return rows


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: formulas, DDE and the like get a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


HEADER = ("id", "at_utc", "actor", "action", "chart_id", "detail")


def export_csv(session: Session, wanted: AuditFilter, folder: Path, *, zone: str, actor: str,
               now: datetime) -> tuple[Path, int]:
    """Write every matching entry (oldest first) to a new file in ``folder``; returns (path, count)."""
    statement, patient_id = _statement(session, wanted, zone)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"audit-{now.astimezone(ZoneInfo(zone)).strftime('%Y%m%d-%H%M%S')}.csv"
    count = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for row in session.execute(statement.order_by(None).order_by(AuditEntry.id).execution_options(yield_per=1000)):
            writer.writerow([safe_cell(v) for v in (row.id, row.at.astimezone(UTC).isoformat(timespec="seconds"),
                                                    row.actor, row.action, row.chart_id, _detail(row.detail))])
            count += 1
    audit.record(session, actor=actor, action="audit.export", patient_id=patient_id,
                 detail={"entries": count, **wanted.to_data()})
    return path, count


def verify_text(report: audit.ChainReport) -> str:
    if report.ok:
        return _("Audit trail intact: {count} entries verified.").format(count=report.entries)
    reason = report.reason or ""
    if reason.endswith("is missing"):
        why = _("the entry is missing")
    elif reason.startswith("does not follow"):
        why = _("it does not follow the entry before it")
    elif reason.startswith("its content"):
        why = _("its content was changed after it was written")
    else:
        why = _("the end of the trail was removed")
    return _("Audit trail BROKEN at entry {id}: {why} ({count} entries verified before it).").format(
        id=report.first_broken_id, why=why, count=report.entries)
