"""The Reports section (RP-1, RP-2): pick a report and its days, filter, read its rows a page at a time.

Three compact lines of controls (report and date range; custom dates and patient search; sender
and provider), the report's description (what one row is), the daily-count chart with its caption,
the rows and a status line. The table never holds more than one page (``PAGE_SIZE`` rows read
by keyset from ``core.reports``): ``n`` and ``p`` move between pages, ``s`` and ``o`` change the
order, ``e`` exports every row to CSV (``screens.report_export``). Every read runs in a thread
worker (first page and total, then the daily counts: the rows show without waiting for the
chart); a result for a report, range or filter the screen no longer shows is dropped.

Audit: reading a report is a view of patient data (it lists patients by name). One entry per
*view* opened: report, days, sender, provider and patient search (``service.view_key``); pages
and another order re-read the same view and write nothing. The search reads only once typing has
settled (``SEARCH_SETTLE`` s without a key) or on Enter: "cote" typed is one read and one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Select, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from core.reports.definitions import BY_NAME, PRESETS, REPORTS, preset_range
from tui.errors import error_text
from tui.formatting import fit
from tui.i18n import N_, translate_bindings
from tui.widgets.daily_chart import DailyChart
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.reports.query import DailyCount, ReportPage, ReportQuery
    from core.reports.service import FilterChoices, ReportView, ViewKey
    from tui.app import AccueilApp

PAGE_SIZE = 100
SEARCH_SETTLE = 0.4  # seconds without a key in the search box before the report is read again
LOAD_GROUP, PAGE_GROUP, CHOICES_GROUP, CHART_GROUP = "report-load", "report-page", "report-choices", "report-chart"
CELL_PADDING = 1
SHORT_DATE = len("03-10 09:00")
# Columns narrowed (to these widths at most) when the terminal is too narrow for all of them; beyond
# that the table scrolls sideways (← →) rather than cut a patient's name to nothing.
SHRINKABLE = {"patient": 16, "form": 14, "sender": 10, "provider": 10, "campaign": 12, "reason": 10}


@dataclass(frozen=True)
class Charted:
    query: ReportQuery
    daily: tuple[DailyCount, ...]


class ReportsScreen(Screen[None]):
    """The Reports section's base screen."""

    AUTO_FOCUS = "#report-rows"
    SCREEN_HELP: ClassVar[str] = N_(
        "Reports count what happened to messages, forms and campaigns, one row per fact. Pick a report "
        "and its days, filter by sender, provider or patient; the chart shows the count per day.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "report-name": N_("Which report: its description under the filters says exactly what one row is."),
        "report-range": N_("Which days: today, the last 7 or 30 days, this month, or your own dates."),
        "report-from": N_("First day (YYYY-MM-DD); Enter applies a custom range."),
        "report-to": N_("Last day, included (YYYY-MM-DD); Enter applies a custom range."),
        "report-search": N_("Only the patients whose chart ID or name starts with what you type."),
        "report-rows": N_("One page of the report's rows; n and p move between pages, ← and → show the "
                          "columns on the right."),
    }
    BINDINGS = [
        Binding("e", "export", N_("Export"), id="reports.export",
                tooltip=N_("Write every row of this report to a CSV file.")),
        Binding("s", "next_sort", N_("Sort"), id="reports.sort",
                tooltip=N_("Sort by the next column that can be sorted (date, chart, patient, sender…).")),
        Binding("o", "reverse", N_("Order"), id="reports.reverse", show=False,
                tooltip=N_("Reverse the order: newest or oldest first, A to Z or Z to A.")),
        Binding("n", "next_page", N_("Next page"), id="reports.next_page",
                tooltip=N_("Show the next page of rows.")),
        Binding("p", "previous_page", N_("Previous page"), id="reports.previous_page", show=False,
                tooltip=N_("Show the previous page of rows.")),
        Binding("slash", "search", N_("Search"), id="reports.search", key_display="/", show=False,
                tooltip=N_("Type a chart ID or a patient's name to keep only their rows.")),
    ]

    DEFAULT_CSS = """
    .report-controls { height: 1; padding: 0 1; }
    .report-label { width: auto; padding: 0 1 0 0; color: $text-muted; }
    #report-name { width: 46; margin-right: 2; }
    #report-range { width: 1fr; }
    #report-from, #report-to { width: 12; margin-right: 1; }
    #report-search { width: 1fr; margin-left: 1; }
    #report-sender { width: 1fr; margin-right: 2; }
    #report-provider { width: 1fr; }
    #report-description { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    #report-chart { margin: 0 1; }
    #report-caption, #report-status { height: 1; padding: 0 1; color: $text-muted; }
    #report-rows { height: 1fr; background: $surface; overflow-y: hidden; scrollbar-size-horizontal: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.query_state: ReportQuery | None = None
        self.total = 0
        self.page: ReportPage | None = None
        self.page_starts: list[tuple[object, ...] | None] = [None]  # the cursor that opened each page seen
        self.audited_view: ViewKey | None = None  # the view the last audit entry was written for
        self.charted_view: ViewKey | None = None  # the view whose daily counts are shown or being read
        self.search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        today = self.accueil_app.clock.today()
        first, last = preset_range("last30", today)
        with Horizontal(classes="report-controls"):
            yield Select([(_(spec.title), spec.name) for spec in REPORTS], value=REPORTS[0].name,
                         allow_blank=False, compact=True, id="report-name")
            yield Select([(_(label), key) for key, label in PRESETS], value="last30", allow_blank=False,
                         compact=True, id="report-range")
        with Horizontal(classes="report-controls"):
            yield Static(_("From"), classes="report-label")
            yield Input(first.isoformat(), compact=True, id="report-from", max_length=10)
            yield Static(_("to"), classes="report-label")
            yield Input(last.isoformat(), compact=True, id="report-to", max_length=10)
            yield Input(placeholder=_("Chart ID or patient name"), compact=True, id="report-search")
        with Horizontal(classes="report-controls"):
            yield Select([], prompt=_("All senders"), compact=True, id="report-sender")
            yield Select([], prompt=_("All providers"), compact=True, id="report-provider")
        yield Static(_(REPORTS[0].description), id="report-description", markup=False)
        yield DailyChart(id="report-chart")
        yield Static("", id="report-caption", markup=False)
        yield DataTable(id="report-rows", cursor_type="row", cell_padding=CELL_PADDING)
        yield Static(_("Opening the clinic…"), id="report-status", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False  # a blinking cursor is a frame a second down a slow line
        app = self.accueil_app
        if app.accueil is not None:
            self._clinic_ready(app.accueil)
        else:
            app.clinic_ready_signal.subscribe(self, self._clinic_ready)

    def _clinic_ready(self, accueil: Accueil) -> None:
        self._load_choices(accueil)
        self.reload(force=True)

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def rows_table(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#report-rows", DataTable))

    # -- the query the controls describe ----------------------------------------------------
    def _current_query(self) -> ReportQuery | None:
        from core.reports.query import ReportQuery

        try:
            first = date.fromisoformat(self.query_one("#report-from", Input).value.strip())
            last = date.fromisoformat(self.query_one("#report-to", Input).value.strip())
        except ValueError:
            self._status(_("Dates are written YYYY-MM-DD, for example 2025-03-10."))
            return None
        if first > last:
            self._status(_("The start date is after the end date."))
            return None
        sender = self.query_one("#report-sender", Select).value
        provider = self.query_one("#report-provider", Select).value
        previous = self.query_state
        name = str(self.query_one("#report-name", Select).value)
        sort, descending = ("at", True)
        if previous is not None and previous.report == name:
            sort, descending = previous.sort, previous.descending
        return ReportQuery(name, first, last, timezone=self.accueil_app.settings.timezone,
                           sender_id=sender if isinstance(sender, int) else None,
                           provider_id=provider if isinstance(provider, int) else None,
                           search=self.query_one("#report-search", Input).value, sort=sort, descending=descending)

    def reload(self, query: ReportQuery | None = None, *, force: bool = False) -> None:
        accueil = self.accueil_app.accueil
        query = query or self._current_query()
        if accueil is None or query is None or (query == self.query_state and not force):
            return  # the same report again (a control set to the value it had): not read twice
        from core.reports.service import view_key

        self.query_state = query
        self.page_starts = [None]
        self.workers.cancel_group(self, PAGE_GROUP)  # a page of the report shown before is not wanted
        self._status(_("Reading the report…"))
        key = view_key(query)
        audit_view = key != self.audited_view  # the same rows in another order: already audited
        self.audited_view = key
        self._open(accueil, query, audit_view)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="open report")
    def _open(self, accueil: Accueil, query: ReportQuery, audit_view: bool) -> ReportView:
        from core.reports.service import open_report

        return open_report(accueil, query, limit=PAGE_SIZE, audit_view=audit_view)

    @work(thread=True, exclusive=True, group=CHART_GROUP, exit_on_error=False, description="report chart")
    def _chart(self, accueil: Accueil, query: ReportQuery) -> Charted:
        """The count per day, read once the rows are shown (they come first)."""
        from core.reports.query import daily_counts

        with accueil.uow() as uow:
            return Charted(query, tuple(daily_counts(uow.session, query)))

    @work(thread=True, exclusive=True, group=PAGE_GROUP, exit_on_error=False, description="report page")
    def _read_page(self, accueil: Accueil, query: ReportQuery,
                   after: tuple[object, ...] | None) -> tuple[ReportQuery, ReportPage]:
        from core.reports.service import next_page

        return query, next_page(accueil, query, after, limit=PAGE_SIZE)

    @work(thread=True, exclusive=True, group=CHOICES_GROUP, exit_on_error=False, description="report filters")
    def _load_choices(self, accueil: Accueil) -> FilterChoices:
        from core.reports.service import filter_choices

        return filter_choices(accueil)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR and worker.error is not None and worker.group in (
                LOAD_GROUP, PAGE_GROUP, CHOICES_GROUP, CHART_GROUP):
            if worker.group in (LOAD_GROUP, CHART_GROUP):  # not read: the next read of it audits/charts
                self.audited_view, self.charted_view = None, None
            self._status(_("The report cannot be read: {reason}").format(reason=error_text(worker.error)))
        if worker.state != WorkerState.SUCCESS:
            return
        from core.reports.service import view_key

        if worker.group == LOAD_GROUP:
            view = cast("ReportView", worker.result)
            if view.query == self.query_state:
                self.total = view.total
                self._show_page(view.first_page)
                if view_key(view.query) != self.charted_view and self.accueil_app.accueil is not None:
                    self.charted_view = view_key(view.query)  # another order of the same rows keeps its chart
                    self.call_after_refresh(self._chart, self.accueil_app.accueil, view.query)  # rows painted first
        elif worker.group == CHART_GROUP:
            charted = cast("Charted", worker.result)
            if self.query_state is not None and view_key(charted.query) == view_key(self.query_state):
                self._show_chart(charted.daily)
        elif worker.group == PAGE_GROUP:
            query, page = cast("tuple[ReportQuery, ReportPage]", worker.result)
            if query == self.query_state:
                self._show_page(page)
        elif worker.group == CHOICES_GROUP:
            choices = cast("FilterChoices", worker.result)
            self.query_one("#report-sender", Select).set_options([(c.name, c.id) for c in choices.senders])
            self.query_one("#report-provider", Select).set_options([(c.name, c.id) for c in choices.providers])

    # -- showing -----------------------------------------------------------------------------
    def _show_chart(self, daily: tuple[DailyCount, ...]) -> None:
        self.query_one(DailyChart).show([d.count for d in daily])
        caption = ""
        if daily:
            peak = max(daily, key=lambda d: d.count)
            caption = _("Per day, {first} to {last}: {total} in all, at most {peak} ({day})").format(
                first=daily[0].day.isoformat(), last=daily[-1].day.isoformat(),
                total=f"{sum(d.count for d in daily):,}",
                peak=f"{peak.count:,}", day=peak.day.isoformat())
        self.query_one("#report-caption", Static).update(caption)

    def _show_page(self, page: ReportPage) -> None:
        query = self.query_state
        if query is None:
            return
        self.page = page
        spec = query.spec
        table = self.rows_table
        table.clear(columns=True)
        # Within one year the year says nothing: the date column drops it and the room goes to names.
        short_dates = query.date_from.year == query.date_to.year
        widths = self._widths(self.size.width, short_dates)
        for column, width in zip(spec.columns, widths, strict=True):
            arrow = (" ↓" if query.descending else " ↑") if column.key == query.sort else ""
            table.add_column(fit(_(column.title) + arrow, width), width=width, key=column.key)
        for number, row in enumerate(page.rows):
            cells = [cell[5:] if short_dates and column.key == "at" else cell
                     for column, cell in zip(spec.columns, row.cells, strict=True)]
            table.add_row(*(fit(cell, w) for cell, w in zip(cells, widths, strict=True)), key=str(number))
        self.query_one("#report-description", Static).update(_(spec.description))
        first = (len(self.page_starts) - 1) * PAGE_SIZE
        if not page.rows:
            self._status(_("No rows for these days and filters."))
        else:
            self._status(_("Rows {first}–{last} of {total}").format(
                first=f"{first + 1:,}", last=f"{first + len(page.rows):,}", total=f"{self.total:,}"))

    def _widths(self, width: int, short_dates: bool) -> list[int]:
        assert self.query_state is not None
        columns = self.query_state.spec.columns
        widths = [SHORT_DATE if short_dates and column.key == "at" else column.width for column in columns]
        spare = width - sum(widths) - 2 * CELL_PADDING * len(widths)
        shrink = [i for i, column in enumerate(columns) if column.key in SHRINKABLE]
        while spare < 0 and shrink:
            widest = max(shrink, key=lambda i: widths[i] - SHRINKABLE[columns[i].key])
            if widths[widest] <= SHRINKABLE[columns[widest].key]:
                break
            widths[widest] -= 1
            spare += 1
        return widths

    def _status(self, text: str) -> None:
        self.query_one("#report-status", Static).update(text)

    def on_resize(self) -> None:
        if self.page is not None:
            self._show_page(self.page)

    # -- controls ------------------------------------------------------------------------------
    @on(Select.Changed, "#report-range")
    def _range_changed(self, event: Select.Changed) -> None:
        if event.value == "custom":
            self.query_one("#report-from", Input).focus()
            return
        first, last = preset_range(str(event.value), self.accueil_app.clock.today())
        self.query_one("#report-from", Input).value = first.isoformat()
        self.query_one("#report-to", Input).value = last.isoformat()
        self.reload()

    @on(Input.Submitted, "#report-from, #report-to")
    def _dates_typed(self) -> None:
        self.query_one("#report-range", Select).value = "custom"
        self.reload()

    @on(Select.Changed, "#report-name, #report-sender, #report-provider")
    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Changed, "#report-search")
    def _search_changed(self) -> None:
        """Read again once typing settles: not a read (nor an audit entry) per key."""
        if self.search_timer is not None:
            self.search_timer.stop()
        self.search_timer = self.set_timer(SEARCH_SETTLE, self._search_settled)

    @on(Input.Submitted, "#report-search")
    def _search_settled(self) -> None:
        if self.search_timer is not None:
            self.search_timer.stop()
            self.search_timer = None
        self.reload()

    # -- actions ---------------------------------------------------------------------------------
    def action_next_page(self) -> None:
        accueil, query = self.accueil_app.accueil, self.query_state
        if accueil is None or query is None or self.page is None or self.page.next_key is None:
            return
        self.page_starts.append(self.page.next_key)
        self._read_page(accueil, query, self.page.next_key)

    def action_previous_page(self) -> None:
        accueil, query = self.accueil_app.accueil, self.query_state
        if accueil is None or query is None or len(self.page_starts) < 2:
            return
        self.page_starts.pop()
        self._read_page(accueil, query, self.page_starts[-1])

    def action_next_sort(self) -> None:
        query = self.query_state
        if query is None:
            return
        keys = [column.key for column in query.spec.columns if column.sortable]
        sort = keys[(keys.index(query.sort) + 1) % len(keys)] if query.sort in keys else keys[0]
        self.reload(replace(query, sort=sort, descending=sort == "at"))

    def action_reverse(self) -> None:
        if self.query_state is not None:
            self.reload(replace(self.query_state, descending=not self.query_state.descending))

    def action_search(self) -> None:
        self.query_one("#report-search", Input).focus()

    def action_export(self) -> None:
        query = self.query_state
        if query is None or self.accueil_app.accueil is None:
            return
        from screens.report_export import ReportExportScreen

        def finished(message: str | None) -> None:
            if message:
                self.notify(message, title=_("Export"))

        self.app.push_screen(ReportExportScreen(query, self.total), finished)

    def open_report_named(self, name: str) -> None:
        if name in BY_NAME:
            self.query_one("#report-name", Select).value = name


__all__ = ["ReportsScreen"]
