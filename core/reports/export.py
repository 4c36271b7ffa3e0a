"""A report to a CSV file (RP-2): RFC 4180, safe to open in a spreadsheet, never half written.

Quoting is RFC 4180's (a field holding a comma, a double quote, CR or LF is quoted, quotes
doubled, CRLF line ends); the file starts with a UTF-8 byte-order mark so that Excel, which the
clinic will open it with, reads accents right. A cell that starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return is prefixed with ``'``: a spreadsheet would otherwise run it as a
formula (CSV injection; a patient's name is typed by the patient's clinic, an EMR user's name is
not ours either).

The rows go to a temporary file beside the target, which is renamed over it only once complete:
a cancelled or failed export leaves no file behind. The file is readable by its owner only
(it holds patient names). Each finished export is one audit entry: who, which report, which
days, which filters and how many rows; never the patients themselves.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from core import audit
from core.errors import InvalidInput
from core.i18n import _
from core.reports.query import ReportQuery, count, iter_cells

if TYPE_CHECKING:
    from core.bootstrap import Accueil

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # the same test, as a set look-up on the first character
PROGRESS_EVERY = 1000


class ExportCancelled(Exception):
    """Raised inside the export when ``cancelled()`` says stop; nothing is left on disk."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet will show it, never run it."""
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def safe_cells(cells: list[str]) -> list[str]:
    """``safe_cell`` on every cell of a row, inline (this runs for every row of an export)."""
    return ["'" + text if text[:1] in _FORMULA_FIRST else text for text in cells]


def header(query: ReportQuery) -> list[str]:
    return [safe_cell(_(column.title)) for column in query.spec.columns]


def audit_detail(query: ReportQuery, rows: int) -> dict[str, object]:
    """What the audit trail keeps of a report read: no patient data (a search text could be a name)."""
    return {"report": query.report, "from": query.date_from.isoformat(), "to": query.date_to.isoformat(),
            "rows": rows, "sender_id": query.sender_id, "provider_id": query.provider_id,
            "searched": bool(query.search.strip())}


def export_csv(app: Accueil, query: ReportQuery, path: Path, *, overwrite: bool = False,
               progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None,
               limit: int | None = None) -> ExportResult:
    """Write every row of ``query`` (at most ``limit``) to ``path``; ``progress(done, total)`` as it goes.

    Raises ``ExportCancelled`` when ``cancelled()`` turns true (checked every thousand rows).
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise InvalidInput("That is a folder: give a file name.")
    if not path.parent.is_dir():
        raise InvalidInput("The folder for the file does not exist.")
    if path.exists() and not overwrite:
        raise InvalidInput("A file with that name exists already: choose another name.")
    query.bounds()  # a bad range is refused before any file is made
    done = 0
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="") as handle, app.uow() as uow:
            total = count(uow.session, query)
            total = min(total, limit) if limit is not None else total
            writer = csv.writer(handle, dialect="excel", lineterminator="\r\n")
            writer.writerow(header(query))
            for cells in iter_cells(uow.session, query, limit=limit):
                writer.writerow(safe_cells(cells))
                done += 1
                if done % PROGRESS_EVERY == 0:
                    if progress is not None:
                        progress(done, max(total, done))
                    if cancelled is not None and cancelled():
                        raise ExportCancelled
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _audit_export(app, query, done)
    if progress is not None:
        progress(done, done)
    return ExportResult(path, done)


def export_to_stream(app: Accueil, query: ReportQuery, stream: TextIO) -> int:
    """The same CSV on an open text stream (``accueil report`` without ``--csv``: standard output)."""
    query.bounds()
    writer = csv.writer(stream, dialect="excel", lineterminator="\r\n")
    writer.writerow(header(query))
    done = 0
    with app.uow() as uow:
        for cells in iter_cells(uow.session, query):
            writer.writerow(safe_cells(cells))
            done += 1
    _audit_export(app, query, done)
    return done


def _audit_export(app: Accueil, query: ReportQuery, rows: int) -> None:
    with app.uow(write=True) as uow:
        audit.record(uow.session, actor=uow.actor, action="report.export", detail=audit_detail(query, rows))
        uow.commit()


__all__ = ["FORMULA_STARTS", "ExportCancelled", "ExportResult", "audit_detail", "export_csv", "export_to_stream", "header",
           "safe_cell", "safe_cells"]
