"""The Patients screen (PT-2): search as you type, move with the arrows, Enter opens the record.

The search box keeps the focus; the arrow keys, Page Up/Down, Enter and Esc belong to the
screen (priority bindings), so the hands never leave the keyboard's home row to reach the
results. Each keystroke starts ``core.patients.search.search_patients`` in an exclusive thread
worker; a result is shown only if it is for what the box holds now, so a slow search never
overwrites a newer one. Until the app has opened the clinic, typing is kept and searched the
moment the clinic is ready.

The screen stays on the stack under the patient view, so Esc there comes back to the same
results with the same highlighted row.

Bulk selection (TU-7): once the arrows have moved into the results, Space marks or unmarks the
highlighted patient and Shift+↑/↓ extend the marks (typing goes back to the search box); the
palette selects every patient matching the search or clears the marks. The count line always
says how many are marked; ``selected_patient_ids`` is what bulk actions take. The table holds
one bounded page and fetches the next when the highlight nears its end (keyset paging), so a
search matching 100,000 patients opens as fast as one matching ten.

Ctrl+N (or the palette's "patient: find or create by health number") opens
``screens.patient_find``: find a patient by health number, or create the record (PT-4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.errors import error_text
from tui.formatting import cell_text, display_name
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.results_table import ResultsTable

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.patients.search import Cursor, PatientSummary, SearchPage
    from tui.app import AccueilApp

SEARCH_GROUP = "search"
MORE_GROUP = "search-more"
SELECT_ALL_GROUP = "select-all"
MARK = "✓ "
PREFETCH_ROWS = 10  # fetch the next page when the highlight is this close to the last loaded row
# Column widths at 80 columns; the name column takes whatever the terminal has left.
FIXED_COLUMNS = (("dob", N_("Birth date"), 10), ("chart", N_("Chart"), 8),
                 ("health", N_("Health no."), 15), ("phone", N_("Phone"), 12))
MIN_NAME_WIDTH = 16
CELL_PADDING = 1  # on each side of every column (DataTable's default)
SCROLLBAR = 0  # themes/accueil.tcss hides the table's scrollbar (the count line gives the size)


class SearchInput(Input):
    """The search box; it lets the screen have Space once the arrows are in the results."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if key == "space" and getattr(self.screen, "_in_results", False):
            return False
        return super().check_consume_key(key, character)


class PatientsScreen(Screen[None]):
    """Search box, a one-line result count and the results table."""

    AUTO_FOCUS = "#search"
    SCREEN_HELP: ClassVar[str] = N_(
        "Find a patient: type part of a name, a chart ID, a health number, a phone number or a date of "
        "birth. The arrows move in the results while you type; Enter opens the highlighted record. Ctrl+N "
        "finds a patient by health number, or creates the record.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "search": N_("The search box: accents, apostrophes and hyphens do not matter."),
    }
    BINDINGS = [
        # Up before Down: the order the Footer shows once the search box has the focus.
        Binding("up", "previous_patient", N_("Previous"), id="patients.previous", key_display="↑",
                priority=True, tooltip=N_("Highlight the previous patient in the results.")),
        Binding("down", "next_patient", N_("Next"), id="patients.next", key_display="↓", priority=True,
                tooltip=N_("Highlight the next patient in the results.")),
        Binding("pagedown", "next_page", N_("Page down"), id="patients.page_down", show=False, priority=True,
                tooltip=N_("Move the highlight one screen down the results.")),
        Binding("pageup", "previous_page", N_("Page up"), id="patients.page_up", show=False, priority=True,
                tooltip=N_("Move the highlight one screen up the results.")),
        Binding("enter", "open_patient", N_("Open"), id="patients.open", priority=True,
                tooltip=N_("Open the highlighted patient's record.")),
        Binding("escape", "clear_search", N_("Clear"), id="patients.clear", priority=True,
                tooltip=N_("Clear the search box and the results.")),
        # Not in the footer, whose 80 columns are full (F1 and the palette list it, the help text names it).
        Binding("ctrl+n", "find_or_create", N_("Health no."), id="patients.find_or_create", show=False, priority=True,
                tooltip=N_("Find a patient by health number, or create the record when nobody has it.")),
        Binding("space", "toggle_mark", N_("Mark"), id="patients.mark", show=False, priority=True,
                tooltip=N_("After the arrows: mark or unmark the highlighted patient for a bulk action.")),
        Binding("shift+down", "extend_marks(1)", N_("Mark down"), id="patients.mark_down", show=False,
                priority=True, tooltip=N_("Mark the highlighted patient and the next one.")),
        Binding("shift+up", "extend_marks(-1)", N_("Mark up"), id="patients.mark_up", show=False,
                priority=True, tooltip=N_("Mark the highlighted patient and the previous one.")),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self._page: SearchPage | None = None
        self._rows: list[PatientSummary] = []
        self._next: Cursor | None = None
        self._name_width = 0
        self._in_results = False
        self._count_text = ""
        self.selected_patient_ids: set[int] = set()
        """The marked patients, across searches: what a bulk action (compose, export) takes."""

    def compose(self) -> ComposeResult:
        # Compact (no border): each keystroke redraws one line, not three (~1 KB less per key).
        search = SearchInput(placeholder=_("Name, chart ID, health number, phone or date of birth"),
                       id="search", select_on_focus=False, compact=True)
        search.cursor_blink = False
        yield search
        yield Static(_("Type to search the clinic's patients."), id="result-count", markup=False)
        table: DataTable[str] = ResultsTable(id="results", cursor_type="row", cell_padding=CELL_PADDING)
        table.can_focus = False  # typing always goes to the search box
        yield table
        yield KeyFooter()

    def on_mount(self) -> None:
        self._layout_columns(self.size.width)
        self.accueil_app.clinic_ready_signal.subscribe(self, self._clinic_ready)

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def search_input(self) -> Input:
        return self.query_one("#search", Input)

    @property
    def results(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#results", DataTable))

    # -- searching ------------------------------------------------------------------------
    @on(Input.Changed, "#search")
    def _query_changed(self, event: Input.Changed) -> None:
        self._in_results = False
        self._search_for(event.value)

    def _clinic_ready(self, accueil: Accueil) -> None:
        if self.search_input.value.strip():
            self._search_for(self.search_input.value)

    def _search_for(self, text: str) -> None:
        if not text.strip():
            self.workers.cancel_group(self, SEARCH_GROUP)
            self._page = None
            self._rows, self._next = [], None
            self.results.clear()
            self._set_count(_("Type to search the clinic's patients."))
            return
        accueil = self.accueil_app.accueil
        if accueil is None:
            self._set_count(_("Opening the clinic…"))
            return
        self._search(accueil, text, self.accueil_app.settings.search_page_size)

    # The description keeps the typed text (patient data) out of Textual's worker log.
    @work(thread=True, exclusive=True, group=SEARCH_GROUP, exit_on_error=False, description="patient search")
    def _search(self, accueil: Accueil, text: str, limit: int) -> SearchPage:
        from core.patients.search import search_patients

        with accueil.uow() as uow:
            return search_patients(uow.session, text, limit=limit)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group in (MORE_GROUP, SELECT_ALL_GROUP):
            self._bulk_worker_changed(worker)
            return
        if worker.group != SEARCH_GROUP:
            return
        if worker.state == WorkerState.SUCCESS:
            page = cast("SearchPage", worker.result)
            if page.query == self.search_input.value:  # else the box changed since: a stale page
                self._show(page)
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            self._set_count(_("The search failed: {reason}").format(reason=error_text(worker.error)))

    def _show(self, page: SearchPage) -> None:
        # Typing one more letter often leaves the same patients listed: redrawing the table then
        # would send some 5 KB for nothing over a slow line, so the table is left as it is.
        unchanged = self._page is not None and self._page.rows == page.rows
        self._page = page
        if not unchanged:
            self._rows, self._next = list(page.rows), page.next_cursor
            self._fill_rows(cursor_row=0)
        self._show_count()

    def _show_count(self) -> None:
        count = len(self._rows)
        if count == 0:
            self._set_count(_("No patient found."))
        elif self._next is not None:
            self._set_count(_("{count}+ patients").format(count=count))
        elif count == 1:
            self._set_count(_("1 patient"))
        else:
            self._set_count(_("{count} patients").format(count=count))

    def _set_count(self, text: str) -> None:
        self._count_text = text
        if self.selected_patient_ids:
            text += " · " + _("{count} marked").format(count=len(self.selected_patient_ids))
        count = self.query_one("#result-count", Static)
        if str(count.content) != text:  # an unchanged line is not sent again
            count.update(text)

    # -- the table ------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        if self._layout_columns(event.size.width):
            self._fill_rows(cursor_row=self.results.cursor_row)

    def _layout_columns(self, width: int) -> bool:
        """(Re)build the columns for ``width`` cells; False if they already fit."""
        fixed = sum(w for _key, _label, w in FIXED_COLUMNS)
        padding = 2 * CELL_PADDING * (len(FIXED_COLUMNS) + 1)
        name_width = max(MIN_NAME_WIDTH, width - fixed - padding - SCROLLBAR)
        if name_width == self._name_width:
            return False
        self._name_width = name_width
        table = self.results
        table.clear(columns=True)
        table.add_column(_("Name"), width=name_width, key="name")
        for key, label, column_width in FIXED_COLUMNS:
            table.add_column(_(label), width=column_width, key=key)
        return True

    def _fill_rows(self, *, cursor_row: int) -> None:
        table = self.results
        table.clear()
        if self._page is None:
            return
        self._add_rows(self._rows)
        if table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1), animate=False)

    def _add_rows(self, rows: list[PatientSummary]) -> None:
        widths = [self._name_width] + [w for _key, _label, w in FIXED_COLUMNS]
        for patient in rows:
            cells = self._cells(patient)
            self.results.add_row(*(cell_text(cell, w) for cell, w in zip(cells, widths, strict=True)),
                                 key=str(patient.id))

    def _cells(self, patient: PatientSummary) -> tuple[str, ...]:
        name, *rest = summary_cells(patient)
        return (MARK + name if patient.id in self.selected_patient_ids else name, *rest)

    # -- actions --------------------------------------------------------------------------
    def action_next_patient(self) -> None:
        self._in_results = True
        self.results.action_cursor_down()
        self._fetch_more_if_near_end()

    def action_previous_patient(self) -> None:
        self._in_results = True
        self.results.action_cursor_up()

    def action_next_page(self) -> None:
        self._in_results = True
        self.results.action_page_down()
        self._fetch_more_if_near_end()

    def action_previous_page(self) -> None:
        self._in_results = True
        self.results.action_page_up()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Space is typed into the search box until the arrows have moved into the results.
        return self._in_results or action != "toggle_mark"

    def action_toggle_mark(self) -> None:
        patient_id = self._highlighted_id()
        if patient_id is not None:
            self._set_marks({patient_id}, patient_id not in self.selected_patient_ids)

    def action_extend_marks(self, step: int) -> None:
        self._in_results = True
        first = self._highlighted_id()
        self.results.move_cursor(row=self.results.cursor_row + step, animate=False)
        marks = {i for i in (first, self._highlighted_id()) if i is not None}
        self._set_marks(marks, True)
        if step > 0:
            self._fetch_more_if_near_end()

    def _highlighted_id(self) -> int | None:
        table = self.results
        if table.row_count == 0:
            return None
        value = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return int(value) if value is not None else None

    def _set_marks(self, patient_ids: set[int], marked: bool) -> None:
        if marked:
            self.selected_patient_ids |= patient_ids
        else:
            self.selected_patient_ids -= patient_ids
        by_id = {patient.id: patient for patient in self._rows}
        for patient_id in patient_ids:
            if patient_id in by_id:
                name = cell_text(self._cells(by_id[patient_id])[0], self._name_width)
                self.results.update_cell(str(patient_id), "name", name)
        self._set_count(self._count_text)

    def clear_marks(self) -> None:
        self._set_marks(set(self.selected_patient_ids), False)

    def select_all_matching(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None and self.search_input.value.strip():
            self._set_count(_("Marking every patient who matches…"))
            self._all_matching(accueil, self.search_input.value)

    @work(thread=True, exclusive=True, group=SELECT_ALL_GROUP, exit_on_error=False, description="mark all")
    def _all_matching(self, accueil: Accueil, text: str) -> set[int]:
        from core.patients.search import MAX_PAGE, search_patients

        found: set[int] = set()
        after = None
        with accueil.uow() as uow:
            while True:
                page = search_patients(uow.session, text, limit=MAX_PAGE, after=after)
                found.update(patient.id for patient in page.rows)
                if page.next_cursor is None:
                    return found
                after = page.next_cursor

    def _fetch_more_if_near_end(self) -> None:
        accueil = self.accueil_app.accueil
        near_end = self.results.cursor_row >= self.results.row_count - PREFETCH_ROWS
        if accueil is not None and self._next is not None and near_end:
            self._more(accueil, self.search_input.value, self._next, self.accueil_app.settings.search_page_size)

    @work(thread=True, exclusive=True, group=MORE_GROUP, exit_on_error=False, description="next result page")
    def _more(self, accueil: Accueil, text: str, after: Cursor, limit: int) -> SearchPage:
        from core.patients.search import search_patients

        with accueil.uow() as uow:
            return search_patients(uow.session, text, limit=limit, after=after)

    def _bulk_worker_changed(self, worker: Worker[object]) -> None:
        if worker.state == WorkerState.ERROR and worker.error is not None:
            self._set_count(_("The search failed: {reason}").format(reason=error_text(worker.error)))
        if worker.state != WorkerState.SUCCESS:
            return
        if worker.group == SELECT_ALL_GROUP:
            self._set_marks(cast("set[int]", worker.result), True)
            self._show_count()
            return
        page = cast("SearchPage", worker.result)
        if page.query != self.search_input.value or self._next is None:
            return  # the search changed since
        known = {patient.id for patient in self._rows}
        fresh = [patient for patient in page.rows if patient.id not in known]
        self._rows.extend(fresh)
        self._next = page.next_cursor
        self._add_rows(fresh)
        self._show_count()

    def action_clear_search(self) -> None:
        self.search_input.value = ""
        self.search_input.focus()

    def action_find_or_create(self) -> None:
        from screens.patient_find import FindOrCreateScreen  # not needed to draw the first screen
        from screens.patient_view import PatientViewScreen

        def created(patient_id: int | None) -> None:  # the new record opens as if chosen from the results
            if patient_id is not None:
                self.app.push_screen(PatientViewScreen(patient_id))
        self.app.push_screen(FindOrCreateScreen(), created)

    def action_open_patient(self) -> None:
        table = self.results
        if self.accueil_app.accueil is None or table.row_count == 0:
            return
        row_key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        if row_key.value is not None:
            from screens.patient_view import PatientViewScreen  # not needed to draw the first screen

            self.app.push_screen(PatientViewScreen(int(row_key.value)))


def summary_cells(patient: PatientSummary) -> tuple[str, str, str, str, str]:
    return (
        display_name(patient.last_name, patient.first_name, patient.preferred_name),
        patient.date_of_birth.isoformat() if patient.date_of_birth else "",
        patient.chart_id,
        patient.health_number or "",
        patient.phone or "",
    )


__all__ = ["PatientsScreen", "summary_cells"]
