"""MS-9 for staff: the reminders the worker will send on a day (tomorrow by default), and a test send.

:func:`preview_reminders` lists, for each active rule, the booked appointments whose reminder
day is ``day`` (the appointment's date minus the rule's days), each with what will happen:
``will_send``, ``already_sent``, ``superseded`` (another rule's reminder covers it), or the
reason it will not go (``no_email``, ``no_email_consent``, ``bad_email``, ``provider_unlicensed``,
``problem`` with the placeholder errors). Listing patients is recorded in the audit trail.

:func:`send_test_reminders` is the test mode: the first few reminders that will be sent are
queued to the staff member's own address instead of the patient's, subject marked ``[TEST]``,
with a link that opens nothing. Nothing is recorded as sent, so the patients still get theirs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core import audit
from core.crypto import SiteCipher
from core.db.models import Appointment, Patient, Provider, ReminderRule, ReminderSent, Site, User, utcnow
from core.errors import InvalidInput
from core.licences import check_can_send
from core.messaging.compose import build_email, from_header, preview_draft, skip_reason
from core.messaging.reminders import (
    licensed_providers,
    local_day_start,
    reminder_draft,
    rule_matches,
    template_for,
)
from core.messaging.templates import TemplateData
from core.outbox.queue import OutboxRequest, enqueue_many
from core.outbox.worker import email_payload
from core.settings import Settings
from core.uow import UnitOfWork

WILL_SEND = "will_send"


@dataclass(frozen=True)
class ReminderPreview:
    rule: str
    appointment_id: int
    starts_at: datetime  # in the clinic's time zone
    patient_id: int
    chart_id: str
    patient_name: str
    language: str
    provider: str | None
    appointment_kind: str
    template: str
    status: str
    problem: str | None = None


def preview_reminders(uow: UnitOfWork, day: date | None = None, *, settings: Settings) -> list[ReminderPreview]:
    """Every reminder whose day is ``day`` (default: tomorrow in the clinic's time zone), by time."""
    session = uow.session
    zone = ZoneInfo(settings.timezone)
    day = day or utcnow().astimezone(zone).date() + timedelta(days=1)
    licensed = licensed_providers(session)
    providers = dict(session.execute(select(Provider.id, Provider.display_name)).all())
    rows: list[ReminderPreview] = []
    covered: set[int] = set()
    rules = session.scalars(select(ReminderRule).where(ReminderRule.active.is_(True))
                            .order_by(ReminderRule.days_before, ReminderRule.id)).all()
    for rule in rules:
        start = local_day_start(day + timedelta(days=rule.days_before), zone)
        end = local_day_start(day + timedelta(days=rule.days_before + 1), zone)  # 23 to 25 hours later
        appointments = session.execute(
            select(Appointment, Patient).join(Patient, Patient.id == Appointment.patient_id)
            .where(Appointment.status == "booked", Appointment.starts_at >= start,
                   Appointment.starts_at < end)
            .order_by(Appointment.starts_at, Appointment.id)).all()
        recorded = dict(session.execute(select(ReminderSent.appointment_id, ReminderSent.message_id).where(
            ReminderSent.rule_id == rule.id)).all())
        for appointment, patient in appointments:
            if not rule_matches(rule, appointment):
                continue
            template = template_for(session, rule, patient.language)
            status, problem = _status(uow, rule, appointment, patient, template, recorded, licensed, covered,
                                      settings)
            if status in (WILL_SEND, "already_sent"):
                covered.add(appointment.id)
            rows.append(ReminderPreview(
                rule=rule.name, appointment_id=appointment.id, starts_at=appointment.starts_at.astimezone(zone), patient_id=patient.id,
                chart_id=patient.chart_id, patient_name=f"{patient.last_name}, {patient.first_name}",
                language=patient.language, provider=providers.get(appointment.provider_id or 0),
                appointment_kind=appointment.kind, template=template.name, status=status, problem=problem))
    rows.sort(key=lambda row: (row.starts_at, row.appointment_id, row.rule))
    if rows:
        audit.record_many(session, actor=uow.actor, action="patient.list",
                          entries=[(row.patient_id, {"via": "reminder-preview"}) for row in rows])
        uow.commit()
    return rows


def _status(uow: UnitOfWork, rule: ReminderRule, appointment: Appointment, patient: Patient, template: TemplateData,
            recorded: dict[int, int | None], licensed: set[int], covered: set[int],
            settings: Settings) -> tuple[str, str | None]:
    if appointment.id in recorded:
        return ("already_sent" if recorded[appointment.id] is not None else "superseded"), None
    if appointment.id in covered:
        return "superseded", None
    reason = skip_reason(patient, "reminder")
    if reason:
        return reason, None
    if appointment.provider_id not in licensed:
        return "provider_unlicensed", None
    try:
        preview_draft(uow, reminder_draft(template, rule, appointment), settings=settings)
    except InvalidInput as exc:
        return "problem", exc.message
    return WILL_SEND, None


def send_test_reminders(uow: UnitOfWork, day: date | None = None, *, user_id: int, settings: Settings,
                        cipher: SiteCipher, limit: int = 3) -> int:
    """Queue up to ``limit`` of ``day``'s reminders to the staff member's own address; returns how many."""
    session = uow.session
    check_can_send(session, user_id)
    user = session.get(User, user_id)
    if user is None or not user.email:
        raise InvalidInput("Test reminders go to your own email address, and your account has none.")
    to = user.email
    site = session.scalars(select(Site)).one()
    header, envelope = from_header(site, settings)
    domain = envelope.rpartition("@")[2] or "accueil.invalid"
    chosen = [row for row in preview_reminders(uow, day, settings=settings) if row.status == WILL_SEND][:limit]
    requests = []
    now = utcnow()
    for row in chosen:
        rule = session.scalars(select(ReminderRule).where(ReminderRule.name == row.rule)).one()
        appointment = session.get(Appointment, row.appointment_id)
        patient = session.get(Patient, row.patient_id)
        assert appointment is not None and patient is not None
        template = template_for(session, rule, patient.language)
        # The preview's link ends in an ellipsis: it opens nothing, as a test link should.
        rendered = preview_draft(uow, reminder_draft(template, rule, appointment), settings=settings).first
        assert rendered is not None
        rendered = replace(rendered, subject=f"[TEST] {rendered.subject}")
        raw = build_email(rendered, header=header, to=to, message_id=make_msgid(domain=domain), now=now)
        requests.append(OutboxRequest(kind="email", idempotency_key=f"reminder-test:{secrets.token_hex(16)}",
                                      payload=email_payload(sender=envelope, to=to, message_bytes=raw, cipher=cipher)))
    enqueue_many(session, requests)
    if chosen:
        audit.record_many(session, actor=uow.actor, action="reminder.test",
                          entries=[(row.patient_id, {"appointment_id": row.appointment_id, "to_user_id": user_id})
                                   for row in chosen])
    uow.commit()
    return len(chosen)
