"""PT-3: import an EMR export (CSV) into ``patients``, upserting by chart ID.

The CLI and the TUI's import screen (from a worker, with ``progress`` and a ``cancel`` event) call
``import_patients_csv``, then ``write_problem_report`` for the clinic. Nothing here logs or prints:
problems may quote a cell's value, so they belong only in that report.

Choices where PT-3 is silent:
- "row" is the record number a spreadsheet shows: header = row 1, and a quoted cell spanning several
  lines is still one row. Blank rows are skipped and not counted, but keep their number.
- An absent column leaves the field untouched on update; a present empty cell clears an optional
  field (a consent becomes "no"). Language is never empty: an empty cell keeps it (new patients: en).
  The health number column also decides the version code: the Version column if filled, else a code
  typed after an Ontario number, else none.
- Lengths are checked here, so SQLite (which ignores VARCHAR lengths) and PostgreSQL reject the same
  rows; whatever the database still refuses is found row by row and reported.
- A row with fewer cells than the header, or filled cells beyond it, is rejected whole: a cut row, or
  one shifted by an unquoted separator, would put values into the wrong fields.
- A chart ID's first row claims it, even when that row is rejected for another reason.
- A batch is ``batch_size`` data records in one transaction, 10,000 by default (not 1,000): each
  commit rewrites most index pages SQLite touched, and 1,000-row batches made 100,000 rows about
  twice as slow. Progress and cancel act per batch (about a second each); the audit entry has its
  own transaction.
- ``encoding`` is the codec name: ``utf-8``, ``utf-8-sig`` (with BOM) or ``cp1252``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Dialect, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.bootstrap import Accueil
from core.db.models import Patient, utcnow
from core.errors import InvalidInput
from core.patients.import_columns import (
    ALIASES,
    FIELD_BY_HEADER,
    REQUIRED,
    Bad,
    field_label,
    make_parser,
    shown,
)
from core.patients.keys import fold

__all__ = ["ImportFileError", "ImportProblem", "ImportResult", "import_patients_csv", "write_problem_report"]

PATIENTS = cast(Table, Patient.__table__)


@dataclass(frozen=True)
class ImportProblem:
    row: int  # spreadsheet row number (header = 1)
    column: str | None  # the header as written in the file; None for a whole-row problem
    message: str


@dataclass(frozen=True)
class ImportResult:
    rows: int
    inserted: int
    updated: int
    rejected: int
    problems: list[ImportProblem]
    encoding: str
    delimiter: str
    cancelled: bool
    ignored_columns: list[str] = field(default_factory=list)


class ImportFileError(InvalidInput):
    title = "This file cannot be imported"


_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_QUOTED = re.compile(r'"[^"]*"')
_SQLITE_CACHE_KIB = 64 * 1024
_IN_LIMIT = 30_000 if sqlite3.sqlite_version_info >= (3, 32) else 900  # values one statement may bind

class _DriverStatement:
    """A Core statement compiled once for this database, executed with the driver's own executemany.

    Per-row parameter handling costs bulk imports more than the database does; this keeps SQLAlchemy's
    SQL and its type processing (applied once per distinct value) without that per-row cost.
    """

    def __init__(self, statement: Any, dialect: Dialect, keys: list[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=keys)
        self.sql, binds = compiled.string, compiled.binds
        self.names = list(compiled.positiontup or []) if compiled.positional else None
        self.processors = [(name, processor) for name in binds
                           if (processor := binds[name].type.dialect_impl(dialect).bind_processor(dialect))]

    def prepare(self, rows: list[dict[str, Any]]) -> list[Any]:
        """The driver's parameters for ``rows`` (converted in place: use each dict once)."""
        for name, processor in self.processors:
            converted: dict[Any, Any] = {}
            for params in rows:
                if (value := params[name]) is not None:
                    try:
                        params[name] = converted[value]
                    except KeyError:
                        params[name] = converted[value] = processor(value)
        return rows if self.names is None else list(map(itemgetter(*self.names), rows))

    def execute(self, session: Session, prepared: list[Any]) -> None:
        session.connection().exec_driver_sql(self.sql, prepared)


@dataclass
class _Plan:
    """How this file's columns map onto the record, and the statements that write it."""

    columns: list[tuple[int, str, str, Callable[[str], Any], dict[str, Any] | None]]  # index, field, header, …
    width: int
    ignored: list[str]
    chart_header: str
    update_columns: list[str]
    insert: _DriverStatement
    update: _DriverStatement


_DERIVED = {"last_name": ("last_key",), "first_name": ("first_key",), "phone": ("phone_key",),
            "health_number": ("health_key", "health_version"), "email": ("email_bad_at",),
            "email_consent": ("email_consent_at",), "marketing_consent": ("marketing_consent_at",)}
_INSERT_TEMPLATE = dict.fromkeys([*ALIASES, "last_key", "first_key", "phone_key", "health_key", "email_consent_at",
                                  "marketing_consent_at", "push_enabled", "created_at", "updated_at"])
_EXISTING = (PATIENTS.c.chart_id, PATIENTS.c.id, PATIENTS.c.email, PATIENTS.c.email_bad_at, PATIENTS.c.email_consent,
             PATIENTS.c.email_consent_at, PATIENTS.c.marketing_consent, PATIENTS.c.marketing_consent_at)


def _plan(header: list[str], today: date, dialect: Dialect) -> _Plan:
    found: dict[str, tuple[int, str]] = {}
    ignored: list[str] = []
    for index, written in enumerate(cell.strip() for cell in header):
        name = FIELD_BY_HEADER.get(fold(written))
        if name in found:
            raise ImportFileError(f"The columns '{found[name][1]}' and '{written}' both hold the {field_label(name)}; "
                                  "keep only one of them.")
        if name is not None:
            found[name] = (index, written)
        elif written:
            ignored.append(written)
    if missing := [name for name in REQUIRED if name not in found]:
        wanted = "; ".join(f"{field_label(n)} (for example {', '.join(ALIASES[n][:3])})" for n in missing)
        listed = ", ".join(f"'{h.strip()}'" for h in header if h.strip()) or "none"
        raise ImportFileError(f"The file has no column for: {wanted}. Columns found: {listed}.")
    present = [name for name in ALIASES if name in found]
    update_columns = [name for name in present if name != "chart_id"]
    update_columns += [d for name in present for d in _DERIVED.get(name, ()) if d not in update_columns]
    setters: dict[Any, Any] = {PATIENTS.c[c]: bindparam(f"v_{c}", type_=PATIENTS.c[c].type)
                               for c in [*update_columns, "updated_at"]}
    if "language" in update_columns:  # never empty: an empty cell keeps the current language
        setters[PATIENTS.c.language] = func.coalesce(setters[PATIENTS.c.language], PATIENTS.c.language)
    statement = update(PATIENTS).where(PATIENTS.c.id == bindparam("v_id")).values(setters)
    columns = [(i, n, h, *make_parser(n, today)) for n, (i, h) in sorted(found.items(), key=lambda x: x[1][0])]
    return _Plan(columns, max(i for i, h in enumerate(header) if h.strip()) + 1, ignored, found["chart_id"][1],
                 update_columns, _DriverStatement(insert(PATIENTS), dialect, list(_INSERT_TEMPLATE)),
                 _DriverStatement(statement, dialect))


def _parse_row(cells: list[str], plan: _Plan) -> tuple[dict[str, Any], list[tuple[str | None, str]]]:
    if len(cells) < plan.width or (len(cells) > plan.width and _has_data(cells[plan.width:])):
        return {}, [(None, f"the row has {len(cells)} cells but the header has {plan.width} columns; "
                           "it may be cut short, or shifted by an unquoted separator")]
    values: dict[str, Any] = {}
    problems: list[tuple[str | None, str]] = []
    for index, name, header, parse, cache in plan.columns:
        raw = cells[index].strip()
        if cache is not None and raw in cache:
            values[name] = cache[raw]
            continue
        try:
            values[name] = value = parse(raw)
        except Bad as bad:
            problems.append((header, str(bad)))
            continue
        if cache is not None:
            cache[raw] = value
    if not problems:
        values["last_key"], values["first_key"] = fold(values["last_name"])[:120], fold(values["first_name"])[:120]
        if "phone" in values:
            values["phone"], values["phone_key"] = values["phone"] or (None, None)
        if "health_number" in values:
            values["health_number"], suffix, values["health_key"] = values["health_number"] or (None, "", None)
            values["health_version"] = values.get("health_version") or suffix or None
    return values, problems


def _has_data(cells: list[str]) -> bool:
    return any(cells) and not "".join(cells).isspace()


def _decode(data: bytes) -> tuple[str, str]:
    text, encoding = None, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 marks decode as Windows-1252 letters
        with contextlib.suppress(UnicodeDecodeError):
            text = data.decode(encoding)
        if text is None and encoding == "utf-8":
            with contextlib.suppress(UnicodeDecodeError):
                text, encoding = data.decode("cp1252"), "cp1252"
    if text is None or _NOT_TEXT.search(text):
        raise ImportFileError("The file is not text in a supported encoding (tried UTF-8, UTF-8 with BOM and "
                              "Windows-1252); it may be UTF-16 or a spreadsheet. Save it as CSV (UTF-8) and retry.")
    return text, encoding


def _sniff(text: str) -> str:
    header = _QUOTED.sub("", text.split("\n", 1)[0])
    if not header.strip():
        raise ImportFileError("The first row of the file is empty: it must hold the column names."
                              if text.strip() else "The file is empty.")
    commas, semicolons = header.count(","), header.count(";")
    if not commas and not semicolons:
        raise ImportFileError("The header row has no ',' or ';' between column names; "
                              "save the file as CSV with a comma or semicolon separator.")
    return ";" if semicolons > commas else ","


def _records(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _count_records(text: str, delimiter: str) -> int:
    """The cheap first pass: data records for the progress total; a broken CSV stops here, before any write."""
    count, row = 0, 1
    try:
        for row, cells in enumerate(_records(text, delimiter), start=1):
            count += row > 1 and _has_data(cells)
    except csv.Error as exc:
        raise ImportFileError(f"The file cannot be read as CSV near row {row + 1} ({exc}).") from None
    return count


@dataclass
class _Batch:
    taken: int = 0  # data records read
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row number, values) of good rows
    problems: list[ImportProblem] = field(default_factory=list)
    rejected: int = 0


def _batches(reader: Iterator[list[str]], plan: _Plan, batch_size: int) -> Iterator[_Batch]:
    first_row_of: dict[str, int] = {}
    row_number, batch = 1, _Batch()
    for cells in reader:
        row_number += 1
        if not _has_data(cells):
            continue
        batch.taken += 1
        values, row_problems = _parse_row(cells, plan)
        if (chart := values.get("chart_id")) and (first := first_row_of.setdefault(chart, row_number)) != row_number:
            row_problems.append((plan.chart_header, f"chart ID '{shown(chart)}' is already on row {first}; "
                                                    "only a chart ID's first row is imported"))
        if row_problems:
            batch.rejected += 1
            batch.problems += [ImportProblem(row_number, column, message) for column, message in row_problems]
        else:
            batch.rows.append((row_number, values))
        if batch.taken == batch_size:
            yield batch
            batch = _Batch()
    if batch.taken:
        yield batch


def import_patients_csv(app: Accueil, path: Path, *, progress: Callable[[int, int], None] | None = None,
                        cancel: threading.Event | None = None, batch_size: int = 10_000) -> ImportResult:
    """Import a patient CSV, upserting by chart ID: bad rows are reported, never written, never in the way."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    try:
        text, encoding = _decode(path.read_bytes())
    except OSError as exc:
        raise ImportFileError(f"The file cannot be read ({exc.strerror}).") from None
    delimiter = _sniff(text)
    total = _count_records(text, delimiter)
    reader = _records(text, delimiter)
    plan = _plan(next(reader), date.today(), app.engine.dialect)
    counts = {"rows": 0, "inserted": 0, "updated": 0, "rejected": 0}
    problems: list[ImportProblem] = []
    cancelled = committed = False
    if progress is not None:
        progress(0, total)
    try:
        for batch in _batches(reader, plan, batch_size):
            if cancelled := cancel is not None and cancel.is_set():
                break
            inserted, updated, refused = _write_batch(app, batch, plan) if batch.rows else (0, 0, [])
            committed |= bool(batch.rows)
            counts["rows"] += batch.taken
            counts["inserted"] += inserted
            counts["updated"] += updated
            counts["rejected"] += batch.rejected + len(refused)
            problems += batch.problems + refused
            if progress is not None:
                progress(counts["rows"], total)
    except BaseException:
        if committed:  # some batches are in: the trail must say so even though the import stopped
            with contextlib.suppress(Exception):
                _audit(app, {**counts, "cancelled": False, "interrupted": True})
        raise
    _audit(app, {**counts, "cancelled": cancelled})
    problems.sort(key=lambda problem: problem.row)
    return ImportResult(counts["rows"], counts["inserted"], counts["updated"], counts["rejected"], problems,
                        encoding, delimiter, cancelled, plan.ignored)


def _audit(app: Accueil, detail: dict[str, Any]) -> None:
    with app.uow(write=True) as uow:
        audit.record(uow.session, actor=app.actor, action="patients.import", detail=detail)
        uow.commit()


@contextlib.contextmanager
def _roomy_sqlite_cache(session: Session) -> Iterator[None]:
    """SQLite's default 2 MB page cache spills a batch's scattered index pages to the WAL again and again."""
    connection = session.connection()
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar() if connection.dialect.name == "sqlite" else None
    if before is not None:
        connection.exec_driver_sql(f"PRAGMA cache_size={-_SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        if before is not None:  # the connection goes back to the pool as it came (never mask an error)
            with contextlib.suppress(Exception):
                session.connection().exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def _write_batch(app: Accueil, batch: _Batch, plan: _Plan) -> tuple[int, int, list[ImportProblem]]:
    """One transaction per batch; (inserted, updated, rows the database refused)."""
    with app.uow(write=True) as uow, _roomy_sqlite_cache(uow.session):
        written = _write_rows(uow.session, batch, plan)
        uow.commit()
    return written


def _write_rows(session: Session, batch: _Batch, plan: _Plan) -> tuple[int, int, list[ImportProblem]]:
    """Bulk statements first; if the database refuses one, row by row with a savepoint each."""
    now, charts = utcnow(), [values["chart_id"] for _, values in batch.rows]
    existing: dict[str, Any] = {}
    for start in range(0, len(charts), _IN_LIMIT):
        for found in session.execute(select(*_EXISTING).where(PATIENTS.c.chart_id.in_(charts[start:start + _IN_LIMIT]))):
            existing[found.chart_id] = found
    new = [(row, values) for row, values in batch.rows if values["chart_id"] not in existing]
    known = [(row, values) for row, values in batch.rows if values["chart_id"] in existing]
    inserts = plan.insert.prepare([_insert_values(values, now) for _, values in new])
    updates = plan.update.prepare([_update_values(values, existing[values["chart_id"]], plan, now)
                                   for _, values in known])
    try:
        with session.begin_nested():
            for statement, prepared in ((plan.insert, inserts), (plan.update, updates)):
                if prepared:
                    statement.execute(session, prepared)
        return len(inserts), len(updates), []
    except (IntegrityError, DataError):
        pass
    refused: list[ImportProblem] = []
    for statement, rows, prepared in ((plan.insert, new, inserts), (plan.update, known, updates)):
        for (row_number, _), params in zip(rows, prepared, strict=True):
            try:
                with session.begin_nested():
                    statement.execute(session, [params])
            except (IntegrityError, DataError) as exc:
                reason = (str(exc.orig).strip().splitlines() or ["no reason given"])[0][:200]
                refused.append(ImportProblem(row_number, None, f"the database refused this row ({reason})"))
    failed = {problem.row for problem in refused}
    return sum(r not in failed for r, _ in new), sum(r not in failed for r, _ in known), refused


def _insert_values(values: dict[str, Any], now: datetime) -> dict[str, Any]:
    params = {**_INSERT_TEMPLATE, **values, "push_enabled": False, "created_at": now, "updated_at": now}
    params["language"] = params["language"] or "en"
    params["email_consent"] = email = bool(params["email_consent"])
    params["marketing_consent"] = marketing = bool(params["marketing_consent"])
    params["email_consent_at"], params["marketing_consent_at"] = now if email else None, now if marketing else None
    return params


def _update_values(values: dict[str, Any], old: Any, plan: _Plan, now: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {"v_id": old.id, "v_updated_at": now}
    for name in plan.update_columns:
        value = values.get(name)
        if name in ("email_consent", "marketing_consent"):
            value = bool(value)
        elif name in ("email_consent_at", "marketing_consent_at"):
            consent = name.removesuffix("_at")  # still consenting: keep the date of the first consent
            value = ((getattr(old, name) if getattr(old, consent) else None) or now) if values[consent] else None
        elif name == "email_bad_at":  # a bounce belongs to the address that bounced
            value = old.email_bad_at if (values["email"] or "").lower() == (old.email or "").lower() else None
        params[f"v_{name}"] = value
    return params


def write_problem_report(result: ImportResult, path: Path) -> None:
    """The clinic's report: row, column, problem (UTF-8 with BOM so spreadsheets show accents).

    Ignored columns come first, as notes on row 1 (the header). A cell a spreadsheet would run as a
    formula gets a leading quote.
    """
    def safe(cell: str) -> str:
        return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "column", "problem"])
        writer.writerows([1, safe(column), "column not recognised; its values were not imported"]
                         for column in result.ignored_columns)
        writer.writerows([p.row, safe(p.column or ""), safe(p.message)] for p in result.problems)
