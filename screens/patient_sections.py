"""The patient view's sections (PT-1, PT-5), drawn as text: record, appointments, messages, portal,
EMR chart and the access log ("who saw this record").

Each function takes plain data read by the screen's workers and returns lines of ``Content``;
nothing here touches the database. Labels sit in a column whose width follows the language;
short fields go two to a line when the terminal is wide enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.content import Content

from core.formatting import format_date, format_datetime
from core.i18n import _
from tui.clock import Clock, age_on
from tui.formatting import display_name, fit
from tui.i18n import N_

if TYPE_CHECKING:
    from core.audit_query import AuditRow
    from core.emr.chart import ChartLine
    from core.patients.contact import MessageLine
    from core.patients.records import AppointmentSummary, PatientRecord
    from core.portal.status import PortalStatus

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
ACCESS_ACTIONS = {
    "patient.view": N_("opened the record"), "patient.create": N_("created the record"),
    "patient.email.correct": N_("corrected the email address"), "patient.list": N_("listed in a preview"),
    "audit.view": N_("read the access log"), "audit.export": N_("exported the access log"),
    "message.send": N_("sent a message"), "message.viewed": N_("message read by the patient"),
    "message.replied": N_("reply from the patient"), "form.completed": N_("form completed by the patient"),
    "chart.view": N_("read a chart entry"), "chart.export": N_("saved a chart document"),
    "emr.import": N_("imported into the EMR chart"), "emr.import_retry": N_("EMR import tried again"),
    "emr.portal_copy_purged": N_("portal copy deleted after import"),
    "portal.identity_confirmed": N_("identity confirmed on the portal"),
    "portal.identity_failed": N_("failed identity check on the portal"),
    "portal.link_locked": N_("portal link locked"), "portal.lockout_cleared": N_("portal lock-out cleared"),
    "portal.file_downloaded": N_("file downloaded on the portal"),
    "portal.message_deleted": N_("message deleted on the portal"), "portal.purge": N_("purged from the portal"),
    "campaign.assign": N_("added to a campaign"), "campaign.remove": N_("removed from a campaign"),
    "campaign.send": N_("campaign message sent"),
}


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




def access_lines(entries: Sequence[AuditRow], clock: Clock, width: int) -> list[Content]:
    """PT-5 "who saw this record": the newest audit entries about the patient, newest first."""
    heading = Content.styled(_("Access log (latest {count})").format(count=len(entries)), HEADING_STYLE)
    if not entries:
        return [Content.styled(_("Access log"), HEADING_STYLE), Content.styled(_("none on file"), LABEL_STYLE)]
    actor_width = min(20, max(_cells(entry.actor) for entry in entries))
    lines = [heading]
    for entry in entries:
        start = clock.local(entry.at).strftime("%Y-%m-%d %H:%M") + "  "
        room = max(8, width - _cells(start) - actor_width - 2)
        lines.append(Content.assemble((start, LABEL_STYLE), fit(entry.actor, actor_width).ljust(actor_width), "  ",
                                      fit(coded(ACCESS_ACTIONS, entry.action) or "", room)))
    return lines


__all__ = ["access_lines", "chart_lines", "message_lines", "portal_lines", "render_record"]
