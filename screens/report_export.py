"""``ReportExportScreen``: export the report on screen to a CSV file, with a progress bar; Esc cancels.

The file name is asked first (a file in the user's home folder named after the report and its
days is offered). The export runs in a thread worker through ``core.reports.export.export_csv``,
which writes to a temporary file and renames it only when complete: Esc during the export stops
it at the next thousand rows and leaves no file. The modal dismisses with the sentence to show
(rows written, or cancelled), or None when closed before starting.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, ProgressBar, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.reports.export import ExportResult
    from core.reports.query import ReportQuery
    from tui.app import AccueilApp

EXPORT_GROUP = "report-export"


def default_path(query: ReportQuery) -> Path:
    return Path.home() / f"{query.report}-{query.date_from.isoformat()}-{query.date_to.isoformat()}.csv"


class ReportExportScreen(ModalScreen[str | None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Export every row of the report to a CSV file a spreadsheet can open. Enter starts; Esc cancels "
        "and leaves no file behind.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "export-path": N_("Where to write the file, on the clinic's server. An existing file is never replaced."),
    }
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="report_export.cancel", key_display="esc",
                tooltip=N_("Stop the export (no file is left) or close this window.")),
    ]
    DEFAULT_CSS = """
    ReportExportScreen { align: center middle; }
    #export { width: 72; height: auto; padding: 1 2; background: $panel; border: round $primary; }
    #export-path { margin: 1 0; }
    #export-progress { display: none; }
    #export-progress.running { display: block; }
    """

    def __init__(self, query: ReportQuery, rows: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.query_to_export = query
        self.rows = rows
        self.cancel_requested = threading.Event()
        self.running = False

    def compose(self) -> ComposeResult:
        spec = self.query_to_export.spec
        with Vertical(id="export"):
            yield Static(_("Export “{report}”, {first} to {last}: {rows} rows.").format(
                report=_(spec.title), first=self.query_to_export.date_from.isoformat(),
                last=self.query_to_export.date_to.isoformat(), rows=f"{self.rows:,}"), markup=False)
            path = Input(str(default_path(self.query_to_export)), id="export-path", compact=True)
            path.cursor_blink = False  # a blinking cursor is a frame a second down a slow line
            yield path
            yield ProgressBar(total=max(self.rows, 1), show_eta=False, id="export-progress")
            yield Static(_("Enter writes the file; Esc cancels."), id="export-status", markup=False)
        yield KeyFooter()

    @property
    def accueil_app(self) -> AccueilApp:
        return self.app  # type: ignore[return-value]

    @on(Input.Submitted, "#export-path")
    def _start(self, event: Input.Submitted) -> None:
        accueil = self.accueil_app.accueil
        if self.running or accueil is None or not event.value.strip():
            return
        self.running = True
        self.cancel_requested.clear()
        self.query_one("#export-path", Input).disabled = True
        self.query_one(ProgressBar).add_class("running")
        self.query_one("#export-status", Static).update(_("Writing… Esc cancels."))
        self._export(accueil, Path(event.value.strip()))

    @work(thread=True, exclusive=True, group=EXPORT_GROUP, exit_on_error=False, description="report export")
    def _export(self, accueil: Accueil, path: Path) -> ExportResult:
        from core.reports.export import export_csv

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total)

        return export_csv(accueil, self.query_to_export, path, progress=progress,
                          cancelled=self.cancel_requested.is_set)

    def _progress(self, done: int, total: int) -> None:
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != EXPORT_GROUP or worker.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self.running = False
        from core.reports.export import ExportCancelled

        if worker.state == WorkerState.SUCCESS and worker.result is not None:
            result = worker.result
            self.dismiss(_("{rows} rows written to {path}").format(rows=f"{result.rows:,}", path=result.path))
        elif isinstance(worker.error, ExportCancelled):
            self.dismiss(_("Export cancelled: no file was written."))
        elif worker.error is not None:
            self.query_one("#export-path", Input).disabled = False
            self.query_one(ProgressBar).remove_class("running")
            self.query_one("#export-path", Input).focus()
            self.query_one("#export-status", Static).update(
                _("Not exported: {reason}").format(reason=error_text(worker.error)))

    def action_cancel(self) -> None:
        if self.running:
            self.cancel_requested.set()
            self.query_one("#export-status", Static).update(_("Cancelling…"))
        else:
            self.dismiss(None)


__all__ = ["ReportExportScreen", "default_path"]
