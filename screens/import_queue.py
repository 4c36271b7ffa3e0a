"""The Import queue screen (EM-5): replies, forms and patient files on their way into the EMR record.

Pushed from the Messages section (``i`` on the Outbox screen, or the palette's "emr: import
queue"). One line of counts per state, the newest ``PAGE_SIZE`` items, and under the table the
highlighted item's reason (why it waits or failed) in full. ``f`` cycles the state filter, ``r``
reloads, ``t`` sends the highlighted failed item back to the queue, ``a`` (after confirmation)
every failed item, ``e`` opens the EMR settings (``screens.emr_settings``). The screen never converts or imports anything: the worker does, on its next
pass; reading and retrying run in thread workers through ``core.emr.queue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.formatting import fit
from tui.i18n import N_, translate_bindings
from tui.widgets.columns import FillColumns
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.emr.queue import QueueEntry
    from tui.app import AccueilApp

PAGE_SIZE = 200
LOAD_GROUP = "import-queue-load"
RETRY_GROUP = "import-queue-retry"

FILTERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("all", (), N_("all")),
    ("pending", ("pending", "waiting"), N_("pending")),
    ("failed", ("failed",), N_("failed")),
    ("imported", ("imported",), N_("imported")),
)
STATE_NAMES = {"pending": N_("pending"), "waiting": N_("waiting"), "imported": N_("imported"),
               "failed": N_("failed")}
COUNT_NAMES = (("pending", N_("Pending")), ("waiting", N_("Waiting")), ("imported", N_("Imported")),
               ("failed", N_("Failed")))
KIND_NAMES = {"reply": N_("reply"), "attachment": N_("file"), "form": N_("eForm")}
COLUMNS = (("id", N_("No."), 5), ("state", N_("State"), 9), ("kind", N_("Kind"), 7),
           ("attempts", N_("Tries"), 6), ("received", N_("Received"), 11))
MIN_PATIENT_WIDTH = 16
CELL_PADDING = 1
TABLE = FillColumns(COLUMNS, ("patient", N_("Patient")), MIN_PATIENT_WIDTH, CELL_PADDING)


@dataclass(frozen=True)
class QueuePage:
    filter_key: str
    entries: tuple[QueueEntry, ...]
    counts: dict[str, int]


def load_page(accueil: Accueil, filter_key: str, limit: int = PAGE_SIZE) -> QueuePage:
    """Read one page and the counts (call from a thread worker: it queries the database)."""
    from core.emr.queue import counts, list_items

    states = next(states for key, states, _label in FILTERS if key == filter_key)
    with accueil.uow() as uow:
        entries = tuple(list_items(uow.session, states=states or None, limit=limit))
        return QueuePage(filter_key, entries, counts(uow.session))


class ImportQueueScreen(Screen[None]):
    """Counts line, filter line, the items table, the highlighted item's reason."""

    SCREEN_HELP: ClassVar[str] = N_(
        "Patient replies, completed forms and files on their way into the EMR record. The worker imports "
        "them; a waiting item imports by itself once its reason is fixed (for example the document folder "
        "in the EMR settings); a failed one needs a retry once its cause is dealt with.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "import-items": N_("The newest import items first; the line below gives the highlighted item's reason."),
    }
    BINDINGS = [
        # Esc and r are left out of the footer (80 columns, French labels); F1 lists them.
        Binding("escape", "back", N_("Back"), id="imports.back", show=False, tooltip=N_("Back to the outbox.")),
        Binding("f", "next_filter", N_("Filter"), id="imports.filter",
                tooltip=N_("Show all items, or only pending, failed or imported ones.")),
        Binding("r", "refresh", N_("Refresh"), id="imports.refresh", show=False,
                tooltip=N_("Read the import queue again.")),
        Binding("t", "retry", N_("Retry"), id="imports.retry",
                tooltip=N_("Send the highlighted failed item back to the queue.")),
        Binding("a", "retry_all", N_("Retry all"), id="imports.retry_all",
                tooltip=N_("Send every failed item back to the queue, after confirmation.")),
        Binding("e", "emr_settings", N_("EMR"), id="imports.settings",
                tooltip=N_("The EMR settings: profile, notes, folder, destination, retention.")),
    ]
    DEFAULT_CSS = """
    #imports-counts, #imports-filter, #imports-reason { height: 1; padding: 0 1; color: $text-muted; }
    #import-items { height: 1fr; background: $surface; overflow-y: hidden; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.page: QueuePage | None = None
        self.filter_key = "all"

    def compose(self) -> ComposeResult:
        yield Static("", id="imports-counts", markup=False)
        yield Static(self._filter_line(), id="imports-filter", markup=False)
        yield DataTable(id="import-items", cursor_type="row", cell_padding=CELL_PADDING)
        yield Static("", id="imports-reason", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._layout_columns(self.size.width)
        self.items.focus()
        app = self.accueil_app
        if app.accueil is not None:
            self.reload()
        else:
            self._set("#imports-counts", _("Opening the clinic…"))
            app.clinic_ready_signal.subscribe(self, lambda _accueil: self.reload())

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def items(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#import-items", DataTable))

    # -- loading and retrying -----------------------------------------------------------------
    def reload(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._load(accueil, self.filter_key)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="import queue page")
    def _load(self, accueil: Accueil, filter_key: str) -> QueuePage:
        return load_page(accueil, filter_key)

    @work(thread=True, exclusive=True, group=RETRY_GROUP, exit_on_error=False, description="import retry")
    def _retry(self, accueil: Accueil, item_id: int | None) -> int:
        from core.emr.queue import retry_failed, retry_item

        with accueil.uow(write=True) as uow:
            if item_id is None:
                return retry_failed(uow)
            retry_item(uow, item_id)
            return 1

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == LOAD_GROUP:
            if worker.state == WorkerState.SUCCESS:
                page = cast("QueuePage", worker.result)
                if page.filter_key == self.filter_key:
                    self._show(page)
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self._set("#imports-counts",
                          _("The import queue cannot be read: {reason}").format(reason=error_text(worker.error)))
        elif worker.group == RETRY_GROUP:
            if worker.state == WorkerState.SUCCESS:
                self.notify(_("{count} item(s) back in the queue; the worker imports them on its next pass.")
                            .format(count=worker.result))
                self.reload()
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self.notify(error_text(worker.error), title=_("Not retried"), severity="error")

    def _show(self, page: QueuePage) -> None:
        unchanged = self.page is not None and self.page.entries == page.entries
        self.page = page
        self._set("#imports-counts", counts_line(page.counts))
        self._set("#imports-filter", self._filter_line())
        if not unchanged:
            self._fill_rows(cursor_row=self.items.cursor_row)
        self._show_reason()

    def _filter_line(self) -> str:
        label = next(label for key, _states, label in FILTERS if key == self.filter_key)
        line = _("Showing: {filter}").format(filter=_(label))
        if self.page is not None:
            line += " · " + _("{count} listed").format(count=len(self.page.entries))
        return line

    def _set(self, selector: str, text: str) -> None:
        widget = self.query_one(selector, Static)
        if str(widget.content) != text:
            widget.update(text)

    # -- the table ----------------------------------------------------------------------------
    def on_resize(self) -> None:
        if self._layout_columns(self.size.width):
            self._fill_rows(cursor_row=self.items.cursor_row)

    def _widths(self, width: int) -> list[int]:
        return TABLE.widths(width)

    def _layout_columns(self, width: int) -> bool:
        return TABLE.lay_out(self.items, width)

    def _fill_rows(self, *, cursor_row: int) -> None:
        table = self.items
        table.clear()
        if self.page is None:
            return
        widths = self._widths(self.size.width)
        local = self.accueil_app.clock.local
        for entry in self.page.entries:
            cells = (str(entry.id), _(STATE_NAMES.get(entry.state, entry.state)),
                     _(KIND_NAMES.get(entry.kind, entry.kind)), str(entry.attempts),
                     local(entry.created_at).strftime("%m-%d %H:%M"), f"{entry.patient_name} ({entry.chart_id})")
            table.add_row(*(fit(cell, w) for cell, w in zip(cells, widths, strict=True)), key=str(entry.id))
        if table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1), animate=False)

    @on(DataTable.RowHighlighted, "#import-items")
    def _highlighted(self) -> None:
        self._show_reason()

    def _show_reason(self) -> None:
        entry = self.highlighted_entry()
        text = ""
        if entry is not None and entry.reason:
            text = _("Reason: {reason}").format(reason=_(entry.reason))
        elif entry is not None and entry.imported_at is not None:
            text = _("Imported {when}").format(
                when=self.accueil_app.clock.local(entry.imported_at).strftime("%Y-%m-%d %H:%M"))
        self._set("#imports-reason", text)

    def highlighted_entry(self) -> QueueEntry | None:
        table = self.items
        if self.page is None or table.row_count == 0:
            return None
        row_key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        return next((e for e in self.page.entries if str(e.id) == row_key.value), None)

    # -- actions ------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        self.reload()

    def action_next_filter(self) -> None:
        keys = [key for key, _states, _label in FILTERS]
        self.show_filter(keys[(keys.index(self.filter_key) + 1) % len(keys)])

    def show_filter(self, filter_key: str) -> None:
        self.filter_key = filter_key
        self._set("#imports-filter", self._filter_line())
        self.reload()

    def action_retry(self) -> None:
        entry = self.highlighted_entry()
        accueil = self.accueil_app.accueil
        if entry is None or accueil is None:
            return
        if entry.state != "failed":
            self.notify(_("Only a failed item can be retried."), severity="warning")
            return
        self._retry(accueil, entry.id)

    def action_emr_settings(self) -> None:
        from screens.emr_settings import EmrSettingsScreen

        self.app.push_screen(EmrSettingsScreen(), lambda _result: self.reload())

    def action_retry_all(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is None or self.page is None:
            return
        failed = self.page.counts.get("failed", 0)
        if not failed:
            self.notify(_("No failed item to retry."), severity="information")
            return
        from screens.confirm import ConfirmScreen

        def decided(retry: bool | None) -> None:
            if retry:
                self._retry(accueil, None)

        self.app.push_screen(ConfirmScreen(_("Send the {count} failed item(s) back to the import queue?")
                                           .format(count=failed)), decided)


def counts_line(counts: dict[str, int]) -> str:
    return " · ".join(f"{_(label)} {counts.get(state, 0)}" for state, label in COUNT_NAMES)


__all__ = ["ImportQueueScreen", "QueuePage", "counts_line", "load_page"]
