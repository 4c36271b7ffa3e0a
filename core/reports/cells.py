"""A report row's cells: the text shown in the terminal and written to the CSV, the same for both.

Built once per read (a formatter per column, reading the selected record by position), then run
per row: an export formats a hundred thousand rows, so the per-row path is kept to list
comprehensions and dictionary look-ups. Dates are the clinic's local 'YYYY-MM-DD HH:MM'; codes
(message kind, form channel, recipient status) are shown in the current language.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.i18n import _
from core.reports.definitions import CHANNEL_NAMES, KIND_NAMES, STATUS_NAMES

if TYPE_CHECKING:
    from core.reports.query import ReportQuery

Cell = Callable[[Any], str]
Cells = Callable[[Any], list[str]]


class _LocalTime:
    """UTC instants (aware, or naive in UTC) as local 'YYYY-MM-DD HH:MM', one zone lookup per half
    hour (every Canadian zone changes offset on the hour or the half hour)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.offsets: dict[int, timedelta] = {}

    def __call__(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        # The half hour since year 1, from the fields: cheaper than timestamp() on every row.
        slot = (moment.toordinal() * 24 + moment.hour) * 2 + (moment.minute >= 30)
        offset = self.offsets.get(slot)
        if offset is None:
            instant = datetime(moment.year, moment.month, moment.day, moment.hour, 30 if moment.minute >= 30 else 0,
                               tzinfo=UTC)
            offset = self.offsets[slot] = instant.astimezone(self.zone).utcoffset() or timedelta()
        return str(moment + offset)[:16]


def _named(at: int, names: dict[str, str]) -> Cell:
    shown = {code: _(label) for code, label in names.items()}
    return lambda row: shown.get(row[at]) or row[at] or ""


def _kind(kind_at: int, campaign_at: int) -> Cell:
    """A link's message kind; a campaign's invitation link has no message."""
    shown = {code: _(label) for code, label in KIND_NAMES.items()}

    def cell(row: Any) -> str:
        kind = row[kind_at] or ("invitation" if row[campaign_at] is not None else "")
        return shown.get(kind) or kind

    return cell


def _text(at: int) -> Cell:
    return lambda row: "" if row[at] is None else str(row[at])


def _local(local: _LocalTime, at: int) -> Cell:
    return lambda row: local(row[at])


def _patient(last: int, first: int) -> Cell:
    return lambda row: f"{row[last].upper()}, {row[first]}" if row[last] is not None else ""


def _reason(at: int) -> Cell:
    return lambda row: (row[at] or "").replace("_", " ")


def cells_for(query: ReportQuery, position: dict[str, int]) -> Cells:
    """The function from a selected record (columns named by ``position``) to the row's cells."""
    local = _LocalTime(ZoneInfo(query.timezone))
    cells: list[Cell] = []
    for column in query.spec.columns:
        key = column.key
        if key in ("at", "sent"):
            cells.append(_local(local, position[key]))
        elif key == "patient":
            cells.append(_patient(position["last"], position["first"]))
        elif key == "kind":
            cells.append(_kind(position["kind"], position["campaign"]))
        elif key in ("channel", "status"):
            cells.append(_named(position[key], CHANNEL_NAMES if key == "channel" else STATUS_NAMES))
        elif key == "reason":
            cells.append(_reason(position["reason"]))
        else:
            cells.append(_text(position[key]))
    return lambda row: [cell(row) for cell in cells]


__all__ = ["Cells", "cells_for"]
