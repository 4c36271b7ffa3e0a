"""Reading a report: its rows a page at a time, its total, and its count per day.

A report is a ``ReportQuery`` (which report, which local days, which sender, provider or
patient, which order). Every read is bounded: ``page`` returns at most ``limit`` rows after a
keyset cursor (the last row's sort key), so the hundred-thousandth row costs what the first
does; ``count`` counts in the database; ``daily_counts`` groups in the database by hour
from the first local midnight and folds hours into local days here (a day is 23 or 25 hours
across a daylight-saving change, and Newfoundland is half an hour off the hour).

Rows come back as ``ReportRow``: the sort key, the patient's id (for the audit trail) and the
cells already formatted in the current language and the clinic's time zone; the terminal and
the CSV export show the same cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    and_,
    cast,
    extract,
    func,
    literal,
    or_,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session, aliased

from core.db.models import (
    Campaign,
    CampaignRecipient,
    EForm,
    Event,
    FormRequest,
    Message,
    Patient,
    Provider,
    User,
    UTCDateTime,
)
from core.errors import InvalidInput
from core.i18n import get_language
from core.patients.keys import fold, prefix_upper_bound
from core.reports.cells import cells_for
from core.reports.definitions import MESSAGES_CONFIRMED, ReportSpec, report

MAX_DAYS = 3660  # ten years: a longer range is a typo
SortKey = tuple[Any, ...]


@dataclass(frozen=True)
class ReportQuery:
    report: str
    date_from: date
    date_to: date  # inclusive, a local day
    timezone: str = "America/Toronto"
    sender_id: int | None = None
    provider_id: int | None = None
    search: str = ""
    sort: str = "at"
    descending: bool = True

    @property
    def spec(self) -> ReportSpec:
        return report(self.report)

    def bounds(self) -> tuple[datetime, datetime]:
        """[first local midnight, the midnight after the last day) in UTC."""
        if self.date_from > self.date_to:
            raise InvalidInput("The start date is after the end date.")
        if (self.date_to - self.date_from).days >= MAX_DAYS:
            raise InvalidInput("The date range is longer than ten years.")
        zone = ZoneInfo(self.timezone)
        start = datetime.combine(self.date_from, time(), zone).astimezone(UTC)
        end = datetime.combine(self.date_to + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end


@dataclass(frozen=True)
class ReportRow:
    key: SortKey
    patient_id: int | None
    cells: tuple[str, ...]


@dataclass(frozen=True)
class ReportPage:
    rows: tuple[ReportRow, ...]
    next_key: SortKey | None  # None: this is the last page


@dataclass(frozen=True)
class DailyCount:
    day: date
    count: int


# -- building the statement ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Shape:
    """One report's statement parts: the rows' source, the date column, filters and sort keys."""

    source: Any
    at: Any
    row_id: Any
    where: tuple[ColumnElement[bool], ...]
    count_source: Any
    values: dict[str, Any]
    sorts: dict[str, tuple[Any, ...]]
    count_where: tuple[ColumnElement[bool], ...] = ()  # more conditions for the count and the chart only

    def counted(self) -> Select[Any]:
        """``SELECT count(*)`` of the rows (what the total and, grouped, the chart read)."""
        return select(func.count()).select_from(self.count_source).where(*self.where, *self.count_where)


def _patient_filter(text: str, patient_id: Any) -> ColumnElement[bool] | None:
    """Chart ID prefix, or every word a prefix of the last or first name (accents and case ignored)."""
    raw = text.strip()
    if not raw:
        return None
    words = [w for w in (fold(part) for part in raw.replace(",", " ").split()) if w]
    chart = and_(Patient.chart_id >= raw, Patient.chart_id < prefix_upper_bound(raw))
    names = [or_(and_(Patient.last_key >= w, Patient.last_key < prefix_upper_bound(w)),
                 and_(Patient.first_key >= w, Patient.first_key < prefix_upper_bound(w))) for w in words]
    match = or_(chart, and_(*names)) if names else chart
    return patient_id.in_(select(Patient.id).where(match))


def _event_shape(spec: ReportSpec, query: ReportQuery, start: datetime, end: datetime, dialect: str) -> _Shape:
    sender = func.coalesce(User.display_name, Message.sender_emr_name, "")
    provider = func.coalesce(Provider.display_name, "")
    source = (Event.__table__.outerjoin(Patient.__table__, Patient.id == Event.patient_id)
              .outerjoin(Message.__table__, Message.id == Event.message_id)
              .outerjoin(User.__table__, User.id == Event.user_id)
              .outerjoin(Provider.__table__, Provider.id == Event.provider_id))
    keys = {column.key for column in spec.columns}
    values: dict[str, Any] = {
        "at": Event.at, "message": Event.message_id, "chart": Patient.chart_id, "last": Patient.last_name,
        "first": Patient.first_name, "sender": sender, "provider": provider, "patient_id": Event.patient_id,
    }
    if "form" in keys:
        source = (source.outerjoin(FormRequest.__table__, FormRequest.id == Event.form_request_id)
                  .outerjoin(EForm.__table__, EForm.id == FormRequest.eform_id))
        values["form"] = EForm.title_fr if get_language() == "fr" else EForm.title_en
    if "kind" in keys:
        values["kind"], values["campaign"] = Message.kind, Event.campaign_id
    if "channel" in keys:
        values["channel"] = Event.channel
    if "sent" in keys:
        values["sent"] = Message.created_at
    where: list[ColumnElement[bool]] = [Event.kind == spec.kind, Event.at >= start, Event.at < end]
    count_source: Any = Event.__table__
    count_where: tuple[ColumnElement[bool], ...] = ()
    if spec.name == MESSAGES_CONFIRMED:  # the seed counts secure messages only, not reminders
        # Each event's message kind, from two indexes (0016): ix_events_kind_at carries message_id
        # and ix_messages_kind is (id, kind), so no table row is read. The page joins on (id, kind):
        # both planners then walk the events newest first and stop at the page. The count and the
        # chart join too on SQLite, but PostgreSQL would hash the join against every secure message
        # (0.1 s at 1M events), so there they look the kind up per event (index-only, ~20 ms); a
        # page written that way is planned as if 0.5 % matched, and sorted whole (0.4 s).
        secure = aliased(Message, name="secure")
        on = and_(secure.id == Event.message_id, secure.kind == "secure_message")
        source = source.join(secure, on)
        if dialect == "postgresql":
            kind = select(secure.kind).where(secure.id == Event.message_id).correlate(Event).scalar_subquery()
            count_where = (kind == "secure_message",)
        else:
            count_source = count_source.join(secure, on)
    if query.sender_id is not None:
        where.append(Event.user_id == query.sender_id)
    if query.provider_id is not None:
        where.append(Event.provider_id == query.provider_id)
    searched = _patient_filter(query.search, Event.patient_id)
    if searched is not None:
        where.append(searched)
    sorts = {"at": (Event.at, Event.id), "chart": (func.coalesce(Patient.chart_id, ""), Event.id),
             "patient": (func.coalesce(Patient.last_key, ""), func.coalesce(Patient.first_key, ""), Event.id),
             "sender": (sender, Event.id), "provider": (provider, Event.id)}
    return _Shape(source, Event.at, Event.id, tuple(where), count_source, values, sorts, count_where)


def _campaign_shape(query: ReportQuery, start: datetime, end: datetime) -> _Shape:
    recipient = CampaignRecipient
    sender = func.coalesce(User.display_name, "")
    provider = func.coalesce(Provider.display_name, "")
    source = (recipient.__table__.join(Campaign.__table__, Campaign.id == recipient.campaign_id)
              .join(Patient.__table__, Patient.id == recipient.patient_id)
              .outerjoin(User.__table__, User.id == Campaign.created_by)
              .outerjoin(Provider.__table__, Provider.id == Patient.primary_provider_id))
    values: dict[str, Any] = {
        "at": recipient.added_at, "campaign": Campaign.name, "chart": Patient.chart_id, "last": Patient.last_name,
        "first": Patient.first_name, "status": recipient.state, "sent": recipient.sent_at,
        "reason": recipient.skip_reason, "sender": sender, "provider": provider, "patient_id": recipient.patient_id,
    }
    where: list[ColumnElement[bool]] = [recipient.added_at >= start, recipient.added_at < end]
    count_source: Any = recipient.__table__
    if query.sender_id is not None:
        where.append(Campaign.created_by == query.sender_id)
        count_source = count_source.join(Campaign.__table__, Campaign.id == recipient.campaign_id)
    if query.provider_id is not None:
        where.append(Patient.primary_provider_id == query.provider_id)
        count_source = count_source.join(Patient.__table__, Patient.id == recipient.patient_id)
    searched = _patient_filter(query.search, recipient.patient_id)
    if searched is not None:
        where.append(searched)
    sorts = {"at": (recipient.added_at, recipient.id), "chart": (Patient.chart_id, recipient.id),
             "patient": (Patient.last_key, Patient.first_key, recipient.id), "campaign": (Campaign.name, recipient.id),
             "sender": (sender, recipient.id), "provider": (provider, recipient.id)}
    return _Shape(source, recipient.added_at, recipient.id, tuple(where), count_source, values, sorts)


def _shape(query: ReportQuery, session: Session) -> _Shape:
    spec = query.spec
    start, end = query.bounds()
    if spec.kind is None:
        return _campaign_shape(query, start, end)
    return _event_shape(spec, query, start, end, session.get_bind().dialect.name)


def _sort_exprs(query: ReportQuery, shape: _Shape) -> tuple[Any, ...]:
    if query.sort not in shape.sorts:
        raise InvalidInput("This report cannot be sorted by that column.")
    return shape.sorts[query.sort]


def _page_statement(query: ReportQuery, shape: _Shape, after: SortKey | None, limit: int | None, *,
                    keys: bool = True) -> Select[Any]:
    exprs = _sort_exprs(query, shape)
    # Instants are shown, not compared: read as naive UTC (``cells`` takes either), sparing a
    # ``UTCDateTime`` conversion per instant per row; the sort keys keep their type (keyset bounds).
    columns = [(type_coerce(expr, DateTime()) if isinstance(expr.type, UTCDateTime) else expr).label(f"v_{name}")
               for name, expr in shape.values.items()]
    if keys:  # the sort key of each row: a page's cursor (a stream reads on and needs none)
        columns += [expr.label(f"k_{i}") for i, expr in enumerate(exprs)]
    statement = select(*columns).select_from(shape.source).where(*shape.where)
    if after is not None:
        bound = tuple_(*(literal(value, type_=expr.type) for value, expr in zip(after, exprs, strict=True)))
        statement = statement.where(tuple_(*exprs) < bound if query.descending else tuple_(*exprs) > bound)
    order = [expr.desc() if query.descending else expr.asc() for expr in exprs]
    statement = statement.order_by(*order)
    return statement if limit is None else statement.limit(limit)


# -- reading ------------------------------------------------------------------------------------

def _positions(shape: _Shape) -> dict[str, int]:
    return {name: index for index, name in enumerate(shape.values)}  # the select's column order


def _row_maker(query: ReportQuery, shape: _Shape) -> Callable[[Any], ReportRow]:
    """Turns one selected record into a ``ReportRow``; the formatters are built once, not per row."""
    width = len(_sort_exprs(query, shape))
    position = _positions(shape)
    cells = cells_for(query, position)
    keys = slice(len(shape.values), len(shape.values) + width)
    patient_at = position["patient_id"]
    return lambda record: ReportRow(tuple(record[keys]), record[patient_at], tuple(cells(record)))


def page(session: Session, query: ReportQuery, *, after: SortKey | None = None, limit: int = 100) -> ReportPage:
    """At most ``limit`` rows after the cursor ``after`` (None: from the start), in the query's order."""
    shape = _shape(query, session)
    # Core execution: the rows are plain tuples, no ORM loading machinery per row.
    result = session.connection().execute(_page_statement(query, shape, after, limit + 1)).all()
    make = _row_maker(query, shape)
    rows = tuple(make(record) for record in result[:limit])
    return ReportPage(rows, rows[-1].key if len(result) > limit else None)


def count(session: Session, query: ReportQuery) -> int:
    shape = _shape(query, session)
    return int(session.scalar(shape.counted()) or 0)


def iter_rows(session: Session, query: ReportQuery, *, limit: int | None = None,
              batch: int = 2000) -> Iterator[ReportRow]:
    """Every row (at most ``limit``) from one statement, streamed ``batch`` rows at a time.

    PostgreSQL sends the rows through a server-side cursor and SQLite's driver steps its statement
    as rows are taken, so memory stays bounded whatever the report's size, and the statement is
    planned and its joins started once, not once per page as keyset pages would (an export is
    read in the one transaction of its unit of work, so it is one consistent snapshot too).
    """
    shape = _shape(query, session)
    make = _row_maker(query, shape)
    for partition in _stream(session, query, shape, limit, batch):
        for record in partition:
            yield make(record)


def iter_cells(session: Session, query: ReportQuery, *, limit: int | None = None,
               batch: int = 2000) -> Iterator[list[str]]:
    """``iter_rows``' cells alone (what an export writes), without building a row object for each."""
    shape = _shape(query, session)
    cells = cells_for(query, _positions(shape))
    for partition in _stream(session, query, shape, limit, batch, keys=False):
        yield from map(cells, partition)


def _stream(session: Session, query: ReportQuery, shape: _Shape, limit: int | None, batch: int, *,
            keys: bool = True) -> Iterator[Sequence[Any]]:
    streamed = _page_statement(query, shape, None, limit, keys=keys).execution_options(yield_per=batch)
    yield from session.connection().execute(streamed).partitions()


def daily_counts(session: Session, query: ReportQuery) -> list[DailyCount]:
    """The count for every local day of the range, days without rows included (as 0)."""
    shape = _shape(query, session)
    start, _end = query.bounds()
    epoch = int(start.timestamp())
    if session.get_bind().dialect.name == "sqlite":
        seconds: Any = cast(func.strftime("%s", shape.at), Integer)
    else:
        seconds = cast(func.floor(extract("epoch", shape.at)), BigInteger)
    hour = ((seconds - epoch) // 3600).label("hour")
    statement = shape.counted().with_only_columns(hour, func.count()).group_by(hour)
    zone = ZoneInfo(query.timezone)
    totals = {query.date_from + timedelta(days=i): 0 for i in range((query.date_to - query.date_from).days + 1)}
    for offset, number in session.execute(statement).all():
        day = (start + timedelta(hours=int(offset))).astimezone(zone).date()
        if day in totals:
            totals[day] += int(number)
    return [DailyCount(day, number) for day, number in totals.items()]


def sortable_columns(spec: ReportSpec) -> Sequence[str]:
    return [column.key for column in spec.columns if column.sortable]


__all__ = ["DailyCount", "ReportPage", "ReportQuery", "ReportRow", "count", "daily_counts", "iter_cells", "iter_rows",
           "page", "sortable_columns"]
