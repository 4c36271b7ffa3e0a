"""The front desk's "fix this address" list (MS-5): emails that bounced because the mailbox does not exist.

A server answering 5.1.1 flags the patient's address (``core.outbox.queue.mark_failed``); every
later send skips that patient until the address is corrected. This screen lists the flagged
patients (``core.patients.contact.bad_addresses``): name, chart ID, the bad address, when it
bounced, and under the table the bounced message's subject and the server's reply. Enter asks
for the corrected address (``AddressDialog``) and, when there is a bounced message, whether to
send it again to the new address; ``o`` opens the patient's record. Reached with ``a`` on the
Outbox screen and from the palette ("message: fix bounced addresses").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen, Screen
from textual.widgets import Checkbox, DataTable, Input, Label, Static
from textual.worker import Worker, WorkerState

from core.i18n import _
from tui.core_text import Refused, core_text
from tui.formatting import display_name, fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter
from tui.widgets.message_form import steady_cursors

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.patients.contact import AddressCorrected, BadAddress
    from tui.app import AccueilApp

LOAD_GROUP = "bad-addresses-load"
FIX_GROUP = "bad-addresses-fix"
FIXED = (("chart", N_("Chart ID"), 12), ("address", N_("Bad address"), 28), ("when", N_("Bounced"), 11))


class AddressDialog(ModalScreen[tuple[str, bool] | None]):
    """The corrected address and whether to resend; None when cancelled."""

    SCREEN_HELP: ClassVar[str] = N_("Type the patient's correct email address; Enter saves, Esc cancels.")
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), id="address.save", priority=True,
                tooltip=N_("Save the corrected address.")),
        Binding("escape", "cancel", N_("Cancel"), id="address.cancel", tooltip=N_("Leave the address as it is.")),
    ]
    DEFAULT_CSS = """
    AddressDialog { align: center middle; }
    #address-dialog { width: 70; height: auto; padding: 1 2; background: $panel; border: round $primary; }
    #address-dialog Checkbox { border: none; padding: 0; margin-top: 1; }
    """

    def __init__(self, who: str, address: str, can_resend: bool) -> None:
        super().__init__()
        translate_bindings(self)
        self.who, self.address, self.can_resend = who, address, can_resend

    def compose(self) -> ComposeResult:
        with Vertical(id="address-dialog"):
            yield Label(_("Correct email address for {name}").format(name=self.who), markup=False)
            yield Input(self.address, id="address-input", compact=True)
            if self.can_resend:
                yield Checkbox(_("Send the message that bounced again, to this address"), True, id="address-resend",
                               compact=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#address-input", Input).focus()
        steady_cursors(self)

    @on(Input.Submitted, "#address-input")
    def action_save(self) -> None:
        resend = self.can_resend and self.query_one("#address-resend", Checkbox).value
        self.dismiss((self.query_one("#address-input", Input).value.strip(), resend))

    def action_cancel(self) -> None:
        self.dismiss(None)


class FixAddressesScreen(Screen[None]):
    SCREEN_HELP: ClassVar[str] = N_(
        "Patients whose email bounced because the mailbox does not exist. No message reaches them until the "
        "address is corrected: ask the patient, then press Enter to type the right address.")
    BINDINGS = [
        Binding("enter", "fix", N_("Fix"), id="addresses.fix", priority=True,
                tooltip=N_("Type the correct address of the highlighted patient.")),
        Binding("o", "open_patient", N_("Patient"), id="addresses.open",
                tooltip=N_("Open the highlighted patient's record.")),
        Binding("r", "refresh", N_("Refresh"), id="addresses.refresh", tooltip=N_("Read the list again.")),
        Binding("escape", "back", N_("Back"), id="addresses.back", tooltip=N_("Back to where you were.")),
    ]
    DEFAULT_CSS = """
    #addresses-status, #addresses-detail { height: 1; padding: 0 1; color: $text-muted; }
    #addresses-detail { height: 2; }
    #addresses-list { height: 1fr; background: $surface; }
    """

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)
        self.entries: list[BadAddress] = []

    def compose(self) -> ComposeResult:
        yield Static(_("Reading the list…"), id="addresses-status", markup=False)
        yield DataTable(id="addresses-list", cursor_type="row")
        yield Static("", id="addresses-detail", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.table.focus()
        app = cast("AccueilApp", self.app)
        if app.accueil is not None:
            self.reload()
        else:
            app.clinic_ready_signal.subscribe(self, lambda _accueil: self.reload())

    def on_screen_resume(self) -> None:
        if self.entries:  # back from a patient's record, where the address may have changed
            self.reload()

    @property
    def table(self) -> DataTable[str]:
        return cast("DataTable[str]", self.query_one("#addresses-list", DataTable))

    def reload(self) -> None:
        accueil = cast("AccueilApp", self.app).accueil
        if accueil is not None:
            self._load(accueil)

    @work(thread=True, exclusive=True, group=LOAD_GROUP, exit_on_error=False, description="bounced addresses")
    def _load(self, accueil: Accueil) -> list[BadAddress]:
        from core.patients.contact import bad_addresses

        with accueil.uow(write=True) as uow:  # the list view is audited
            return bad_addresses(uow)

    @work(thread=True, exclusive=True, group=FIX_GROUP, exit_on_error=False, description="correct an address")
    def _fix(self, accueil: Accueil, patient_id: int, address: str,
             message_id: int | None) -> AddressCorrected | Refused:
        from core.errors import AccueilError
        from core.patients.contact import correct_email

        try:
            with accueil.uow(write=True) as uow:
                return correct_email(uow, patient_id, address, cipher=accueil.cipher, requeue_message_id=message_id)
        except AccueilError as error:
            return Refused(error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == LOAD_GROUP:
            if worker.state == WorkerState.SUCCESS:
                self.entries = cast("list[BadAddress]", worker.result)
                self._fill()
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self.query_one("#addresses-status", Static).update(
                    _("The list cannot be read: {reason}").format(reason=core_text(worker.error)))
        elif worker.group == FIX_GROUP:
            if worker.state == WorkerState.SUCCESS and isinstance(worker.result, Refused):
                self.notify(core_text(worker.result.error), title=_("Address not changed"), severity="error")
            elif worker.state == WorkerState.SUCCESS:
                result = cast("AddressCorrected", worker.result)
                self.notify(_("Address corrected; the message will be sent again.") if result.requeued_message_id
                            else _("Address corrected."))
                self.reload()
            elif worker.state == WorkerState.ERROR and worker.error is not None:
                self.notify(core_text(worker.error), title=_("Address not changed"), severity="error")

    def _fill(self) -> None:
        table = self.table
        row = table.cursor_row
        table.clear(columns=True)
        name_width = max(14, self.size.width - sum(w for _k, _l, w in FIXED) - 2 * (len(FIXED) + 1) - 2)
        table.add_column(_("Name"), width=name_width, key="name")
        for key, label, width in FIXED:
            table.add_column(_(label), width=width, key=key)
        clock = cast("AccueilApp", self.app).clock
        for entry in self.entries:
            table.add_row(fit(display_name(entry.last_name, entry.first_name, entry.preferred_name), name_width),
                          entry.chart_id, fit(entry.email, 28), clock.local(entry.flagged_at).strftime("%m-%d %H:%M"),
                          key=str(entry.patient_id))
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)
        status = (_("{count} addresses to fix · Enter fix · o open the patient").format(count=len(self.entries))
                  if self.entries else _("No bounced address: every flagged address has been fixed."))
        self.query_one("#addresses-status", Static).update(status)
        self._show_detail()

    @on(DataTable.RowHighlighted, "#addresses-list")
    def _show_detail(self) -> None:
        entry = self.highlighted()
        text = ""
        if entry is not None and entry.message_id is not None:
            text = _("Bounced: “{subject}”").format(subject=entry.subject or "")
            if entry.error:
                text += "\n" + _("Server: {error}").format(error=entry.error)
        self.query_one("#addresses-detail", Static).update(text)

    def highlighted(self) -> BadAddress | None:
        table = self.table
        if not self.entries or table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return next((e for e in self.entries if str(e.patient_id) == key), None)

    def action_fix(self) -> None:
        entry = self.highlighted()
        accueil = cast("AccueilApp", self.app).accueil
        if entry is None or accueil is None:
            return

        def decided(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                address, resend = answer
                self._fix(accueil, entry.patient_id, address, entry.message_id if resend else None)

        who = display_name(entry.last_name, entry.first_name, entry.preferred_name)
        self.app.push_screen(AddressDialog(who, entry.email, entry.message_id is not None), decided)

    def action_open_patient(self) -> None:
        entry = self.highlighted()
        if entry is not None:
            from screens.patient_view import PatientViewScreen

            self.app.push_screen(PatientViewScreen(entry.patient_id))

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss()


__all__ = ["AddressDialog", "FixAddressesScreen"]
