"""Patient import from the terminal app (PT-3 through TU-6): a path, progress, then the problems.

Reached from the palette (``patient: import a CSV file``) in the Patients section. The user types
the path of the EMR export and presses Enter; ``core.patients.importer.import_patients_csv`` runs
in a thread worker, in whole batches, reporting to the ``LongWork`` widget; Esc cancels after
the batch being written (what is in the database is whole batches, and the audit entry says
the import was cancelled). At the end the screen shows the counts and every problem with its
spreadsheet row number, then Esc goes back. The import is audited by the importer in the
signed-in user's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import Worker, WorkerState

from core.formatting import format_number
from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.long_work import LongWork

if TYPE_CHECKING:
    import threading

    from core.bootstrap import Accueil
    from core.patients.importer import ImportResult
    from tui.app import AccueilApp

IMPORT_GROUP = "patient-import"
BATCH_SIZE = 2_000
"""Rows per committed batch: a cancel waits for at most one batch (well under a second)."""


class ImportPatientsScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Import the patients of an EMR export (CSV, UTF-8 or Windows-1252, ',' or ';', French or English "
        "headers). Patients are matched by chart ID: new ones are added, known ones updated. Rows with problems "
        "are listed by row number and not imported. Esc cancels after the batch being written.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "import-path": N_("The full path of the CSV file on the server, e.g. /home/shared/export.csv; Enter starts."),
    }
    AUTO_FOCUS = "#import-path"
    BINDINGS = [
        Binding("escape", "back_or_cancel", N_("Back / cancel"), id="import.back", priority=True,
                tooltip=N_("While importing: stop after the batch being written. Otherwise: go back.")),
    ]
    DEFAULT_CSS = """
    ImportPatientsScreen #import-path { margin: 1 1 0 1; background: $surface; }
    ImportPatientsScreen #import-intro { padding: 0 1; color: $text-muted; }
    ImportPatientsScreen LongWork { padding: 1 1 0 1; }
    ImportPatientsScreen #import-report { height: 1fr; padding: 0 1; background: $surface; margin-top: 1; }
    """

    def __init__(self, batch_size: int = BATCH_SIZE) -> None:
        super().__init__()
        translate_bindings(self)
        self.batch_size = batch_size
        self.result: ImportResult | None = None

    def compose(self) -> ComposeResult:
        yield Static(_("Import patients from an EMR export (CSV). Type the file's path, then Enter."),
                     id="import-intro", markup=False)
        path = Input(placeholder=_("Path of the CSV file"), id="import-path", compact=True)
        path.cursor_blink = False
        yield path
        yield LongWork(_("rows"), id="import-progress")
        with VerticalScroll(id="import-report"):
            yield Static("", id="import-report-body", markup=False)
        yield KeyFooter()

    @property
    def progress(self) -> LongWork:
        return self.query_one(LongWork)

    @on(Input.Submitted, "#import-path")
    def _start(self, event: Input.Submitted) -> None:
        app = cast("AccueilApp", self.app)
        text = event.value.strip()
        if self.progress.running or app.accueil is None:
            return
        path = Path(text).expanduser()
        if not text or not path.is_file():
            self._report(_("There is no file at this path: {path}").format(path=text or "…"))
            return
        self._report("")
        event.input.disabled = True
        self._import(app.accueil, path, self.progress.start())

    @work(thread=True, exclusive=True, group=IMPORT_GROUP, exit_on_error=False, description="patient import")
    def _import(self, accueil: Accueil, path: Path, cancel: threading.Event) -> ImportResult:
        from core.patients.importer import import_patients_csv

        return import_patients_csv(accueil, path, progress=self.progress.report, cancel=cancel,
                                   batch_size=self.batch_size)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != IMPORT_GROUP or worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.progress.finish()
        self.query_one("#import-path", Input).disabled = False
        if worker.state == WorkerState.SUCCESS:
            self.result = cast("ImportResult", worker.result)
            self._report(report_text(self.result))
        elif worker.error is not None:
            self._report(_("The import stopped: {reason}").format(reason=error_text(worker.error)))

    def _report(self, text: str) -> None:
        self.query_one("#import-report-body", Static).update(text)

    def action_back_or_cancel(self) -> None:
        if self.progress.running:
            self.progress.cancel()
        else:
            self.dismiss()


def report_text(result: ImportResult) -> str:
    """The counts, then one line per problem: ``Row 12, Date of Birth: …``."""
    n = format_number
    head = (_("Import cancelled: the batches written before the cancel are in, nothing after.")
            if result.cancelled else _("Import finished."))
    lines = [head, _("{rows} rows read: {inserted} added, {updated} updated, {rejected} not imported.").format(
        rows=n(result.rows), inserted=n(result.inserted), updated=n(result.updated), rejected=n(result.rejected))]
    if result.ignored_columns:
        lines.append(_("Columns not recognised (not imported): {columns}").format(
            columns=", ".join(result.ignored_columns)))
    if result.problems:
        lines.append("")
        lines.append(_("Problems, by row of the file (the header is row 1):"))
        for problem in result.problems:
            where = (_("Row {row}, {column}").format(row=problem.row, column=problem.column) if problem.column
                     else _("Row {row}").format(row=problem.row))
            lines.append(f"{where}: {_(problem.message)}")
    return "\n".join(lines)


__all__ = ["ImportPatientsScreen", "report_text"]
