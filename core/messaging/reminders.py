"""MS-9 appointment reminders: rules, the worker's scheduled job, tomorrow's list and a test mode.

A rule (``ReminderRule``) says: N days before a booked appointment with one of these providers
(all when none is named) and of one of these kinds (all when none), send this reminder template
(``alt_template_id``: the same reminder in the other language, chosen by the patient's
language). Days are the clinic's days (``settings.timezone``).

The worker runs :func:`run_reminders` from ``core.outbox.scheduler``. A reminder is due from its
day (N days before the appointment's date) until the appointment begins, so a worker that was
stopped on the day catches up. Each one is written in one transaction: a ``ReminderSent`` row,
the message and its outbox item. The row's unique (rule, appointment) constraint is the
once-only guarantee: a second worker's ``INSERT … ON CONFLICT DO NOTHING`` inserts nothing (it
waits for the first on PostgreSQL; SQLite write transactions are serialised) and sends nothing.
When several rules are due for one appointment at once (booked late), only the one nearest the
appointment is sent and the others are recorded as superseded (no message); a rule with more
days never follows one with fewer that was already sent.

Sending follows MS-7 through the appointment's provider: a reminder goes only for a provider
whose staff account holds an active licence. An unreachable patient (no email, no consent, bad
address), an unlicensed provider or a placeholder without a value is not recorded, so it is
sent once the cause is fixed if the appointment is still ahead; the preview names the reason.
An appointment moved after its reminder went does not get a second one from the same rule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import audit
from core.db.models import Appointment, Licence, Patient, Provider, ReminderRule, ReminderSent, Template, User
from core.errors import InvalidInput, NotFound
from core.messaging.compose import Draft, queue_draft, skip_reason
from core.messaging.templates import TemplateData, find_template, load_template
from core.uow import UnitOfWork

if TYPE_CHECKING:
    from core.bootstrap import Accueil

log = logging.getLogger("accueil.reminders")

MAX_DAYS_BEFORE = 60
SENDER_LABEL = "Appointment reminders"
_SENT_INSERT = {name: dialect.insert(ReminderSent).on_conflict_do_nothing(
    index_elements=["rule_id", "appointment_id"]).returning(ReminderSent.rule_id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


@dataclass(frozen=True)
class RuleSummary:
    id: int
    name: str
    days_before: int
    template: str
    alt_template: str | None
    providers: tuple[str, ...]  # display names; empty = every provider
    appointment_kinds: tuple[str, ...]  # empty = every kind
    active: bool


# -- rules ------------------------------------------------------------------------------------

def _reminder_template(session: Session, name: str) -> TemplateData:
    template = find_template(session, name)
    if template.kind != "reminder":
        raise InvalidInput(f"The template '{template.name}' is not an appointment-reminder template.")
    return template


def _provider_id(session: Session, ref: str) -> int:
    """A provider by EMR ID or by display name (case-insensitive)."""
    found = session.scalars(select(Provider.id).where(
        (Provider.emr_id == ref.strip()) | (func.lower(Provider.display_name) == ref.strip().lower()))).all()
    if len(found) != 1:
        raise InvalidInput(f"No single provider matches '{ref}': give the EMR provider ID." if found
                           else f"No provider matches '{ref}'.")
    return found[0]


def add_rule(uow: UnitOfWork, *, name: str, days_before: int, template: str, alt_template: str | None = None,
             providers: tuple[str, ...] = (), appointment_kinds: tuple[str, ...] = ()) -> int:
    session = uow.session
    if not name.strip():
        raise InvalidInput("The reminder rule needs a name.")
    if not 0 <= days_before <= MAX_DAYS_BEFORE:
        raise InvalidInput(f"Days before the appointment must be between 0 and {MAX_DAYS_BEFORE}.")
    if session.scalar(select(ReminderRule.id).where(func.lower(ReminderRule.name) == name.strip().lower())):
        raise InvalidInput(f"There is already a reminder rule named '{name.strip()}'.")
    main = _reminder_template(session, template)
    alt = _reminder_template(session, alt_template) if alt_template else None
    if alt is not None and alt.language == main.language:
        raise InvalidInput("The second template must be in the other language (it is for the other patients).")
    kinds = sorted({kind.strip().lower() for kind in appointment_kinds if kind.strip()})
    rule = ReminderRule(name=name.strip(), days_before=days_before, template_id=main.id,
                        alt_template_id=alt.id if alt else None,
                        provider_ids=sorted({_provider_id(session, ref) for ref in providers}),
                        appointment_kinds=kinds, active=True)
    session.add(rule)
    session.flush()
    audit.record(session, actor=uow.actor, action="reminder.rule-add", detail={"rule_id": rule.id})
    uow.commit()
    return rule.id


def remove_rule(uow: UnitOfWork, name: str) -> None:
    """Delete a rule and its sent-records; the reminder messages themselves stay in each patient's history."""
    session = uow.session
    rule = session.scalar(select(ReminderRule).where(func.lower(ReminderRule.name) == name.strip().lower()))
    if rule is None:
        raise NotFound(f"No reminder rule named '{name}'.")
    session.execute(delete(ReminderSent).where(ReminderSent.rule_id == rule.id))
    session.delete(rule)
    audit.record(session, actor=uow.actor, action="reminder.rule-remove", detail={"rule_id": rule.id})
    uow.commit()


def list_rules(session: Session) -> list[RuleSummary]:
    names = dict(session.execute(select(Template.id, Template.name)).all())
    providers = dict(session.execute(select(Provider.id, Provider.display_name)).all())
    return [RuleSummary(rule.id, rule.name, rule.days_before, names.get(rule.template_id, "?"),
                        names.get(rule.alt_template_id) if rule.alt_template_id else None,
                        tuple(providers.get(i, "?") for i in rule.provider_ids or ()),
                        tuple(rule.appointment_kinds or ()), rule.active)
            for rule in session.scalars(select(ReminderRule).order_by(ReminderRule.days_before, ReminderRule.name))]


# -- what is due ------------------------------------------------------------------------------

def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def rule_matches(rule: ReminderRule, appointment: Appointment) -> bool:
    return ((not rule.provider_ids or appointment.provider_id in rule.provider_ids)
            and (not rule.appointment_kinds or appointment.kind.lower() in rule.appointment_kinds))


def licensed_providers(session: Session) -> set[int]:
    """Providers whose staff account is active and holds an active licence (MS-7)."""
    return set(session.scalars(
        select(Provider.id).join(User, User.id == Provider.user_id).join(Licence, Licence.holder_user_id == User.id)
        .where(User.active.is_(True), Licence.active.is_(True))))


def due_reminders(session: Session, now: datetime, zone: ZoneInfo) -> list[tuple[ReminderRule, Appointment,
                                                                                 list[ReminderRule]]]:
    """(rule to send, appointment, rules it supersedes) for every reminder due at ``now``."""
    rules = list(session.scalars(select(ReminderRule).where(ReminderRule.active.is_(True))
                                 .order_by(ReminderRule.days_before, ReminderRule.id)))
    if not rules:
        return []
    today = now.astimezone(zone).date()
    horizon = local_day_start(today + timedelta(days=max(r.days_before for r in rules) + 1), zone)
    appointments = list(session.scalars(
        select(Appointment).where(Appointment.status == "booked", Appointment.starts_at > now,
                                  Appointment.starts_at < horizon).order_by(Appointment.starts_at, Appointment.id)))
    recorded: dict[int, set[int]] = {}
    for rule_id, appointment_id in session.execute(select(ReminderSent.rule_id, ReminderSent.appointment_id).where(
            ReminderSent.appointment_id.in_([a.id for a in appointments]))) if appointments else ():
        recorded.setdefault(appointment_id, set()).add(rule_id)
    days = {rule.id: rule.days_before for rule in rules}
    due = []
    for appointment in appointments:
        day = appointment.starts_at.astimezone(zone).date()
        done = recorded.get(appointment.id, set())
        nearest_done = min((days[r] for r in done if r in days), default=None)
        ready = [rule for rule in rules if rule.id not in done and rule_matches(rule, appointment)
                 and day - timedelta(days=rule.days_before) <= today]
        if not ready:
            continue
        if nearest_done is not None:  # a nearer reminder already went: these have nothing left to say
            ready = [rule for rule in ready if rule.days_before < nearest_done]
            if not ready:
                continue
        due.append((ready[0], appointment, ready[1:]))
    return due


def template_for(session: Session, rule: ReminderRule, language: str) -> TemplateData:
    main = load_template(session, rule.template_id)
    if main.language != language and rule.alt_template_id is not None:
        return load_template(session, rule.alt_template_id)
    return main


def reminder_draft(template: TemplateData, rule: ReminderRule, appointment: Appointment) -> Draft:
    return Draft(patient_ids=(appointment.patient_id,), subject=template.subject, salutation=template.salutation,
                 body_html=template.body_html, secure_message=template.secure_message,
                 eform_codes=template.eform_codes, options=template.options, kind="reminder",
                 template_id=template.id, sender_emr_name=f"{SENDER_LABEL} ({rule.name})"[:200],
                 appointment_id=appointment.id, licence_checked=True)


# -- the scheduled job ------------------------------------------------------------------------

def run_reminders(app: Accueil, now: datetime) -> int:
    """Queue every due reminder (one transaction each); returns how many were queued."""
    zone = ZoneInfo(app.settings.timezone)
    with app.uow() as uow:
        due = [(rule.id, appointment.id, [r.id for r in superseded])
               for rule, appointment, superseded in due_reminders(uow.session, now, zone)]
    sent = 0
    for rule_id, appointment_id, superseded in due:
        try:
            sent += _send_one(app, rule_id, appointment_id, superseded)
        except InvalidInput as exc:
            # Typically a placeholder without a value; the preview shows it. No patient data in the log.
            log.warning("reminder for appointment %d (rule %d) not sent: %s", appointment_id, rule_id,
                        type(exc).__name__)
    return sent


def _send_one(app: Accueil, rule_id: int, appointment_id: int, superseded: list[int]) -> int:
    with app.uow(write=True) as uow:
        session = uow.session
        rule = session.get(ReminderRule, rule_id)
        appointment = session.get(Appointment, appointment_id)
        if rule is None or not rule.active or appointment is None or appointment.status != "booked":
            return 0
        patient = session.get(Patient, appointment.patient_id)
        if patient is None or skip_reason(patient, "reminder") is not None:
            return 0
        if appointment.provider_id not in licensed_providers(session):
            return 0
        statement = _SENT_INSERT[session.get_bind().dialect.name]
        inserted = session.execute(statement, [{"rule_id": rule_id, "appointment_id": appointment_id}]).scalars().all()
        if not inserted:
            return 0  # another worker has sent it
        if superseded:
            session.execute(statement, [{"rule_id": r, "appointment_id": appointment_id} for r in superseded])
        template = template_for(session, rule, patient.language)
        result = queue_draft(uow, reminder_draft(template, rule, appointment), settings=app.settings,
                             cipher=app.cipher)
        if not result.message_ids:
            return 0
        session.execute(ReminderSent.__table__.update().where(
            ReminderSent.rule_id == rule_id, ReminderSent.appointment_id == appointment_id)
            .values(message_id=result.message_ids[0]))
        uow.commit()
    return 1
