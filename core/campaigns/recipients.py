"""Who is in a campaign (CA-4, CA-5, CA-7): add one, add by conditions, add by CSV, remove, list.

Every addition is all or nothing. The campaign row is locked first (PostgreSQL ``FOR UPDATE``;
SQLite write transactions are serialised already), and an addition that would take the campaign
past ``MAX_RECIPIENTS`` is refused with the numbers. Additions by conditions are one
``INSERT … SELECT`` built from the compiled conditions, limited to one row more than the room
left: getting that row means over the limit, and the insert is undone (a savepoint) before the
refusal. A CSV of chart IDs (or one patient) is counted before anything is written; the file is
checked whole first and refused with a row-numbered report (unknown IDs, duplicates, no
chart-ID column).

Assigning sends nothing: an invitation waits for Start; an app campaign in progress is visible
in the portal at once because ``broadcasts_for`` reads these rows. Removing before Start means
the patient never receives anything; removing from an app campaign takes its broadcast away.

The list pages by recipient id (the order patients were added) with an index on
``(campaign_id, id)``; a recipient whose send the outbox refused for good shows as *failed*.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, case, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from core import audit
from core.campaigns.campaigns import APP, MAX_RECIPIENTS, in_progress, locked_campaign, require_permission
from core.campaigns.conditions import Condition, compile_conditions
from core.db.models import Campaign, CampaignRecipient, OutboxItem, Patient, utcnow
from core.errors import InvalidInput, NotFound
from core.i18n import _
from core.patients.import_columns import ALIASES
from core.patients.keys import fold
from core.uow import UnitOfWork

CHART_HEADERS = {fold(alias) for alias in ALIASES["chart_id"]} | {"chartid", "id", "identifiant"}
PAGE_SIZE = 50
RECIPIENTS = cast(Table, CampaignRecipient.__table__)
_CHUNK = 900  # bound parameters per IN list (SQLite's limit is 999 on old builds)


@dataclass(frozen=True)
class AssignResult:
    added: int
    already: int  # were in the campaign already (a removed patient is not added again)
    total: int  # in the campaign now
    broadcast_visible: bool  # an app campaign in progress: the new patients see it now


@dataclass(frozen=True)
class CsvProblem:
    row: int  # the file's line number (the header is row 1)
    chart_id: str
    reason: str


class CsvRefused(InvalidInput):
    """The file was refused whole; ``problems`` is the row-numbered report."""

    title = "The list was not added"

    def __init__(self, message: str, problems: list[CsvProblem]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class RecipientRow:
    id: int
    patient_id: int
    chart_id: str
    name: str
    status: str  # assigned|sent|skipped|failed|removed
    reason: str | None  # skipped: no_marketing_consent|no_email|no_email_consent|push_off
    added_at: datetime


@dataclass(frozen=True)
class RecipientPage:
    rows: list[RecipientRow]
    next_after: int | None  # pass as ``after`` for the next page; None: this was the last one


def _in_campaign(campaign_id: int) -> ColumnElement[bool]:
    return exists().where(CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.patient_id == Patient.id)


def _current(session: Session, campaign_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.state != "removed")) or 0)


def _check_room(current: int, adding: int) -> None:
    if current + adding > MAX_RECIPIENTS:
        raise InvalidInput(_("Nothing was added: {adding} more patients would bring this campaign to {total}, "
                             "over the limit of {limit}.").format(adding=adding, total=current + adding,
                                                                   limit=MAX_RECIPIENTS))


def _finish(uow: UnitOfWork, campaign: Campaign, added: int, already: int, how: str, today: date, *,
            total: int | None = None) -> AssignResult:
    session = uow.session
    audit.record(session, actor=uow.actor, action="campaign.assign",
                 detail={"campaign_id": campaign.id, "added": added, "by": how})
    total = _current(session, campaign.id) if total is None else total
    uow.commit()
    visible = added > 0 and campaign.kind == APP and in_progress(campaign.kind, campaign.starts_on,
                                                                  campaign.ends_on, today)
    return AssignResult(added, already, total, visible)


def assign_by_conditions(uow: UnitOfWork, campaign_id: int, conditions: list[Condition] | tuple[Condition, ...],
                         *, today: date, timezone: str = "America/Toronto", now: datetime | None = None) -> AssignResult:
    """Add every patient the conditions fit and who is not in the campaign yet: one ``INSERT … SELECT``.

    The insert takes at most one patient more than the room left; if it got that one, the
    addition is over the limit: it is undone (a savepoint) and refused with the real numbers
    (counted only then). So a fitting addition reads the patients once, never row by row.
    """
    require_permission(uow)
    where = compile_conditions(conditions, today=today, timezone=timezone)
    session = uow.session
    campaign = locked_campaign(session, campaign_id)
    current = _current(session, campaign_id)
    already = int(session.scalar(
        select(func.count()).select_from(CampaignRecipient).join(Patient, Patient.id == CampaignRecipient.patient_id)
        .where(CampaignRecipient.campaign_id == campaign_id, where)) or 0)
    new = where & ~_in_campaign(campaign_id)
    room = max(MAX_RECIPIENTS - current, 0)
    added_at = literal(now or utcnow(), CampaignRecipient.added_at.type)
    source = select(literal(campaign_id), Patient.id, literal("assigned"), added_at).where(new).limit(room + 1)
    savepoint = session.begin_nested()
    added = session.execute(insert(RECIPIENTS).from_select(
        ["campaign_id", "patient_id", "state", "added_at"], source).execution_options(preserve_rowcount=True)).rowcount
    if added > room:  # over the limit: nothing stays, and the message gives the real numbers
        savepoint.rollback()
        _check_room(current, int(session.scalar(select(func.count()).select_from(Patient).where(new)) or 0))
        raise AssertionError("unreachable: _check_room refuses an addition past the limit")
    savepoint.commit()
    return _finish(uow, campaign, added, already, "conditions", today, total=current + added)


def _add_ids(uow: UnitOfWork, campaign: Campaign, patient_ids: list[int], how: str, today: date,
             now: datetime | None) -> AssignResult:
    session = uow.session
    existing: set[int] = set()
    for start in range(0, len(patient_ids), _CHUNK):
        chunk = patient_ids[start:start + _CHUNK]
        existing.update(session.scalars(select(CampaignRecipient.patient_id).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.patient_id.in_(chunk))))
    new = [patient_id for patient_id in patient_ids if patient_id not in existing]
    _check_room(_current(session, campaign.id), len(new))
    if new:
        now = now or utcnow()
        session.execute(insert(CampaignRecipient), [
            {"campaign_id": campaign.id, "patient_id": patient_id, "state": "assigned", "added_at": now}
            for patient_id in new])
    return _finish(uow, campaign, len(new), len(existing), how, today)


def assign_patient(uow: UnitOfWork, campaign_id: int, patient_id: int, *, today: date,
                   now: datetime | None = None) -> AssignResult:
    """Add one patient found by the patient search."""
    require_permission(uow)
    session = uow.session
    campaign = locked_campaign(session, campaign_id)
    if session.get(Patient, patient_id) is None:
        raise NotFound(_("This patient no longer exists."))
    state = session.scalar(select(CampaignRecipient.state).where(
        CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.patient_id == patient_id))
    if state is not None:
        raise InvalidInput(_("This patient is already in the campaign.") if state != "removed" else
                           _("This patient was removed from the campaign and is not added again."))
    return _add_ids(uow, campaign, [patient_id], "patient", today, now)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(_("The file is not text (UTF-8 or Windows-1252): save it as CSV and try again."))


def read_chart_csv(session: Session, data: bytes) -> tuple[list[int], list[CsvProblem]]:
    """(patient ids in file order, problems) for a CSV whose chart-ID column is found by its header."""
    text = _decode(data)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise CsvRefused(_("The file is empty."), [])
    headers = [fold(cell) for cell in rows[0]]
    column = next((index for index, header in enumerate(headers) if header in CHART_HEADERS), None)
    if column is None:
        raise CsvRefused(_("No chart ID column: the first row must name it (e.g. 'Chart ID' or 'No de dossier')."),
                         [CsvProblem(1, "", _("no chart ID column"))])
    problems: list[CsvProblem] = []
    wanted: list[tuple[int, str]] = []
    first_row: dict[str, int] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        chart_id = cells[column].strip() if column < len(cells) else ""
        if not chart_id:
            problems.append(CsvProblem(line, "", _("no chart ID on this row")))
        elif chart_id in first_row:
            problems.append(CsvProblem(line, chart_id, _("duplicate of row {row}").format(row=first_row[chart_id])))
        else:
            first_row[chart_id] = line
            wanted.append((line, chart_id))
    found: dict[str, int] = {}
    charts = [chart_id for _line, chart_id in wanted]
    for start in range(0, len(charts), _CHUNK):
        found.update({row.chart_id: row.id for row in session.execute(
            select(Patient.chart_id, Patient.id).where(Patient.chart_id.in_(charts[start:start + _CHUNK])))})
    problems += [CsvProblem(line, chart_id, _("no patient has this chart ID"))
                 for line, chart_id in wanted if chart_id not in found]
    problems.sort(key=lambda problem: problem.row)
    return [found[chart_id] for _line, chart_id in wanted if chart_id in found], problems


def assign_csv(uow: UnitOfWork, campaign_id: int, data: bytes, *, today: date,
               now: datetime | None = None) -> AssignResult:
    """Add the patients of a CSV of chart IDs; any problem refuses the whole file with the report."""
    require_permission(uow)
    session = uow.session
    campaign = locked_campaign(session, campaign_id)
    patient_ids, problems = read_chart_csv(session, data)
    if problems:
        raise CsvRefused(_("Nothing was added: {count} rows of the file have a problem.").format(count=len(problems)),
                         problems)
    if not patient_ids:
        raise CsvRefused(_("The file has no chart IDs."), [])
    return _add_ids(uow, campaign, patient_ids, "csv", today, now)


def remove_recipient(uow: UnitOfWork, campaign_id: int, recipient_id: int) -> None:
    """Take a patient out: before Start they never receive it; an app broadcast disappears at once."""
    require_permission(uow)
    session = uow.session
    locked_campaign(session, campaign_id)
    recipient = session.get(CampaignRecipient, recipient_id)
    if recipient is None or recipient.campaign_id != campaign_id:
        raise NotFound(_("This patient is not in the campaign."))
    if recipient.state == "removed":
        raise InvalidInput(_("This patient was already removed from the campaign."))
    recipient.state, recipient.removed_at = "removed", utcnow()
    audit.record(session, actor=uow.actor, action="campaign.remove", patient_id=recipient.patient_id,
                 detail={"campaign_id": campaign_id})
    uow.commit()


def status_column() -> ColumnElement[str]:
    return case(((CampaignRecipient.state == "sent") & (OutboxItem.state == "failed"), literal("failed")),
                else_=CampaignRecipient.state)


def list_recipients(uow: UnitOfWork, campaign_id: int, *, search: str = "", after: int | None = None,
                    limit: int = PAGE_SIZE) -> RecipientPage:
    """One page of the list, in the order patients were added; ``search`` is a last-name prefix or a chart ID."""
    require_permission(uow)
    query = (
        select(CampaignRecipient.id, CampaignRecipient.patient_id, Patient.chart_id, Patient.last_name,
               Patient.first_name, status_column().label("status"), CampaignRecipient.skip_reason,
               CampaignRecipient.added_at)
        .join(Patient, Patient.id == CampaignRecipient.patient_id)
        .outerjoin(OutboxItem, OutboxItem.id == CampaignRecipient.outbox_id)
        .where(CampaignRecipient.campaign_id == campaign_id)
        .order_by(CampaignRecipient.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(CampaignRecipient.id > after)
    words = search.strip()
    if words:
        key = fold(words.split(",")[0])
        query = query.where((Patient.chart_id == words) | Patient.last_key.startswith(key, autoescape=True))
    rows = uow.session.execute(query).all()
    page = [RecipientRow(row.id, row.patient_id, row.chart_id, f"{row.last_name}, {row.first_name}", row.status,
                         row.skip_reason, row.added_at) for row in rows[:limit]]
    if uow.write:  # the screen reads in a write unit of work so that the view is audited (SR-1)
        audit.record(uow.session, actor=uow.actor, action="campaign.list-recipients",
                     detail={"campaign_id": campaign_id, "shown": len(page)})
        uow.commit()
    return RecipientPage(page, page[-1].id if len(rows) > limit else None)
