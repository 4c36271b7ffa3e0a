"""The patient view (PT-1, PT-5): one patient's record on one 80×24 screen; Esc goes back.

Pushed by the Patients screen with a patient id. Opening it calls
``core.patients.records.open_patient`` in a write unit of work (the view is audited, SR-1) on a
thread worker, then draws the record as one block of text: labels in a column whose width
follows the language, short fields two to a line when the terminal is wide enough, then the
appointments, upcoming first (soonest first), then recent (latest first), in local time.
Then the patient's newest messages with their delivery state (queued, sent, failed, uncertain,
viewed, replied; ``core.patients.contact.patient_messages``, read after the record; ``m``
writes a message, ``screens.compose``), the portal status (reference, locked links, what the
patient sent; ``l`` clears a lock-out (PT-5) and ``P`` purges the patient from the portal after
a confirmation, PT-6), the built-in EMR chart (what the import wrote, ``core.emr.chart``;
``c`` opens its entries to read a note or save a document, ``screens.chart_entry``, audited), and
last the access log: the newest audit entries about the patient (``core.audit_query.patient_entries``).
The sections are drawn by ``screens.patient_sections``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from screens.patient_sections import access_lines, chart_lines, message_lines, portal_lines, render_record
from tui.errors import error_text
from tui.formatting import display_name
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.audit_query import AuditRow
    from core.bootstrap import Accueil
    from core.emr.chart import ChartLine
    from core.patients.contact import MessageLine
    from core.patients.records import PatientRecord
    from core.portal.status import PortalStatus
    from tui.app import AccueilApp

RECORD_GROUP = "patient-record"
PORTAL_GROUP = "patient-portal"
MESSAGES_GROUP = "patient-messages"
ACCESS_LOG_ROWS = 10  # the newest audit entries about the patient shown in the access log


class PatientViewScreen(Screen[None]):
    """The record of one patient, read-only for now."""

    SCREEN_HELP: ClassVar[str] = N_(
        "One patient's record: contact details, consents and appointments, messages, portal, EMR chart, and "
        "last the access log: who opened or changed this record, and when. Opening it is recorded there. "
        "Esc goes back.")

    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="patient.back", priority=True,
                tooltip=N_("Back to the search results.")),
        Binding("l", "clear_lockout", N_("Unlock"), id="patient.clear_lockout",
                tooltip=N_("Clear the portal lock-out of this patient's links.")),
        Binding("P", "purge", N_("Purge portal"), id="patient.purge",
                tooltip=N_("End every portal link and session of this patient and delete the portal copies.")),
        Binding("m", "compose", N_("Message"), id="patient.message",
                tooltip=N_("Write a secure message to this patient.")),
        Binding("c", "chart", N_("Chart"), id="patient.chart",
                tooltip=N_("Open the EMR chart entries: read a note, save a document.")),
    ]

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.patient_id = patient_id
        self.record: PatientRecord | None = None
        self.chart: tuple[ChartLine, ...] = ()
        self.access: tuple[AuditRow, ...] = ()
        self.portal: PortalStatus | None = None
        self.messages: tuple[int, list[MessageLine]] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="record"):
            yield Static(_("Opening the record…"), id="record-body", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#record", VerticalScroll).focus()
        app = cast("AccueilApp", self.app)
        if app.accueil is not None:
            self._open(app.accueil, self.patient_id)
        else:  # the Patients screen waits for the clinic, but a future caller may not
            app.clinic_ready_signal.subscribe(self, lambda accueil: self._open(accueil, self.patient_id))

    def compose_targets(self) -> list[int]:
        """The patients a new message goes to from here (the palette's "patient: write a message")."""
        return [self.patient_id]

    def action_compose(self) -> None:
        from screens.compose import ComposeScreen

        def done(sent: bool | None) -> None:
            accueil = cast("AccueilApp", self.app).accueil
            if sent and accueil is not None:
                self._messages(accueil, self.patient_id)

        self.app.push_screen(ComposeScreen(self.compose_targets()), done)

    @work(thread=True, exclusive=True, group=MESSAGES_GROUP, exit_on_error=False, description="patient messages")
    def _messages(self, accueil: Accueil, patient_id: int) -> tuple[int, list[MessageLine]]:
        from core.patients.contact import patient_messages

        with accueil.uow() as uow:
            return patient_messages(uow.session, patient_id)

    @work(thread=True, exclusive=True, group=RECORD_GROUP, exit_on_error=False, description="open a patient record")
    def _open(self, accueil: Accueil, patient_id: int) -> tuple[PatientRecord, PortalStatus]:
        from core.audit_query import patient_entries
        from core.emr.chart import list_chart
        from core.patients.records import open_patient
        from core.portal.status import portal_status

        with accueil.uow(write=True) as uow:
            record = open_patient(uow, patient_id, via="search")
        with accueil.uow() as uow:
            self.chart = tuple(list_chart(uow.session, patient_id))
            self.access = tuple(patient_entries(uow.session, patient_id, limit=ACCESS_LOG_ROWS))
            return record, portal_status(uow, patient_id)

    @work(thread=True, exclusive=True, group=PORTAL_GROUP, exit_on_error=False, description="portal action")
    def _portal_action(self, accueil: Accueil, action: str) -> tuple[str, int, PortalStatus]:
        from core.portal.access import clear_lockout
        from core.portal.purge import purge_patient
        from core.portal.status import portal_status

        with accueil.uow(write=True) as uow:
            count = clear_lockout(uow, self.patient_id) if action == "clear" else \
                purge_patient(uow, self.patient_id).links
        with accueil.uow() as uow:
            return action, count, portal_status(uow, self.patient_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == PORTAL_GROUP:
            self._portal_done(worker)
            return
        if worker.group == MESSAGES_GROUP and worker.state == WorkerState.SUCCESS:
            self.messages = cast("tuple[int, list[MessageLine]]", worker.result)
            if self.record is not None:
                self._draw()
        if worker.group != RECORD_GROUP:
            return
        body = self.query_one("#record-body", Static)
        if worker.state == WorkerState.SUCCESS:
            self.record, self.portal = cast("tuple[PatientRecord, PortalStatus]", worker.result)
            self._draw()
            accueil = cast("AccueilApp", self.app).accueil
            if accueil is not None and self.messages is None:
                self._messages(accueil, self.patient_id)
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            body.update(_("The record cannot be opened: {reason}").format(reason=error_text(worker.error)))

    def on_resize(self) -> None:
        if self.record is not None:
            self._draw()

    def _draw(self) -> None:
        assert self.record is not None
        clock = cast("AccueilApp", self.app).clock
        # Padding on both sides and room for a scrollbar should the appointments overflow.
        width = self.size.width - 3
        content = render_record(self.record, clock, width=width)
        if self.messages is not None:
            total, lines = self.messages
            content = Content("\n").join([content, Content(""), *message_lines(total, lines, clock, width)])
        if self.portal is not None:
            content = Content("\n").join([content, Content(""), *portal_lines(self.portal, clock)])
        content = Content("\n").join([content, Content(""), *chart_lines(self.chart, clock)])
        content = Content("\n").join([content, Content(""), *access_lines(self.access, clock, width)])
        self.query_one("#record-body", Static).update(content)

    def action_back(self) -> None:
        self.dismiss()

    def action_clear_lockout(self) -> None:
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is None or self.portal is None:
            return
        if not self.portal.locked:
            self.notify(_("No portal link of this patient is locked."), severity="warning")
            return
        self._portal_action(accueil, "clear")

    def action_purge(self) -> None:
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is None or self.record is None:
            return
        from screens.confirm import ConfirmScreen

        question = _("Purge {name} from the portal? Every link and portal session ends now, and the "
                     "secure messages (read or not), the clinic's files and pending forms are deleted from the portal. The EMR "
                     "record is not touched.").format(name=display_name(self.record.last_name,
                                                                         self.record.first_name, None))

        def decided(answer: bool | None) -> None:
            if answer:
                self._portal_action(accueil, "purge")

        self.app.push_screen(ConfirmScreen(question), decided)

    def _portal_done(self, worker: Worker) -> None:
        if worker.state == WorkerState.SUCCESS:
            action, count, self.portal = cast("tuple[str, int, PortalStatus]", worker.result)
            self.notify(_("Lock-out cleared on {count} link(s).").format(count=count) if action == "clear"
                        else _("Purged from the portal: {count} link(s) ended.").format(count=count))
            self._draw()
        elif worker.state == WorkerState.ERROR and worker.error is not None:
            self.notify(error_text(worker.error), title=_("Portal"), severity="error")

    def action_chart(self) -> None:
        from screens.chart_entry import ChartEntriesScreen

        if self.chart:
            self.app.push_screen(ChartEntriesScreen(self.chart))
        elif self.record is not None:
            self.notify(_("This patient has no EMR chart entries."))


