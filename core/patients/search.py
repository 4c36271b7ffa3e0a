"""PT-2 search as you type: one function for the TUI, the CLI and the benchmarks.

The query's shape decides which indexed key it scans: letters -> last-name prefix;
``last, first`` -> both prefixes; a date -> date of birth; digits or letters-and-digits ->
chart ID, health number (spaces and version code ignored) and phone digits. Case and accents
never matter. Every form returns a bounded page in a stable order with a cursor for the next
page (keyset paging: the database never sorts or skips the whole match set).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from core.db.models import Patient

from .keys import fold, health_key, phone_key, prefix_upper_bound

MAX_PAGE = 200

Cursor = tuple[int, str, str, int]  # (form rank, key, second key, patient id)


@dataclass(frozen=True, slots=True)
class PatientSummary:
    id: int
    chart_id: str
    last_name: str
    first_name: str
    preferred_name: str | None
    date_of_birth: date | None
    health_number: str | None
    phone: str | None
    email: str | None


@dataclass(frozen=True, slots=True)
class SearchPage:
    query: str
    rows: list[PatientSummary]
    next_cursor: Cursor | None


_COLUMNS = (
    Patient.id, Patient.chart_id, Patient.last_name, Patient.first_name, Patient.preferred_name,
    Patient.date_of_birth, Patient.health_number, Patient.phone, Patient.email,
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def parse_birth_date(text: str) -> date | None:
    """ISO ``1980-05-12`` or day-first ``12/05/1980`` (the Canadian clinical habit)."""
    match = _ISO_DATE.match(text)
    parts: tuple[int, int, int] | None = None
    if match:
        parts = (int(match[1]), int(match[2]), int(match[3]))
    elif (match := _DMY_DATE.match(text)) is not None:
        parts = (int(match[3]), int(match[2]), int(match[1]))
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def summaries_where(session: Session, condition: object, *, limit: int = MAX_PAGE) -> list[PatientSummary]:
    """Patients matching an exact condition (e.g. one health number), in name order."""
    stmt = select(*_COLUMNS).where(condition).order_by(Patient.last_key, Patient.first_key, Patient.id).limit(limit)
    return [PatientSummary(*row) for row in session.execute(stmt)]


def search_patients(session: Session, query: str, *, limit: int = 50, after: Cursor | None = None) -> SearchPage:
    limit = max(1, min(limit, MAX_PAGE))
    text = query.strip()
    if birth := parse_birth_date(text):
        return _run(session, query, [_Plan(0, "dob", {"eq": birth})], limit, after, key_is_date=True)
    if "," in text:
        last, _, first = text.partition(",")
        last_key, first_key = fold(last), fold(first)
        if not last_key:
            return SearchPage(query, [], None)
        values: dict[str, object] = {"lo": last_key, "hi": prefix_upper_bound(last_key)}
        if first_key:
            values |= {"lo2": first_key, "hi2": prefix_upper_bound(first_key)}
        return _run(session, query, [_Plan(0, "name", values)], limit, after)
    folded = fold(text)
    if not folded:
        return _run(session, query, [_Plan(0, "name", {})], limit, after)
    if folded.isalpha():
        return _run(session, query, [_Plan(0, "name", _range(folded))], limit, after)
    # Identifiers: a chart ID, a health number or phone digits; each scans its own index.
    plans = [_Plan(0, "chart", _range(text.replace(" ", "")))]
    if hkey := health_key(text):
        plans.append(_Plan(1, "health", _range(hkey)))
    if folded.isdigit() and (pkey := phone_key(text)):
        plans.append(_Plan(2, "phone", _range(pkey)))
    return _run(session, query, plans, limit, after)


@dataclass(frozen=True, slots=True)
class _Plan:
    rank: int
    form: str                   # name | dob | chart | health | phone
    values: dict[str, object]   # bound values: lo/hi (key prefix), lo2/hi2 (first-name prefix), eq (date)


def _range(prefix: str) -> dict[str, object]:
    return {"lo": prefix, "hi": prefix_upper_bound(prefix)}


# form -> (index key, second key or None); the scan orders by (key, second, id).
_FORMS = {
    "name": (Patient.last_key, Patient.first_key),
    "dob": (Patient.date_of_birth, Patient.last_key),
    "chart": (Patient.chart_id, None),
    "health": (Patient.health_key, None),
    "phone": (Patient.phone_key, None),
}
_STATEMENTS: dict[tuple[str, frozenset[str], bool], Select] = {}


def _statement(form: str, bound: frozenset[str], paged: bool) -> Select:
    """Built once per shape: building a SELECT costs more than running it on an index."""
    cache_key = (form, bound, paged)
    stmt = _STATEMENTS.get(cache_key)
    if stmt is not None:
        return stmt
    key, second = _FORMS[form]
    stmt = select(*_COLUMNS, key, *([second] if second is not None else []))
    if "eq" in bound:
        stmt = stmt.where(key == bindparam("eq"))
    if "lo" in bound:
        stmt = stmt.where(key >= bindparam("lo"), key < bindparam("hi"))
    if "lo2" in bound and second is not None:
        stmt = stmt.where(second >= bindparam("lo2"), second < bindparam("hi2"))
    if paged:
        after_key, after_id = bindparam("after_key"), bindparam("after_id")
        if second is not None:
            after_second = bindparam("after_second")
            stmt = stmt.where(or_(key > after_key, and_(key == after_key, or_(
                second > after_second, and_(second == after_second, Patient.id > after_id)))))
        else:
            stmt = stmt.where(or_(key > after_key, and_(key == after_key, Patient.id > after_id)))
    order = [key, *([second] if second is not None else []), Patient.id]
    stmt = stmt.order_by(*order).limit(bindparam("row_limit"))
    _STATEMENTS[cache_key] = stmt
    return stmt


def _run(session: Session, query: str, plans: list[_Plan], limit: int, after: Cursor | None,
         *, key_is_date: bool = False) -> SearchPage:
    found: list[tuple[Cursor, PatientSummary]] = []
    truncated = False
    for plan in plans:
        if after is not None and plan.rank < after[0]:
            continue
        scanned = _scan(session, plan, limit, after if after and after[0] == plan.rank else None, key_is_date)
        truncated |= len(scanned) > limit
        found.extend(scanned[:limit])
    found.sort(key=lambda pair: pair[0])
    rows: list[PatientSummary] = []
    seen: set[int] = set()
    last_cursor: Cursor | None = None
    for index, (cursor, summary) in enumerate(found):
        if len(rows) == limit:
            truncated |= index < len(found)
            break
        last_cursor = cursor
        if summary.id not in seen:  # one patient can match two identifier forms
            seen.add(summary.id)
            rows.append(summary)
    return SearchPage(query, rows, last_cursor if truncated else None)


def _scan(session: Session, plan: _Plan, limit: int, after: Cursor | None,
          key_is_date: bool) -> list[tuple[Cursor, PatientSummary]]:
    has_second = _FORMS[plan.form][1] is not None
    params = dict(plan.values, row_limit=limit + 1)
    if after is not None:
        params |= {"after_key": date.fromisoformat(after[1]) if key_is_date else after[1],
                   "after_second": after[2], "after_id": after[3]}
        if not has_second:
            del params["after_second"]
    stmt = _statement(plan.form, frozenset(plan.values), after is not None)
    width = len(_COLUMNS)
    out: list[tuple[Cursor, PatientSummary]] = []
    for row in session.execute(stmt, params):
        summary = PatientSummary(*row[:width])
        key_value = row[width]
        cursor: Cursor = (plan.rank, key_value.isoformat() if key_is_date else key_value,
                          row[width + 1] if has_second else "", summary.id)
        out.append((cursor, summary))
    return out
