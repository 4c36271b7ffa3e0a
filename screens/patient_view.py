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
a confirmation, PT-6), and last the built-in EMR chart (what the import wrote, ``core.emr.chart``);
``c`` opens its entries to read a note or save a document (``screens.chart_entry``, audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from core.formatting import format_date, format_datetime
from core.i18n import _
from tui.clock import Clock, age_on
from tui.errors import error_text
from tui.formatting import display_name, fit
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.emr.chart import ChartLine
    from core.patients.contact import MessageLine
    from core.patients.records import AppointmentSummary, PatientRecord
    from core.portal.status import PortalStatus
    from tui.app import AccueilApp

RECORD_GROUP = "patient-record"
PORTAL_GROUP = "patient-portal"
MESSAGES_GROUP = "patient-messages"
GAP = 2  # cells between the two columns of fields
LABEL_STYLE = "$text-muted"
WARNING_STYLE = "bold $text-error"
HEADING_STYLE = "bold $text-accent"

SEXES = {"F": N_("Female"), "M": N_("Male"), "X": N_("Another gender")}
LANGUAGES = {"fr": N_("French"), "en": N_("English")}
SYSTEMS = {"patient_app": N_("Patient app")}
KINDS = {"visit": N_("Visit"), "follow_up": N_("Follow-up"), "vaccination": N_("Vaccination"),
         "phone": N_("Phone call")}
STATUSES = {"booked": N_("Booked"), "cancelled": N_("Cancelled"), "done": N_("Done")}
MESSAGE_STATES = {"queued": N_("queued"), "sent": N_("sent"), "failed": N_("failed"), "uncertain": N_("uncertain"),
                  "viewed": N_("viewed"), "replied": N_("replied")}


class PatientViewScreen(Screen[None]):
    """The record of one patient, read-only for now."""

    SCREEN_HELP: ClassVar[str] = N_(
        "One patient's record: contact details, consents and appointments. Opening it is recorded in the "
        "access log. Esc goes back to the search results.")

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
        from core.emr.chart import list_chart
        from core.patients.records import open_patient
        from core.portal.status import portal_status

        with accueil.uow(write=True) as uow:
            record = open_patient(uow, patient_id, via="search")
        with accueil.uow() as uow:
            self.chart = tuple(list_chart(uow.session, patient_id))
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

        question = _("Purge {name} from the portal? Every link and portal session ends now, and unread "
                     "messages, the clinic's files and pending forms are deleted from the portal. The EMR "
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


# -- drawing the record ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: Content
    wide: bool = False
    """Takes the whole line (long values: e-mail, health number, names)."""


def render_record(record: PatientRecord, clock: Clock, *, width: int) -> Content:
    lines: list[Content] = [
        Content.styled(display_name(record.last_name, record.first_name, record.preferred_name), HEADING_STYLE),
        Content(""),
    ]
    lines.extend(field_lines(record_fields(record, clock), width))
    lines.append(Content(""))
    lines.extend(appointment_lines(record.appointments, clock))
    return Content("\n").join(lines)


def record_fields(record: PatientRecord, clock: Clock) -> list[Field]:
    def text(value: str | None) -> Content:
        return Content(value) if value else Content.styled(_("none"), LABEL_STYLE)

    birth = _("unknown")
    if record.date_of_birth is not None:
        years = age_on(record.date_of_birth, clock.today())
        birth = _("{date} ({years} years)").format(date=format_date(record.date_of_birth), years=years)
    email = text(record.email)
    if record.email and record.email_bad:
        email = Content.assemble(email, "  ", (_("bad address"), WARNING_STYLE))
    return [
        Field(_("Chart ID"), Content(record.chart_id)),
        Field(_("Date of birth"), Content(birth)),
        Field(_("Sex"), text(coded(SEXES, record.sex))),
        Field(_("Language"), text(coded(LANGUAGES, record.language))),
        Field(_("Health number"), text(health_text(record)), wide=True),
        Field(_("Email"), email, wide=True),
        Field(_("Phone"), text(record.phone)),
        Field(_("Postal code"), text(record.postal_code)),
        Field(_("Email consent"), Content(consent_text(record.email_consent, record.email_consent_at, clock))),
        Field(_("Push notifications"), Content(_("on") if record.push_enabled else _("off"))),
        Field(_("Marketing consent"),
              Content(consent_text(record.marketing_consent, record.marketing_consent_at, clock))),
        Field(_("Last visit"), text(format_date(record.last_visit) if record.last_visit else None)),
        Field(_("Primary provider"), text(record.primary_provider), wide=True),
        Field(_("Connected systems"),
              text(", ".join(coded(SYSTEMS, system) or system for system in record.connected_systems)), wide=True),
    ]


def field_lines(fields: Sequence[Field], width: int) -> list[Content]:
    """Lay fields out two to a line when they fit in ``width`` cells, else one to a line."""
    rows: list[list[Field]] = []
    for field in fields:
        if not field.wide and rows and len(rows[-1]) == 1 and not rows[-1][0].wide:
            rows[-1].append(field)
        else:
            rows.append([field])
    left_label = max(_cells(f.label) for f in fields) + 1
    left_value = max((row[0].value.cell_length for row in rows if len(row) == 2), default=0)
    right_label = max((_cells(row[1].label) for row in rows if len(row) == 2), default=0) + 1
    right_value = max((row[1].value.cell_length for row in rows if len(row) == 2), default=0)
    if left_label + left_value + GAP + right_label + right_value > width:
        rows = [[field] for field in fields]

    def labelled(field: Field, label_width: int) -> Content:
        return Content.assemble((field.label.ljust(label_width), LABEL_STYLE), field.value)

    lines = []
    for row in rows:
        line = labelled(row[0], left_label)
        if len(row) == 2:
            line = Content.assemble(line.pad_right(left_value - row[0].value.cell_length + GAP),
                                    labelled(row[1], right_label))
        lines.append(line)
    return lines


def appointment_lines(appointments: Sequence[AppointmentSummary], clock: Clock) -> list[Content]:
    now = clock.now()
    upcoming = sorted((a for a in appointments if a.starts_at >= now), key=lambda a: a.starts_at)
    recent = sorted((a for a in appointments if a.starts_at < now), key=lambda a: a.starts_at, reverse=True)
    if not upcoming and not recent:
        return [Content.styled(_("Appointments"), HEADING_STYLE), Content.styled(_("none on file"), LABEL_STYLE)]
    table = [
        (format_datetime(clock.local(a.starts_at)), a.provider_name or "", coded(KINDS, a.kind) or "",
         coded(STATUSES, a.status) or "")
        for a in (*upcoming, *recent)
    ]
    widths = [max(_cells(row[i]) for row in table) for i in range(4)]

    def line(cells: tuple[str, str, str, str]) -> Content:
        return Content("  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip())

    lines: list[Content] = []
    if upcoming:
        lines.append(Content.styled(_("Upcoming appointments"), HEADING_STYLE))
        lines.extend(line(cells) for cells in table[: len(upcoming)])
    if recent:
        lines.append(Content.styled(_("Recent appointments"), HEADING_STYLE))
        lines.extend(line(cells) for cells in table[len(upcoming):])
    return lines


def chart_lines(chart: Sequence[ChartLine], clock: Clock) -> list[Content]:
    """The built-in EMR chart (EM): what the import wrote, newest first; bodies stay in the record."""
    from core.emr.chart import KIND_NAMES, STATE_NAMES

    lines = [Content.styled(_("EMR chart"), HEADING_STYLE)]
    if not chart:
        return [*lines, Content.styled(_("none on file"), LABEL_STYLE)]
    for entry in chart:
        kind = _(KIND_NAMES.get(entry.kind, entry.kind))
        if entry.state:
            kind += f" ({_(STATE_NAMES.get(entry.state, entry.state))})"
        where = " / ".join(part for part in (entry.folder, entry.subfolder) if part)
        lines.append(Content.assemble((clock.local(entry.created_at).strftime("%Y-%m-%d") + "  ", LABEL_STYLE),
                                      f"{kind}  {entry.title}", (f"  [{where}]" if where else "", LABEL_STYLE)))
    return lines


def portal_lines(status: PortalStatus, clock: Clock) -> list[Content]:
    """PT-5: reference number, lock-out (``l`` clears it), and what the patient sent through the portal."""
    lines = [Content.styled(_("Portal"), HEADING_STYLE),
             Content.assemble((_("Reference") + "  ", LABEL_STYLE),
                              status.reference or (_("none yet"), LABEL_STYLE))]
    if status.locked:
        when = clock.local(status.locked[-1].locked_at).strftime("%Y-%m-%d %H:%M")
        lines.append(Content.styled(_("Locked: {count} link(s), last at {when} (l to unlock)").format(
            count=len(status.locked), when=when), WARNING_STYLE))
    else:
        lines.append(Content.styled(_("No link locked"), LABEL_STYLE))
    sent = _("Replies {replies}, files {files}, open sessions {sessions}").format(
        replies=status.replies, files=status.patient_files, sessions=status.open_sessions)
    if status.last_reply_at is not None:
        sent += "  " + _("last reply {when}").format(when=clock.local(status.last_reply_at).strftime("%Y-%m-%d"))
    lines.append(Content(sent))
    return lines


def message_lines(total: int, messages: Sequence[MessageLine], clock: Clock, width: int) -> list[Content]:
    """The patient's newest messages with their delivery state (PT-5, MS-5)."""
    heading = Content.styled(_("Messages ({count})").format(count=total), HEADING_STYLE)
    if not messages:
        return [heading, Content.styled(_("none sent"), LABEL_STYLE)]
    states = [coded(MESSAGE_STATES, m.state) or "" for m in messages]
    state_width = max(_cells(state) for state in states)
    lines = [heading]
    for message, state in zip(messages, states, strict=True):
        forms = _(" · forms {done}/{count}").format(done=message.forms_completed, count=message.forms) \
            if message.forms else ""
        start = clock.local(message.created_at).strftime("%Y-%m-%d %H:%M") + "  "
        style = WARNING_STYLE if message.state in ("failed", "uncertain") else ""
        room = max(8, width - _cells(start) - state_width - 2 - _cells(forms))
        lines.append(Content.assemble(start, (state.ljust(state_width), style), "  ",
                                      fit(message.subject, room), forms))
    return lines


def coded(names: dict[str, str], code: str | None) -> str | None:
    """A stored code (``F``, ``fr``, ``follow_up``) in words; an unknown code as stored."""
    if code is None:
        return None
    return _(names[code]) if code in names else code


def health_text(record: PatientRecord) -> str | None:
    if not record.health_number:
        return None
    details = [record.health_province or ""]
    if record.health_version:
        details.append(_("version {code}").format(code=record.health_version))
    details = [d for d in details if d]
    return f"{record.health_number} ({', '.join(details)})" if details else record.health_number


def consent_text(given: bool, since: datetime | None, clock: Clock) -> str:
    if not given:
        return _("no")
    if since is not None:
        return _("yes, {date}").format(date=format_date(clock.local(since).date()))
    return _("yes")


def _cells(text: str) -> int:
    return Content(text).cell_length


__all__ = ["PatientViewScreen", "render_record"]
