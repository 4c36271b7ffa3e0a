"""PT-4 find or create a patient by health number (Ctrl+N on the Patients screen, or the palette).

Choose the province, type the number: it is checked on every keystroke against the province's
format (``screens.new_patient_form.number_check``). Enter looks it up
(``core.patients.registry.find_by_health_number`` on a thread worker). When patients have it,
they are listed and Enter opens the highlighted one in the patient view; when nobody has it,
the new-patient form appears, and Ctrl+S (or Enter in its last field) creates the record with
``create_patient``, which audits the creation, then the screen closes with the new patient's id
and the Patients screen opens the record. Quebec numbers are checked again against the name,
birth date and sex as they are typed. Esc goes back to the number from the matches or the form,
and from the number to the Patients screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from core.errors import AccueilError
from core.i18n import _, get_language
from screens.new_patient_form import PROVINCES, NewPatientForm, number_check, problem_text
from tui.errors import error_text
from tui.formatting import cell_text, display_name
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.results_table import ResultsTable

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.patients.registry import NewPatient
    from core.patients.search import PatientSummary
    from tui.app import AccueilApp

FIND_GROUP = "find-health-number"
CREATE_GROUP = "create-patient"
OK_STYLE = "$text-success"
PROBLEM_STYLE = "bold $text-error"


class FindOrCreateScreen(Screen[int | None]):
    """Province, number, then the matches or the new-patient form; dismisses with a new patient's id."""

    AUTO_FOCUS = "#health-number"
    SCREEN_HELP: ClassVar[str] = N_(
        "Find a patient by health number, or create the record when nobody has it. Choose the province, type the "
        "number: it is checked as you type. Enter looks it up: the patients who have it are listed (Enter opens "
        "one), or the form for a new patient appears (Ctrl+S creates it). Esc goes back.")
    FIELD_HELP: ClassVar[dict[str, str]] = {
        "province": N_("The province that issued the health card. Quebec and Ontario numbers are fully checked; "
                       "for the others, only the number of digits."),
        "health-number": N_("The health card's number. Spaces and dashes do not matter; an Ontario version code "
                            "may follow the 10 digits. Enter looks it up."),
        "matches": N_("The patients who have this health number. Enter opens the highlighted one."),
        "new-last": N_("The patient's last name, as on the health card."),
        "new-first": N_("The patient's first name, as on the health card."),
        "new-birth": N_("The date of birth: 1980-05-12 or 12/05/1980. A Quebec number must agree with it."),
        "new-sex": N_("As on the health card; a Quebec number's month says it too."),
        "new-language": N_("The language the clinic writes to the patient in."),
        "new-email": N_("The patient's email address (optional, needed for the email consent)."),
        "new-phone": N_("The patient's phone number (optional)."),
        "new-email-consent": N_("The patient agrees to receive email from the clinic (dated today). Space ticks it."),
        "new-marketing-consent": N_("The patient agrees to receive the clinic's campaigns (dated today). Space "
                                    "ticks it."),
    }
    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="find_patient.back",
                tooltip=N_("From the matches or the form, back to the number; from the number, back to Patients.")),
        Binding("ctrl+s", "create", N_("Create"), id="find_patient.create", priority=True,
                tooltip=N_("Create the new patient with these details and open the record.")),
    ]

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.matches: list[PatientSummary] = []
        self.looked_up: tuple[str, str] | None = None
        """(province, number) the matches or the form are for; None while only the number is shown."""

    def compose(self) -> ComposeResult:
        yield Static(Content.styled(_("Find or create a patient by health number"), "bold $text-accent"),
                     id="find-title")
        with Horizontal(id="find-province-row"):
            yield Label(_("Province"), markup=False)
            yield Select([(_(name), code) for code, name in PROVINCES], id="province", value="QC",
                         allow_blank=False, compact=True)
        with Horizontal(id="find-number-row"):
            yield Label(_("Health number"), markup=False)
            number = Input(id="health-number", compact=True, select_on_focus=False)
            number.cursor_blink = False
            yield number
        yield Static("", id="number-check", markup=False)
        yield Static("", id="find-outcome", markup=False)
        matches: DataTable[str] = ResultsTable(id="matches", cursor_type="row")
        matches.display = False
        yield matches
        form = NewPatientForm(language="fr" if get_language() == "fr" else "en", id="new-patient")
        form.display = False
        yield form
        yield Static("", id="form-check", markup=False)
        yield KeyFooter()

    DEFAULT_CSS = """
    FindOrCreateScreen { padding: 0 1; }
    #find-title { margin-bottom: 1; }
    #find-province-row, #find-number-row { height: 1; }
    #find-province-row Label, #find-number-row Label { width: 22; color: $text-muted; }
    #find-province-row Select { width: 34; }
    #health-number { width: 30; }
    #number-check { margin-left: 22; height: auto; }
    #find-outcome { margin-top: 1; height: auto; }
    #matches { height: auto; max-height: 10; }
    #form-check { height: auto; }
    """

    def on_mount(self) -> None:
        self._check_number()

    @property
    def accueil_app(self) -> AccueilApp:
        return cast("AccueilApp", self.app)

    @property
    def province(self) -> str:
        value = self.query_one("#province", Select).value
        return value if isinstance(value, str) else "QC"

    @property
    def number(self) -> str:
        return self.query_one("#health-number", Input).value

    @property
    def form(self) -> NewPatientForm:
        return self.query_one("#new-patient", NewPatientForm)

    # -- the number, checked as it is typed -----------------------------------------------
    @on(Select.Changed, "#province")
    @on(Input.Changed, "#health-number")
    def _number_changed(self) -> None:
        if self.looked_up is not None and self.looked_up != (self.province, self.number):
            self._show_number_only()
        self._check_number()

    @on(Input.Changed, "#new-patient Input")
    @on(Select.Changed, "#new-patient Select")
    @on(Checkbox.Changed, "#new-patient Checkbox")
    def _form_changed(self) -> None:
        self._check_number()
        if str(self.query_one("#form-check", Static).content):
            self._say_form("")  # an old problem is not left beside corrected fields

    def _check_number(self) -> bool:
        person = self.form.person() if self.form.display else {}
        parsed, said = number_check(self.province, self.number, **person)  # type: ignore[arg-type]
        style = OK_STYLE if parsed is not None else PROBLEM_STYLE if self.number.strip() else "$text-muted"
        self.query_one("#number-check", Static).update(Content.styled(("✓ " if parsed else "") + said, style))
        return parsed is not None

    def _show_number_only(self) -> None:
        self.workers.cancel_group(self, FIND_GROUP)
        self.looked_up = None
        self.matches = []
        self.query_one("#matches", DataTable).display = False
        self.form.display = False
        self.query_one("#find-outcome", Static).update("")
        self._say_form("")
        self.refresh_bindings()

    # -- looking it up -------------------------------------------------------------------
    @on(Input.Submitted, "#health-number")
    def _look_up(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is None or not self._check_number():
            return
        self._find(accueil, self.province, self.number)

    @work(thread=True, exclusive=True, group=FIND_GROUP, exit_on_error=False, description="find by health number")
    def _find(self, accueil: Accueil, province: str, number: str) -> tuple[str, str, list[PatientSummary]]:
        from core.patients.registry import find_by_health_number

        with accueil.uow() as uow:
            return province, number, find_by_health_number(uow.session, province, number)

    @work(thread=True, exclusive=True, group=CREATE_GROUP, exit_on_error=False, description="create a patient")
    def _create(self, accueil: Accueil, details: NewPatient) -> int:
        from core.patients.registry import create_patient

        with accueil.uow(write=True) as uow:
            return create_patient(uow, details)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR and worker.error is not None:
            error = worker.error
            text = problem_text(error.message) if isinstance(error, AccueilError) else error_text(error)
            if worker.group == CREATE_GROUP:
                self._say_form(text)
            else:
                self.query_one("#find-outcome", Static).update(Content.styled(text, PROBLEM_STYLE))
        elif worker.state == WorkerState.SUCCESS and worker.group == FIND_GROUP:
            province, number, found = cast("tuple[str, str, list[PatientSummary]]", worker.result)
            if (province, number) == (self.province, self.number):  # else the number changed since
                self._found(province, number, found)
        elif worker.state == WorkerState.SUCCESS and worker.group == CREATE_GROUP:
            self.notify(_("Patient created."))
            self.dismiss(cast("int", worker.result))

    def _found(self, province: str, number: str, found: list[PatientSummary]) -> None:
        self.looked_up = (province, number)
        self.matches = found
        outcome = self.query_one("#find-outcome", Static)
        table = cast("DataTable[str]", self.query_one("#matches", DataTable))
        if found:
            outcome.update(_("1 patient has this number: Enter opens the record.") if len(found) == 1 else
                           _("{count} patients have this number: Enter opens the highlighted one.").format(
                               count=len(found)))
            self._fill(table, found)
            table.display = True
            table.focus()
        else:
            outcome.update(_("No patient has this number. New patient: fill in the form, then Ctrl+S."))
            self.form.display = True
            self.query_one("#new-last", Input).focus()
            self._check_number()
        self.refresh_bindings()

    def _fill(self, table: DataTable[str], found: list[PatientSummary]) -> None:
        table.clear(columns=True)
        name_width = max(16, self.size.width - 2 - 10 - 8 - 15 - 8 - 1)
        table.add_column(_("Name"), width=name_width)
        for label, width in ((N_("Birth date"), 10), (N_("Chart"), 8), (N_("Health no."), 15)):
            table.add_column(_(label), width=width)
        for patient in found:
            table.add_row(cell_text(display_name(patient.last_name, patient.first_name, patient.preferred_name),
                                    name_width),
                          cell_text(patient.date_of_birth.isoformat() if patient.date_of_birth else "", 10),
                          cell_text(patient.chart_id, 8), cell_text(patient.health_number or "", 15),
                          key=str(patient.id))

    @on(DataTable.RowSelected, "#matches")
    def _open(self, event: DataTable.RowSelected) -> None:
        from screens.patient_view import PatientViewScreen

        if event.row_key.value is not None:
            self.app.push_screen(PatientViewScreen(int(event.row_key.value)))

    # -- creating ------------------------------------------------------------------------
    @on(Input.Submitted, "#new-patient Input")
    def _next_field(self, event: Input.Submitted) -> None:
        fields = list(self.form.query(Input))
        if event.input is fields[-1]:
            self.action_create()
        else:
            fields[fields.index(event.input) + 1].focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "create":
            return self.form.display  # shown in the footer only with the form
        return True

    def action_create(self) -> None:
        accueil = self.accueil_app.accueil
        if accueil is None or not self.form.display:
            return
        details = self.form.details(self.province, self.number, self.accueil_app.clock.today())
        if isinstance(details, str):
            shown_above = details in str(self.query_one("#number-check", Static).render())
            self._say_form(_("Not created: see the message under the health number.") if shown_above else details)
            return
        self._say_form(_("Creating the record…"), style="$text-muted")
        self._create(accueil, details)

    def _say_form(self, text: str, *, style: str = PROBLEM_STYLE) -> None:
        self.query_one("#form-check", Static).update(Content.styled(text, style) if text else "")

    def action_back(self) -> None:
        if self.looked_up is not None:
            self._show_number_only()
            self.query_one("#health-number", Input).focus()
        else:
            self.dismiss(None)


__all__ = ["FindOrCreateScreen"]
