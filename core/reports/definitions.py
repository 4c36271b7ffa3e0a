"""The six reports (RP-1): what each one counts, its columns, and which rows it reads.

Five read only the events table (``core.events``), one row per fact as the messaging services
record it; the campaign report reads ``campaign_recipients`` (a recipient's status is a state,
not a fact in time). A report's description says exactly what one row is, in the words the
clinic uses, so a figure taken to a meeting means the same thing to everyone.

Patient data in a report is limited to the chart ID and the name; no report column ever holds
secure content (message text, form answers, replies, attachments) or even an email subject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# The event kinds counted (core.events; not imported so the terminal can read these definitions
# without loading the database layer; a test checks they are core.events' own).
MESSAGE_SENT, FORM_SENT, LINK_CREATED = "message.sent", "form.sent", "link.created"
MESSAGE_CONFIRMED, FORM_COMPLETED = "message.confirmed", "form.completed"


def N_(message: str) -> str:  # noqa: N802 - gettext's "mark now, translate where shown"
    return message


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # English source; translated where shown
    width: int  # cells at 80 columns in the terminal
    sortable: bool = False


@dataclass(frozen=True)
class ReportSpec:
    name: str  # the CLI name: `accueil report NAME`
    title: str
    description: str
    kind: str | None  # the event kind it counts; None for the campaign report
    columns: tuple[Column, ...]


AT = Column("at", N_("Date"), 16, sortable=True)
MESSAGE = Column("message", N_("Msg"), 5)
CHART = Column("chart", N_("Chart"), 8, sortable=True)
PATIENT = Column("patient", N_("Patient"), 20, sortable=True)
SENDER = Column("sender", N_("Sender"), 16, sortable=True)
PROVIDER = Column("provider", N_("Provider"), 16, sortable=True)
FORM = Column("form", N_("Form"), 20)
KIND = Column("kind", N_("Type"), 14)
CHANNEL = Column("channel", N_("Channel"), 14)
SENT = Column("sent", N_("Sent on"), 16)
CAMPAIGN = Column("campaign", N_("Campaign"), 18, sortable=True)
STATUS = Column("status", N_("Status"), 10)
REASON = Column("reason", N_("Reason"), 16)

MESSAGES_SENT = "messages-sent"
FORMS_SENT = "forms-sent"
LINKS_CREATED = "links-created"
MESSAGES_CONFIRMED = "messages-confirmed"
FORMS_COMPLETED = "forms-completed"
CAMPAIGN_RECIPIENTS = "campaign-recipients"

REPORTS: tuple[ReportSpec, ...] = (
    ReportSpec(
        MESSAGES_SENT, N_("Secure message sent"),
        N_("One row per secure message sent to a patient without an eForm attached. Messages carrying "
           "eForms are counted in \"Form sent by email link\"; reminders and invitations are not counted."),
        MESSAGE_SENT, (AT, MESSAGE, CHART, PATIENT, SENDER, PROVIDER)),
    ReportSpec(
        FORMS_SENT, N_("Form sent by email link"),
        N_("One row per eForm sent to a patient by email link: a message carrying two eForms gives two rows."),
        FORM_SENT, (AT, MESSAGE, CHART, PATIENT, FORM, SENDER, PROVIDER)),
    ReportSpec(
        LINKS_CREATED, N_("New email invitation link created"),
        N_("One row per email sent with a new personal link: every secure message, reminder and "
           "invitation, with or without eForms (a message carrying two eForms is one row)."),
        LINK_CREATED, (AT, MESSAGE, CHART, PATIENT, KIND, SENDER, PROVIDER)),
    ReportSpec(
        MESSAGES_CONFIRMED, N_("Secure message confirmed"),
        N_("One row per secure message the patient opened, dated at the first opening; opening it "
           "again adds no row. Reminders and invitations are not counted."),
        MESSAGE_CONFIRMED, (AT, MESSAGE, CHART, PATIENT, SENT, SENDER, PROVIDER)),
    ReportSpec(
        FORMS_COMPLETED, N_("Form completed"),
        N_("One row per eForm a patient completed, online from an email link or on a clinic tablet "
           "or kiosk, dated when it was submitted. Forms sent with reminders count too."),
        FORM_COMPLETED, (AT, MESSAGE, CHART, PATIENT, FORM, CHANNEL, SENDER, PROVIDER)),
    ReportSpec(
        CAMPAIGN_RECIPIENTS, N_("Campaign recipients"),
        N_("One row per patient added to a campaign, dated when they were added (not when sent), with "
           "their status: assigned, sent, skipped and why, failed or removed."),
        None, (AT, CAMPAIGN, CHART, PATIENT, STATUS, SENT, REASON, SENDER, PROVIDER)),
)
BY_NAME = {spec.name: spec for spec in REPORTS}

KIND_NAMES = {"secure_message": N_("secure message"), "reminder": N_("reminder"),
              "invitation": N_("invitation")}
CHANNEL_NAMES = {"online": N_("online"), "kiosk": N_("tablet/kiosk")}
STATUS_NAMES = {"assigned": N_("assigned"), "sent": N_("sent"), "skipped": N_("skipped"),
                "failed": N_("failed"), "removed": N_("removed")}


PRESETS = (("today", N_("Today")), ("last7", N_("Last 7 days")), ("last30", N_("Last 30 days")),
           ("month", N_("This month")), ("custom", N_("Custom")))


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The (first, last) local days of a preset; ``custom`` has no days of its own and is refused."""
    if preset == "today":
        return today, today
    if preset == "last7":
        return today - timedelta(days=6), today
    if preset == "last30":
        return today - timedelta(days=29), today
    if preset == "month":
        return today.replace(day=1), today
    from core.errors import InvalidInput

    raise InvalidInput("A custom range needs its two dates.")


def report(name: str) -> ReportSpec:
    from core.errors import NotFound

    spec = BY_NAME.get(name)
    if spec is None:
        raise NotFound("No report by that name. The reports are: " + ", ".join(BY_NAME) + ".")
    return spec


__all__ = ["BY_NAME", "CHANNEL_NAMES", "KIND_NAMES", "PRESETS", "REPORTS", "STATUS_NAMES", "Column", "ReportSpec",
           "preset_range", "report"]
