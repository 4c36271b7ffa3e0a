"""The Outbox screen (MS-5): what the worker has sent, is sending, gave up on or is unsure of.

The Messages section's base screen. It lists the newest ``PAGE_SIZE`` outbox items (never the
whole table: a clinic's outbox grows by thousands a week) with one line of counts per state
above them; ``f`` cycles the state filter, ``r`` reloads (there is no periodic refresh: an idle
screen sends nothing down a slow line). The highlighted item's last error is shown in full on the
line under the table (80 columns leave no room for it in a column beside the recipient). Enter opens the email as delivered to the local mailbox (``screens.email_view``); for
an ``uncertain`` item ``s`` asks for confirmation and then calls
``core.outbox.staff.requeue_uncertain``, the one staff decision the worker never takes alone.

Loading runs in a thread worker through ``core.outbox.staff``; the recipient of each email item
is read from its payload's plain ``to`` field (the content itself stays encrypted).
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
    from collections.abc import Callable
    from datetime import datetime

    from core.bootstrap import Accueil
    from core.outbox.staff import OutboxEntry
    from tui.app import AccueilApp

PAGE_SIZE = 200
LOAD_GROUP = "outbox-load"
RESEND_GROUP = "outbox-resend"

# The filter's steps, in the order ``f`` cycles them: (key, the states it shows, label).
FILTERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("all", (), N_("all")),
    ("pending", ("pending",), N_("pending")),
    ("failed", ("failed",), N_("failed")),
    ("uncertain", ("uncertain",), N_("uncertain")),
    ("sent", ("sent",), N_("sent")),
)
STATE_NAMES = {"pending": N_("pending"), "claimed": N_("sending"), "transmitting": N_("sending"),
               "sent": N_("sent"), "failed": N_("failed"), "uncertain": N_("uncertain")}
# The counts line: claimed and transmitting are one "sending" figure for the front desk.
COUNTED = (("pending", ("pending",)), ("sending", ("claimed", "transmitting")), ("sent", ("sent",)),
           ("failed", ("failed",)), ("uncertain", ("uncertain",)))
COUNT_NAMES = {"pending": N_("Pending"), "sending": N_("Sending"), "sent": N_("Sent"), "failed": N_("Failed"),
               "uncertain": N_("Uncertain")}
KIND_NAMES = {"email": N_("email"), "push": N_("push")}
COLUMNS = (("id", N_("No."), 5), ("state", N_("State"), 10), ("attempts", N_("Tries"), 6),
           ("next", N_("Next try"), 11), ("kind", N_("Kind"), 8))
MIN_RECIPIENT_WIDTH = 20
CELL_PADDING = 1
TABLE = FillColumns(COLUMNS, ("recipient", N_("Recipient")), MIN_RECIPIENT_WIDTH, CELL_PADDING)


@dataclass(frozen=True)
class OutboxPage:
    """One load: the listed items (newest first) and the counts."""

    filter_key: str
    entries: tuple[OutboxEntry, ...]
    counts: dict[str, int]


def load_page(accueil: Accueil, filter_key: str, limit: int = PAGE_SIZE) -> OutboxPage:
    """Read one page and the counts (call from a thread worker: it queries the database)."""
    from core.outbox.staff import counts, list_items

    states = next(states for key, states, _label in FILTERS if key == filter_key)
    entries = tuple(list_items(accueil, states=states or None, limit=limit))
    return OutboxPage(filter_key, entries, counts(accueil))


class OutboxScreen(Screen[None]):
    """Counts line, the items table, the highlighted item's error line."""

    SCREEN_HELP: ClassVar[str] = N_(
        "The outbox holds every email waiting to leave the clinic or already sent. The worker sends "
        "them; this screen shows where each one is. An uncertain item may or may not have reached "
        "the patient: check with them before sending it again.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "outbox-items": N_("The newest outbox items first. Enter opens the email as the patient received it."),
    }
    BINDINGS = [
        # Priority: the table, which has the focus, would otherwise take Enter for itself.
        Binding("enter", "open_item", N_("Open"), id="outbox.open", priority=True,
                tooltip=N_("Show the highlighted email as the patient's mail client would.")),
        Binding("f", "next_filter", N_("Filter"), id="outbox.filter",
                tooltip=N_("Show all items, or only pending, failed, uncertain or sent ones.")),
        Binding("r", "refresh", N_("Refresh"), id="outbox.refresh",
                tooltip=N_("Read the outbox again.")),
        Binding("s", "resend", N_("Resend"), id="outbox.resend",
                tooltip=N_("Send an uncertain item again, after confirmation.")),
        Binding("i", "import_queue", N_("Imports"), id="outbox.imports",
                tooltip=N_("The EMR import queue: patient replies and files on their way into the record.")),
        # Not in the footer (80 columns, French): F1 help and the palette list them.
        Binding("t", "app.templates", N_("Templates"), id="outbox.templates", show=False,
                tooltip=N_("The message templates: create, edit, copy, delete.")),
        Binding("a", "app.fix_addresses", N_("Addresses"), id="outbox.addresses", show=False,
                tooltip=N_("Patients whose email address bounced: fix them and send again.")),
    ]
    DEFAULT_CSS = """
    #outbox-counts, #outbox-filter, #outbox-error { height: 1; padding: 0 1; color: $text-muted; }
    #outbox-items { height: 1fr; background: $surface; overflow-y: hidden; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.page: OutboxPage | None = None
        self.filter_key = "all"

    def compose(self) -> ComposeResult:
        yield Static("", id="outbox-counts", markup=False)
        yield Static(self._filter_line(), id="outbox-filter", markup=False)
        table: DataTable[str] = DataTable(id="outbox-items", cursor_type="row", cell_padding=CELL_PADDING)
        yield table
        yield Static("", id="outbox-error", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._layout_columns(self.size.width)
        self.items.focus()
        app = self.accueil_app
        if app.accueil is not None:
            self.reload()
        else:
            self._set(self.query_one("#outbox-counts", Static), _("Opening the clinic…"))
            app.clinic_ready_signal.subscribe(self, lambda _accueil: self.reload())

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def items(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#outbox-items", DataTable))

    # -- loading ---------------------------------------------------------------------------
    def reload(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._load(accueil, self.filter_key)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="outbox page")
    def _load(self, accueil: Accueil, filter_key: str) -> OutboxPage:
        return load_page(accueil, filter_key)

    @work(thread=True, exclusive=True, group=RESEND_GROUP, exit_on_error=False, description="outbox resend")
    def _resend(self, accueil: Accueil, item_id: int) -> int:
        from core.outbox.staff import requeue_uncertain

        requeue_uncertain(accueil, item_id)
        return item_id

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == LOAD_GROUP:
            if worker.state == WorkerState.SUCCESS:
                page = cast("OutboxPage", worker.result)
                if page.filter_key == self.filter_key:  # else the filter changed since: stale
                    self._show(page)
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self._set(self.query_one("#outbox-counts", Static),
                          _("The outbox cannot be read: {reason}").format(reason=error_text(worker.error)))
        elif worker.group == RESEND_GROUP:
            if worker.state == WorkerState.SUCCESS:
                self.notify(_("Item {number} will be sent again.").format(number=worker.result))
                self.reload()
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self.notify(error_text(worker.error), title=_("Not sent again"), severity="error")

    def _show(self, page: OutboxPage) -> None:
        unchanged = self.page is not None and self.page.entries == page.entries
        self.page = page
        self._set(self.query_one("#outbox-counts", Static), counts_line(page.counts))
        self._set(self.query_one("#outbox-filter", Static), self._filter_line())
        if not unchanged:
            self._fill_rows(cursor_row=self.items.cursor_row)
        self._show_error_line()

    def _filter_line(self) -> str:
        label = next(label for key, _states, label in FILTERS if key == self.filter_key)
        shown = len(self.page.entries) if self.page is not None else 0
        line = _("Showing: {filter}").format(filter=_(label))
        if self.page is not None:
            line += " · " + (_("newest {count}").format(count=shown) if shown >= PAGE_SIZE
                             else _("{count} listed").format(count=shown))
        return line

    @staticmethod
    def _set(widget: Static, text: str) -> None:
        if str(widget.content) != text:  # an unchanged line is not sent again
            widget.update(text)

    # -- the table -------------------------------------------------------------------------
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
        clock = self.accueil_app.clock
        for entry in self.page.entries:
            cells = entry_cells(entry, entry.recipient or "", clock.local)
            table.add_row(*(fit(cell, w) for cell, w in zip(cells, widths, strict=True)), key=str(entry.id))
        if table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1), animate=False)

    @on(DataTable.RowHighlighted, "#outbox-items")
    def _highlighted(self) -> None:
        self._show_error_line()

    def _show_error_line(self) -> None:
        entry = self.highlighted_entry()
        text = ""
        if entry is not None and entry.last_error:
            text = _("Last error: {error}").format(error=entry.last_error)
        self._set(self.query_one("#outbox-error", Static), text)

    def highlighted_entry(self) -> OutboxEntry | None:
        table = self.items
        if self.page is None or table.row_count == 0:
            return None
        row_key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        return next((e for e in self.page.entries if str(e.id) == row_key.value), None)

    # -- actions ---------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.reload()

    def action_next_filter(self) -> None:
        keys = [key for key, _states, _label in FILTERS]
        self.show_filter(keys[(keys.index(self.filter_key) + 1) % len(keys)])

    def show_filter(self, filter_key: str) -> None:
        self.filter_key = filter_key
        self._set(self.query_one("#outbox-filter", Static), self._filter_line())
        self.reload()

    def action_open_item(self) -> None:
        entry = self.highlighted_entry()
        if entry is None:
            return
        from screens.email_view import EmailViewScreen

        self.app.push_screen(EmailViewScreen(entry.id))

    def action_import_queue(self) -> None:
        from screens.import_queue import ImportQueueScreen

        self.app.push_screen(ImportQueueScreen())

    def action_resend(self) -> None:
        entry = self.highlighted_entry()
        accueil = self.accueil_app.accueil
        if entry is None or accueil is None:
            return
        if entry.state != "uncertain":
            self.notify(_("Only an uncertain item can be sent again."), severity="warning")
            return
        from screens.confirm import ConfirmScreen

        question = _("Item {number} may already have reached the patient. Send it again?").format(number=entry.id)

        def decided(resend: bool | None) -> None:
            if resend:
                self._resend(accueil, entry.id)

        self.app.push_screen(ConfirmScreen(question), decided)


def counts_line(counts: dict[str, int]) -> str:
    return " · ".join(f"{_(COUNT_NAMES[name])} {sum(counts.get(s, 0) for s in states)}" for name, states in COUNTED)


def entry_cells(entry: OutboxEntry, recipient: str, local: Callable[[datetime], datetime]) -> tuple[str, ...]:
    waiting = entry.state == "pending"
    return (
        str(entry.id),
        _(STATE_NAMES.get(entry.state, entry.state)),
        str(entry.attempts),
        local(entry.next_try_at).strftime("%m-%d %H:%M") if waiting else "",
        _(KIND_NAMES[entry.kind]) if entry.kind in KIND_NAMES else entry.kind,
        recipient,
    )

__all__ = ["OutboxPage", "OutboxScreen", "counts_line", "load_page"]
