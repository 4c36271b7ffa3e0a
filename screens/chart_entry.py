"""The patient's EMR chart entries, opened from the patient view (``c``): read a note, save a document.

Once the portal copies are purged (retention), the chart entry is the clinic's copy of what a
patient sent. Enter opens the highlighted entry: its text in a modal (audited ``chart.view`` by
``core.emr.chart_read.open_entry``). ``s`` saves a document to a path the user types (audited
``chart.export``, mode 0600); an existing file is replaced only after a yes. Decryption and file
writing run on a thread worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.emr.chart import ChartLine
    from core.emr.chart_read import ChartContent
    from tui.app import AccueilApp

GROUP = "chart-entry"


class ChartTextScreen(ModalScreen[None]):
    """One chart entry's text, read-only; Esc closes."""

    SCREEN_HELP: ClassVar[str] = N_("The text of a chart entry. Opening it is recorded in the access log. "
                                    "Esc closes.")
    BINDINGS = [Binding("escape", "close", N_("Close"), id="chart-text.close", tooltip=N_("Close this text."))]
    DEFAULT_CSS = """
    ChartTextScreen { align: center middle; }
    #chart-text { width: 76; height: 20; padding: 0 1; background: $panel; border: round $accent; }
    """

    def __init__(self, content: ChartContent) -> None:
        super().__init__()
        translate_bindings(self)
        self.content = content

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="chart-text") as box:
            box.border_title = self.content.title
            yield Static(self.content.body or _("This entry has no text."), id="chart-text-body", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#chart-text", VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ChartEntriesScreen(ModalScreen[None]):
    """Pick one of the patient's chart entries to read or to save."""

    SCREEN_HELP: ClassVar[str] = N_("The patient's EMR chart entries. Enter shows an entry's text; s saves its "
                                    "document to a file. Both are recorded in the access log. Esc closes.")
    BINDINGS = [
        Binding("enter", "open", N_("Open"), id="chart.open", priority=True, tooltip=N_("Show this entry's text.")),
        Binding("s", "save", N_("Save document"), id="chart.save", tooltip=N_("Save this entry's document to a file.")),
        Binding("escape", "close", N_("Close"), id="chart.close", tooltip=N_("Back to the record.")),
    ]
    DEFAULT_CSS = """
    ChartEntriesScreen { align: center middle; }
    #chart-entries { width: 76; height: 18; background: $panel; border: round $accent; }
    #chart-entries OptionList { height: 1fr; }
    """

    def __init__(self, entries: tuple[ChartLine, ...]) -> None:
        super().__init__()
        translate_bindings(self)
        self.entries = entries
        self._pending_path: Path | None = None

    def compose(self) -> ComposeResult:
        from core.emr.chart import KIND_NAMES

        with Vertical(id="chart-entries") as box:
            box.border_title = _("EMR chart")
            yield OptionList(*[Option(f"{_(KIND_NAMES.get(e.kind, e.kind))}  {e.title}"
                                      + (f"  ({e.document_name})" if e.document_name else ""), id=str(e.id))
                               for e in self.entries], id="chart-list")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#chart-list", OptionList).focus()

    def _highlighted(self) -> ChartLine | None:
        index = self.query_one("#chart-list", OptionList).highlighted
        return self.entries[index] if index is not None and index < len(self.entries) else None

    def _start(self, action: str, entry_id: int, value: Any = None) -> None:
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is not None:
            self._run(accueil, action, entry_id, value)

    @work(thread=True, exclusive=True, group=GROUP, exit_on_error=False, description="chart entry")
    def _run(self, accueil: Any, action: str, entry_id: int, value: Any) -> tuple[str, Any]:
        from core.emr.chart_read import export_document, open_entry

        with accueil.uow(write=True) as uow:
            if action == "open":
                return action, open_entry(uow, accueil.cipher, entry_id)
            path, overwrite = value
            return action, (entry_id, export_document(uow, accueil.cipher, entry_id, path, overwrite=overwrite))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        from core.emr.chart_read import FileAlreadyThere

        worker = event.worker
        if worker.group != GROUP:
            return
        if worker.state == WorkerState.SUCCESS:
            action, result = cast("tuple[str, Any]", worker.result)
            if action == "open":
                self.app.push_screen(ChartTextScreen(result))
            else:
                self.notify(_("Saved to {path}.").format(path=result[1]))
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            if isinstance(worker.error, FileAlreadyThere):
                self._ask_overwrite(worker)
            else:
                self.notify(error_text(worker.error), title=_("Not saved"), severity="error")

    def _ask_overwrite(self, worker: Worker[Any]) -> None:
        from screens.confirm import ConfirmScreen

        entry = self._highlighted()
        path = self._pending_path
        if entry is None or path is None:
            return

        def decided(yes: bool | None) -> None:
            if yes:
                self._start("save", entry.id, (path, True))

        self.app.push_screen(ConfirmScreen(_("{path} already exists. Replace it?").format(path=path)), decided)

    def action_open(self) -> None:
        entry = self._highlighted()
        if entry is not None:
            self._start("open", entry.id)

    def action_save(self) -> None:
        from screens.site_form import SiteFormScreen

        entry = self._highlighted()
        if entry is None:
            return
        if entry.document_name is None:
            self.notify(_("This entry has no document."), severity="warning")
            return

        def entered(values: dict[str, str] | None) -> None:
            path = (values or {}).get("path", "").strip()
            if path:
                self._pending_path = Path(path).expanduser()
                self._start("save", entry.id, (self._pending_path, False))

        default = str(Path.home() / entry.document_name)
        self.app.push_screen(SiteFormScreen(_("Save document"), [("path", _("Save to this file"), default)],
                                            note=_("The file is readable by you only. Saving it is recorded in "
                                                   "the access log.")), entered)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["ChartEntriesScreen", "ChartTextScreen"]
