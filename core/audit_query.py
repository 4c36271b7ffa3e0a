"""Reading the audit trail (SR-1, SI-5): who saw a patient's record, what a user did, when.

Only an active administrator reads or exports the trail (``require_auditor``).
``search`` filters by patient (chart ID), user (the actor recorded) and a date range in the
clinic's time zone, newest first, one bounded page at a time. Looking at a patient's entries is
itself a view of that patient and is audited (``audit.view``); so is a search by user or date
whose page lists patients' chart IDs (one ``audit.view`` per patient listed). ``export_csv``
writes the filtered entries as RFC 4180 CSV (CRLF, quoted as needed, UTF-8 with a BOM for
spreadsheets), with a ``'`` before any cell a spreadsheet would take for a formula, into a new
private file (mode 600, a random suffix in its name) from a read unit of work, then audits the
export in a short write one (one entry per patient the file names, as a search does, and one for the
export); the file is deleted if anything fails. ``verify_text`` words
``audit.verify``'s result for people.
"""

from __future__ import annotations

import csv
import os
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import AuditEntry, Patient
from core.errors import InvalidInput, NotFound
from core.i18n import _
from core.staff_admin import require_administrator

if TYPE_CHECKING:
    from core.bootstrap import Accueil

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


def require_auditor(session: Session, actor: str) -> str:
    """The active administrator account acting: only an administrator reads or exports the trail."""
    try:
        return require_administrator(session, actor)
    except InvalidInput:
        raise InvalidInput(_("Only an administrator can read or export the audit trail.")) from None


def _detail(detail: dict[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((detail or {}).items()))


def _statement(session: Session, wanted: AuditFilter, zone: str) -> tuple[Select[Any], int | None]:
    entries = AuditEntry.__table__
    statement = (select(entries.c.id, entries.c.at, entries.c.actor, entries.c.action, entries.c.detail,
                        entries.c.patient_id, Patient.chart_id)
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
    """One page of entries, newest first; the caller commits (a page naming patients is audited)."""
    require_auditor(session, actor)
    statement, patient_id = _statement(session, wanted, zone)
    found = session.execute(statement.limit(limit)).all()
    rows = [AuditRow(r.id, r.at, r.actor, r.action, r.chart_id, _detail(r.detail)) for r in found]
    if patient_id is not None:
        audit.record(session, actor=actor, action="audit.view", patient_id=patient_id,
                     detail={"entries": len(rows)})
    else:
        listed = Counter(r.patient_id for r in found if r.chart_id is not None)
        if listed:
            audit.record_many(session, actor=actor, action="audit.view", entries=[
                (pid, {"entries": count, **wanted.to_data()}) for pid, count in sorted(listed.items())])
    return rows


def patient_entries(session: Session, patient_id: int, *, limit: int) -> list[AuditRow]:
    """The newest ``limit`` entries about one patient (the patient view's access log, PT-5).

    Not audited here: the caller shows them inside the record, whose opening it audits.
    """
    statement, _pid = _statement(session, AuditFilter(), "UTC")
    found = session.execute(statement.where(AuditEntry.__table__.c.patient_id == patient_id).limit(limit)).all()
    return [AuditRow(r.id, r.at, r.actor, r.action, r.chart_id, _detail(r.detail)) for r in found]


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: formulas, DDE and the like get a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


HEADER = ("id", "at_utc", "actor", "action", "chart_id", "detail")


def export_csv(app: Accueil, wanted: AuditFilter, folder: Path, *, now: datetime) -> tuple[Path, int]:
    """Write every matching entry (oldest first) to a new file in ``folder``; returns (path, count).

    The file is written from a read unit of work (a long export holds no write lock), then the
    export is audited and committed in a short write unit of work; on any failure the file goes.
    """
    zone = app.settings.timezone
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.astimezone(ZoneInfo(zone)).strftime("%Y%m%d-%H%M%S")
    path = folder / f"audit-{stamp}-{secrets.token_hex(4)}.csv"
    count = 0
    try:
        with app.uow() as uow:
            require_auditor(uow.session, uow.actor)
            statement, patient_id = _statement(uow.session, wanted, zone)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\r\n")
                writer.writerow(HEADER)
                ordered = statement.order_by(None).order_by(AuditEntry.id).execution_options(yield_per=1000)
                listed: Counter[int] = Counter()
                for row in uow.session.execute(ordered):
                    writer.writerow([safe_cell(v) for v in (
                        row.id, row.at.astimezone(UTC).isoformat(timespec="seconds"), row.actor, row.action,
                        row.chart_id, _detail(row.detail))])
                    count += 1
                    if row.chart_id is not None:
                        listed[row.patient_id] += 1
        with app.uow(write=True) as uow:
            if patient_id is None and listed:  # the file names these patients: each export is in their trail
                audit.record_many(uow.session, actor=uow.actor, action="audit.export", entries=[
                    (pid, {"entries": n, **wanted.to_data()}) for pid, n in sorted(listed.items())])
            audit.record(uow.session, actor=uow.actor, action="audit.export", patient_id=patient_id,
                         detail={"entries": count, **wanted.to_data()})
            uow.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
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
