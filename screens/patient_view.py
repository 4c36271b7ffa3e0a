"""The patient view (PT-1, PT-5): one patient's record on one 80×24 screen; Esc goes back.

Pushed by the Patients screen with a patient id. Opening it calls
``core.patients.records.open_patient`` in a write unit of work (the view is audited, SR-1) on a
thread worker, then draws the record as one block of text: labels in a column whose width
follows the language, short fields two to a line when the terminal is wide enough, then the
appointments, upcoming first (soonest first), then recent (latest first), in local time.
Last comes the built-in EMR chart (what the import wrote, ``core.emr.chart``); ``c`` opens its
entries to read a note or save a document (``screens.chart_entry``, audited). Messages, forms queue,
campaigns and portal status (the rest of PT-5) will be more sections.
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

from core.i18n import _
from tui.clock import Clock, age_on
from tui.errors import error_text
from tui.formatting import display_name
from tui.i18n import N_, translate_bindings
from tui.widgets.footer import KeyFooter

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.emr.chart import ChartLine
    from core.patients.records import AppointmentSummary, PatientRecord
    from tui.app import AccueilApp

RECORD_GROUP = "patient-record"
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


class PatientViewScreen(Screen[None]):
    """The record of one patient, read-only for now."""

    SCREEN_HELP: ClassVar[str] = N_(
        "One patient's record: contact details, consents and appointments. Opening it is recorded in the "
        "access log. Esc goes back to the search results.")

    BINDINGS = [
        Binding("escape", "back", N_("Back"), id="patient.back", priority=True,
                tooltip=N_("Back to the search results.")),
        Binding("c", "chart", N_("Chart"), id="patient.chart",
                tooltip=N_("Open the EMR chart entries: read a note, save a document.")),
    ]

    def __init__(self, patient_id: int) -> None:
        super().__init__()
        translate_bindings(self)
        self.patient_id = patient_id
        self.record: PatientRecord | None = None
        self.chart: tuple[ChartLine, ...] = ()

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

    @work(thread=True, exclusive=True, group=RECORD_GROUP, exit_on_error=False, description="open a patient record")
    def _open(self, accueil: Accueil, patient_id: int) -> PatientRecord:
        from core.emr.chart import list_chart
        from core.patients.records import open_patient

        with accueil.uow(write=True) as uow:
            record = open_patient(uow, patient_id, via="search")
        with accueil.uow() as uow:
            self.chart = tuple(list_chart(uow.session, patient_id))
        return record

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != RECORD_GROUP:
            return
        body = self.query_one("#record-body", Static)
        if worker.state == WorkerState.SUCCESS:
            self.record = cast("PatientRecord", worker.result)
            self._draw()
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
        self.query_one("#record-body", Static).update(render_record(self.record, clock, width=width, chart=self.chart))

    def action_back(self) -> None:
        self.dismiss()

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


def render_record(record: PatientRecord, clock: Clock, *, width: int, chart: Sequence[ChartLine] = ()) -> Content:
    lines: list[Content] = [
        Content.styled(display_name(record.last_name, record.first_name, record.preferred_name), HEADING_STYLE),
        Content(""),
    ]
    lines.extend(field_lines(record_fields(record, clock), width))
    lines.append(Content(""))
    lines.extend(appointment_lines(record.appointments, clock))
    lines.append(Content(""))
    lines.extend(chart_lines(chart, clock))
    return Content("\n").join(lines)


def record_fields(record: PatientRecord, clock: Clock) -> list[Field]:
    def text(value: str | None) -> Content:
        return Content(value) if value else Content.styled(_("none"), LABEL_STYLE)

    birth = _("unknown")
    if record.date_of_birth is not None:
        years = age_on(record.date_of_birth, clock.today())
        birth = _("{date} ({years} years)").format(date=record.date_of_birth.isoformat(), years=years)
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
        Field(_("Last visit"), text(record.last_visit.isoformat() if record.last_visit else None)),
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
        (clock.local(a.starts_at).strftime("%Y-%m-%d %H:%M"), a.provider_name or "", coded(KINDS, a.kind) or "",
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
        return _("yes, {date}").format(date=clock.local(since).date().isoformat())
    return _("yes")


def _cells(text: str) -> int:
    return Content(text).cell_length


__all__ = ["PatientViewScreen", "render_record"]
