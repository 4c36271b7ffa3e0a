"""Adding patients to a campaign (CA-4): one patient, by conditions, or a CSV of chart IDs.

Three tabs. *One patient*: the usual search; Enter adds the highlighted patient. *Conditions*:
rows of resource / comparator / value, all of which must hold; the comparators and values offered
follow the resource (yes/no, a list, a number, a date, two dates); the count of matching patients
is read again after every change (one SQL count in a thread worker, the newest wins); Ctrl+S
saves the rows as a named set, and a saved set can be loaded. *CSV file*: the path of a file
with a chart-ID column; a file with any problem is refused whole with its row-numbered report.
Ctrl+G adds (conditions or file). An addition past 5,000 patients is refused whole with the
numbers. The screen dismisses with a one-line summary to notify, or None.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from core.campaigns.conditions import BY_KEY, COMPARATOR_LABELS, RESOURCES, Condition
from core.errors import AccueilError
from core.i18n import _
from tui.errors import error_text
from tui.formatting import display_name, fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.campaigns.recipients import AssignResult
    from tui.app import AccueilApp

COUNT_GROUP = "add-count"
SEARCH_GROUP = "add-search"
ASSIGN_GROUP = "add-assign"
SETUP_GROUP = "add-setup"
VALUE_HINTS = {"number": N_("years"), "date": "YYYY-MM-DD", "prefix": N_("e.g. H2X"),
               "date_range": "YYYY-MM-DD..YYYY-MM-DD"}
# The resources' and values' labels, listed here so the catalogue holds them (core keeps English).
_LABELS = (N_("Connected external system"), N_("Age"), N_("Sex"), N_("Language"), N_("Primary provider"),
           N_("Has an email address"), N_("Email consent"), N_("Marketing consent"), N_("Push notifications on"),
           N_("Last visit"), N_("Postal code"), N_("Appointment"), N_("Patient app"), N_("yes"), N_("no"),
           N_("is"), N_("is not"), N_("before"), N_("on"), N_("after"), N_("starts with"), N_("between"))


class ConditionRow(Horizontal):
    """Resource, comparator and value: the last two are rebuilt when the resource changes."""

    DEFAULT_CSS = """
    ConditionRow { height: 1; margin-bottom: 1; }
    ConditionRow .resource { width: 30; }
    ConditionRow .comparator { width: 14; }
    ConditionRow .value { width: 1fr; }
    ConditionRow Input { border: none; height: 1; padding: 0 1; background: $surface; }
    ConditionRow SelectCurrent { border: none; height: 1; padding: 0 1; background: $surface; }
    """

    def __init__(self, providers: list[tuple[int, str]], condition: Condition | None = None) -> None:
        super().__init__()
        self.providers = providers
        self.initial = condition or Condition("connected_system", "is_not", "patient_app")
        self.resource_key = self.initial.resource

    def compose(self) -> ComposeResult:
        yield Select([(_(r.label), r.key) for r in RESOURCES], value=self.initial.resource, allow_blank=False,
                     compact=True, classes="resource")

    def on_mount(self) -> None:
        self.set_resource(self.initial.resource, self.initial)

    def set_resource(self, key: str, condition: Condition | None = None) -> None:
        resource = BY_KEY[key]
        self.resource_key = key
        for child in list(self.children)[1:]:
            child.remove()
        comparator = condition.comparator if condition else resource.comparators[0]
        self.mount(Select([(_(COMPARATOR_LABELS[c]), c) for c in resource.comparators], value=comparator,
                          allow_blank=False, compact=True, classes="comparator"))
        value = condition.value if condition else ""
        choices = ([(name, str(pid)) for pid, name in self.providers] if resource.kind == "provider"
                   else [(_(label), choice) for choice, label in resource.choices])
        if choices:
            known = value in {choice for _label, choice in choices}
            self.mount(Select(choices, value=value if known else choices[0][1], allow_blank=False, compact=True,
                              classes="value"))
        else:
            field = Input(value, placeholder=_(VALUE_HINTS.get(resource.kind, "")), classes="value")
            field.cursor_blink = False  # no frame a second down a slow line
            self.mount(field)

    def condition(self) -> Condition:
        widgets = list(self.children)
        values = [str(w.value) if isinstance(w, Select | Input) and w.value is not Select.BLANK else ""
                  for w in widgets]
        return Condition(*(values + ["", "", ""])[:3])

    @on(Select.Changed, ".resource")
    def _resource_changed(self, event: Select.Changed) -> None:
        # The event goes on up to the screen, which counts again once the new widgets are in.
        if str(event.value) != self.resource_key:
            self.set_resource(str(event.value))


class AddPatientsScreen(ModalScreen[str | None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Add patients: one by the usual search, many by conditions (all must hold) with the count shown "
        "as you go, or a CSV file with a chart-ID column. A campaign holds at most 5,000 patients.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "one-search": N_("Type a name, chart ID, health number or phone; Enter adds the highlighted patient."),
        "csv-path": N_("The full path of a CSV file whose first row names a chart-ID column."),
        "set-name": N_("A name to save these conditions under (Ctrl+S)."),
    }
    BINDINGS = [
        Binding("ctrl+g", "assign", N_("Assign"), id="add.assign", priority=True,
                tooltip=N_("Add the patients the conditions or the file give.")),
        Binding("ctrl+n", "add_condition", N_("Condition"), id="add.condition",
                tooltip=N_("Add a condition row.")),
        Binding("ctrl+d", "delete_condition", N_("Delete row"), id="add.delete-condition",
                tooltip=N_("Delete the condition row that has the focus.")),
        Binding("ctrl+s", "save_set", N_("Save set"), id="add.save-set",
                tooltip=N_("Save the conditions under the name typed in the set name field.")),
        Binding("enter", "add_one", N_("Add"), id="add.one", show=False,
                tooltip=N_("Add the highlighted patient.")),
        Binding("escape", "close", N_("Close"), id="add.close", tooltip=N_("Close without adding more.")),
    ]
    DEFAULT_CSS = """
    AddPatientsScreen { background: $background; }
    #add-tabs { height: 1fr; }
    #one-search, #csv-path, #set-name { border: none; height: 1; padding: 0 1; background: $panel; }
    #one-results { height: 1fr; }
    #condition-rows { height: 1fr; }
    #set-bar { height: 1; }
    #set-bar Select { width: 1fr; }
    #set-bar SelectCurrent { border: none; height: 1; padding: 0 1; background: $surface; }
    #set-name { width: 1fr; }
    #add-count, #csv-report { color: $text-muted; padding: 0 1; }
    #add-count { height: 1; }
    #csv-report { height: 1fr; }
    """

    def __init__(self, campaign_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.campaign_id = campaign_id
        self.providers: list[tuple[int, str]] = []
        self.sets: dict[str, tuple[Condition, ...]] = {}
        self.found: list[Any] = []

    def compose(self) -> ComposeResult:
        with TabbedContent(id="add-tabs", initial="tab-conditions"):
            with TabPane(_("One patient"), id="tab-one"):
                yield Input(id="one-search", placeholder=_("name, chart ID, health number, phone"))
                yield DataTable(id="one-results", cursor_type="row")
            with TabPane(_("Conditions"), id="tab-conditions"), Vertical():
                with Horizontal(id="set-bar"):
                    yield Select([], prompt=_("Saved sets"), id="saved-sets", compact=True)
                    yield Input(id="set-name", placeholder=_("set name"))
                yield VerticalScroll(id="condition-rows")
            with TabPane(_("CSV file"), id="tab-csv"):
                yield Input(id="csv-path", placeholder=_("path of the CSV file"))
                yield Static("", id="csv-report", markup=False)
        yield Static("", id="add-count", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        for field in self.query(Input):
            field.cursor_blink = False  # no frame a second down a slow line
        results = cast("DataTable[str]", self.query_one("#one-results", DataTable))
        results.add_column(_("Patient"), width=40, key="name")
        results.add_column(_("Chart"), width=10, key="chart")
        results.add_column(_("Birth date"), width=10, key="dob")
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._setup(accueil)

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    def _say(self, text: str) -> None:
        self.query_one("#add-count", Static).update(text)

    @work(thread=True, exclusive=True, group=SETUP_GROUP, exit_on_error=False, description="add setup")
    def _setup(self, accueil: Accueil) -> tuple[list[tuple[int, str]], list[Any]]:
        from core.campaigns.conditions import providers, saved_sets

        with accueil.uow() as uow:
            return providers(uow.session), saved_sets(uow.session)

    def _ready(self, providers: list[tuple[int, str]], sets: list[Any]) -> None:
        self.providers = providers
        self.sets = {saved.name: saved.conditions for saved in sets}
        self.query_one("#saved-sets", Select).set_options([(name, name) for name in self.sets])
        if not self.query(ConditionRow):
            self.query_one("#condition-rows").mount(ConditionRow(self.providers))
            self.call_after_refresh(self._recount)

    # -- conditions --------------------------------------------------------------------------
    def conditions(self) -> list[Condition]:
        # A row whose widgets are still being mounted is left out until they are in.
        return [row.condition() for row in self.query(ConditionRow) if len(row.children) == 3]

    def action_add_condition(self) -> None:
        cast(TabbedContent, self.query_one("#add-tabs")).active = "tab-conditions"
        row = ConditionRow(self.providers, Condition("age", "ge", ""))
        self.query_one("#condition-rows").mount(row)
        self.call_after_refresh(self._recount)

    def action_delete_condition(self) -> None:
        focused = self.focused
        for row in self.query(ConditionRow):
            if focused is not None and focused in row.query("*"):
                row.remove()
                self.call_after_refresh(self._recount)
                return

    @on(Select.Changed)
    @on(Input.Changed)
    def _changed(self, event: Select.Changed | Input.Changed) -> None:
        widget = event.select if isinstance(event, Select.Changed) else event.input
        if widget.id == "saved-sets":
            if event.value in self.sets:
                rows = self.query_one("#condition-rows")
                rows.remove_children()
                rows.mount_all([ConditionRow(self.providers, c) for c in self.sets[str(event.value)]])
                self.query_one("#set-name", Input).value = str(event.value)
                self.call_after_refresh(self._recount)
        elif widget.id == "one-search":
            accueil = self.accueil_app.accueil
            if accueil is not None:
                self._search(accueil, event.value)
        elif widget.id not in ("set-name", "csv-path"):
            self.call_after_refresh(self._recount)

    def _recount(self) -> None:
        accueil = self.accueil_app.accueil
        conditions = self.conditions()
        if accueil is not None and conditions:
            self._count(accueil, conditions)

    @work(thread=True, exclusive=True, group=COUNT_GROUP, exit_on_error=False, description="live count")
    def _count(self, accueil: Accueil, conditions: list[Condition]) -> int | AccueilError:
        from core.campaigns.conditions import count_matching

        with accueil.uow() as uow:
            try:
                return count_matching(uow.session, conditions, today=self.accueil_app.clock.today(),
                                      timezone=accueil.settings.timezone)
            except AccueilError as error:  # a value being typed: said on the count line
                return error

    def action_save_set(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is not None:
            self._save_set(accueil, self.query_one("#set-name", Input).value, self.conditions())

    @work(thread=True, exclusive=True, group=ASSIGN_GROUP, exit_on_error=False, description="save set")
    def _save_set(self, accueil: Accueil, name: str, conditions: list[Condition]) -> str | AccueilError:
        from core.campaigns.conditions import save_set

        with accueil.uow(write=True) as uow:
            try:
                save_set(uow, name, conditions, today=self.accueil_app.clock.today())
            except AccueilError as error:
                return error
        self.sets[" ".join(name.split())] = tuple(conditions)
        return _("Condition set saved.")

    # -- one patient ----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group=SEARCH_GROUP, exit_on_error=False, description="add search")
    def _search(self, accueil: Accueil, text: str) -> tuple[str, list[Any]]:
        from core.patients.search import search_patients

        with accueil.uow() as uow:
            return text, search_patients(uow.session, text, limit=50).rows if text.strip() else []

    def _show_found(self, text: str, rows: list[Any]) -> None:
        if text != self.query_one("#one-search", Input).value:
            return
        self.found = rows
        table = cast("DataTable[str]", self.query_one("#one-results", DataTable))
        table.clear()
        for row in rows:
            table.add_row(fit(display_name(row.last_name, row.first_name, row.preferred_name), 40), row.chart_id,
                          row.date_of_birth.isoformat() if row.date_of_birth else "", key=str(row.id))

    @on(DataTable.RowSelected, "#one-results")
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        # Enter on a result: the table takes the key for its own selection, so the row is added here.
        event.stop()
        accueil = self.accueil_app.accueil
        if accueil is not None and event.row_key.value:
            self._assign(accueil, "one", int(event.row_key.value))

    @on(Input.Submitted, "#one-search")
    def _search_submitted(self) -> None:
        results = self.query_one("#one-results", DataTable)
        if results.row_count:
            results.focus()  # then Enter adds the highlighted patient

    def action_add_one(self) -> None:
        table = cast("DataTable[str]", self.query_one("#one-results", DataTable))
        accueil = self.accueil_app.accueil
        if cast(TabbedContent, self.query_one("#add-tabs")).active != "tab-one" or not table.row_count:
            return
        if accueil is not None:
            key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
            self._assign(accueil, "one", int(key or 0))

    # -- assigning --------------------------------------------------------------------------------
    def action_assign(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is None:
            return
        active = cast(TabbedContent, self.query_one("#add-tabs")).active
        if active == "tab-csv":
            self._assign(accueil, "csv", self.query_one("#csv-path", Input).value)
        elif active == "tab-conditions":
            self._assign(accueil, "conditions", self.conditions())
        else:
            self.action_add_one()

    @work(thread=True, exclusive=True, group=ASSIGN_GROUP, exit_on_error=False, description="assign")
    def _assign(self, accueil: Accueil, how: str, what: Any) -> str | AccueilError:
        try:
            return self._assign_now(accueil, how, what)
        except AccueilError as error:  # refused whole: the reason (and a CSV's report) on the screen
            return error

    def _assign_now(self, accueil: Accueil, how: str, what: Any) -> str:
        from core.campaigns import recipients
        from core.errors import InvalidInput

        clock = self.accueil_app.clock
        today, now = clock.today(), clock.now()
        with accueil.uow(write=True) as uow:
            if how == "one":
                result = recipients.assign_patient(uow, self.campaign_id, what, today=today, now=now)
            elif how == "conditions":
                result = recipients.assign_by_conditions(uow, self.campaign_id, what, today=today, now=now,
                                                         timezone=accueil.settings.timezone)
            else:
                path = Path(str(what).strip()).expanduser()
                try:
                    data = path.read_bytes()
                except OSError:
                    raise InvalidInput(_("The file cannot be read: check its path.")) from None
                result = recipients.assign_csv(uow, self.campaign_id, data, today=today, now=now)
        return summary(result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            self._failed(worker.error)
        elif event.state != WorkerState.SUCCESS:
            return
        elif isinstance(worker.result, AccueilError):
            self._failed(worker.result)
        elif worker.group == SETUP_GROUP:
            self._ready(*cast("tuple[list[tuple[int, str]], list[Any]]", worker.result))
        elif worker.group == COUNT_GROUP:
            self._say(_("{count} patients match every condition.").format(count=worker.result))
        elif worker.group == SEARCH_GROUP:
            self._show_found(*cast("tuple[str, list[Any]]", worker.result))
        elif worker.group == ASSIGN_GROUP:
            text = cast(str, worker.result)
            if worker.description == "save set":
                self.query_one("#saved-sets", Select).set_options([(name, name) for name in self.sets])
                self._say(text)
            else:
                self.dismiss(text)

    def _failed(self, error: BaseException) -> None:
        from core.campaigns.recipients import CsvRefused

        text = error_text(error)
        self._say(text)
        if isinstance(error, CsvRefused):
            lines = [_("Row {row}: {chart} {reason}").format(row=p.row, chart=p.chart_id, reason=p.reason).replace(
                "  ", " ") for p in error.problems[:200]]
            self.query_one("#csv-report", Static).update("\n".join([text, *lines]))

    def action_close(self) -> None:
        self.dismiss(None)


def summary(result: AssignResult) -> str:
    text = _("{added} patients added; {total} in the campaign.").format(added=result.added, total=result.total)
    if result.already:
        text += " " + _("{count} were already in it.").format(count=result.already)
    if result.broadcast_visible:
        text += " " + _("They see the message in the app now.")
    return text


__all__ = ["AddPatientsScreen", "ConditionRow", "summary"]
