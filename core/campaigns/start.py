"""Start (CA-6, CA-8): send to every assigned patient not yet sent, behind the consent gates.

One transaction: the campaign row is locked (PostgreSQL), then the recipients still
``assigned`` are read with ``SELECT … WHERE state = 'assigned' FOR UPDATE`` (SQLite: the
transaction already holds the write lock) and each is written once, as sent or skipped — a
second Start pressed at the same moment finds none of them (it waits for the first one's row
locks and re-reads), so each patient is sent to once. Each outbox item's
idempotency key (``campaign:<id>:recipient:<id>``) is unique as well. Starting again later
sends only to the patients added since.

Gates (CA-8), read at this moment and written to the consent ledger (``campaign_consents``) with
the outcome, whatever it is:

* invitation (email): an address that has not bounced, and email consent;
* app (push): marketing consent (without it the broadcast is not shown at all) and push on.

An invitation carries a fresh 256-bit token per patient; only its SHA-256 is stored, with the
expiry 14 days later; the link is ``{portal_base_url}/invitation/{token}``. The email (built by
``core.campaigns.mail``) goes to the outbox encrypted with the site key, like a secure message's.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core import audit, events
from core.campaigns.campaigns import INVITATION, INVITATION_DAYS, locked_campaign, require_permission
from core.campaigns.mail import InvitationMailer, InvitationPatient
from core.campaigns.templates import render_title
from core.crypto import SiteCipher
from core.db.bulk import insert_rows, update_rows
from core.db.models import Campaign, CampaignConsent, CampaignRecipient, Patient, Site, utcnow
from core.errors import InvalidInput
from core.i18n import _
from core.messaging.compose import from_header
from core.messaging.recipients import portal_references
from core.messaging.render import RenderContext
from core.outbox.queue import OutboxRequest, enqueue_many
from core.outbox.worker import email_payload
from core.settings import Settings
from core.uow import UnitOfWork

PUSH = "push"
RECIPIENTS = cast(Table, CampaignRecipient.__table__)
_CHUNK = 900


@dataclass(frozen=True)
class StartResult:
    sent: int
    skipped: int
    reasons: dict[str, int] = field(default_factory=dict)  # skip reason -> how many


def skip_reason(kind: str, patient: Any) -> str | None:
    """Why this patient gets nothing now (None: send). ``patient`` has the Patient columns."""
    if kind == INVITATION:
        if not patient.email or patient.email_bad_at is not None:
            return "no_email"
        if not patient.email_consent:
            return "no_email_consent"
        return None
    if not patient.marketing_consent:
        return "no_marketing_consent"
    if not patient.push_enabled:
        return "push_off"
    return None


def _patients(session: Session, ids: list[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update({row.id: row for row in session.execute(
            select(Patient.id, Patient.first_name, Patient.last_name, Patient.preferred_name, Patient.language,
                   Patient.email, Patient.email_bad_at, Patient.email_consent, Patient.marketing_consent,
                   Patient.marketing_consent_at, Patient.push_enabled, Patient.primary_provider_id,
                   Patient.portal_reference).where(Patient.id.in_(ids[start:start + _CHUNK])))})
    return found


def _title_context(patient: Any, clinic: str, settings: Settings) -> RenderContext:
    return RenderContext(first_name=patient.first_name, last_name=patient.last_name,
                         preferred_name=patient.preferred_name, clinic_name=clinic,
                         language=patient.language if patient.language in ("en", "fr") else "en",
                         timezone=settings.timezone)


def start_campaign(uow: UnitOfWork, campaign_id: int, *, settings: Settings, cipher: SiteCipher,
                   now: datetime | None = None) -> StartResult:
    """Send to the patients assigned and not yet sent; commits once. See the module docstring."""
    starter = require_permission(uow)  # the reports' sender of every invitation this Start sends
    now = now or utcnow()
    session = uow.session
    campaign = locked_campaign(session, campaign_id)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    if campaign.kind != INVITATION and campaign.ends_on is not None and campaign.ends_on < today:
        raise InvalidInput(_("This campaign ended on {day}: it can no longer be started.").format(
            day=campaign.ends_on.isoformat()))
    taken = session.execute(
        select(RECIPIENTS.c.id, RECIPIENTS.c.patient_id)
        .where(RECIPIENTS.c.campaign_id == campaign_id, RECIPIENTS.c.state == "assigned")
        .with_for_update()).all()
    patients = _patients(session, [row.patient_id for row in taken])
    site = session.scalars(select(Site)).one()
    header, envelope = from_header(site, settings)
    mailer = InvitationMailer(campaign.email_subject or "", campaign.email_body or "", clinic=site.name,
                              from_header=header, domain=envelope.rpartition("@")[2] or "accueil.invalid",
                              portal=settings.portal_base_url, timezone=settings.timezone)
    channel = "email" if campaign.kind == INVITATION else PUSH
    references = {} if campaign.kind == INVITATION else portal_references(session, [
        patients[row.patient_id] for row in taken if skip_reason(campaign.kind, patients[row.patient_id]) is None])
    requests: list[OutboxRequest] = []
    sent_rows: list[dict[str, Any]] = []
    skipped_rows: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    reasons: dict[str, int] = {}
    for row in taken:
        patient = patients[row.patient_id]
        reason = skip_reason(campaign.kind, patient)
        ledger.append({"recipient_id": row.id, "campaign_id": campaign_id, "patient_id": patient.id, "at": now,
                       "channel": channel, "marketing_consent": bool(patient.marketing_consent),
                       "marketing_consent_at": patient.marketing_consent_at,
                       "email_consent": bool(patient.email_consent), "has_email": bool(patient.email),
                       "push_enabled": bool(patient.push_enabled), "outcome": "skipped" if reason else "sent",
                       "reason": reason})
        # provider: the patient's primary one, as for a message sent without an appointment
        common = {"patient_id": patient.id, "campaign_id": campaign_id, "channel": channel,
                  "user_id": starter, "provider_id": patient.primary_provider_id}
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
            skipped_rows.append({"id": row.id, "state": "skipped", "skip_reason": reason,
                                 "marketing_consent_at_send": bool(patient.marketing_consent)})
            event_rows.append({"kind": events.CAMPAIGN_SKIPPED, "detail": {"reason": reason}, **common})
            continue
        key = f"campaign:{campaign_id}:recipient:{row.id}"
        values: dict[str, Any] = {"id": row.id, "state": "sent", "sent_at": now,
                                  "marketing_consent_at_send": bool(patient.marketing_consent),
                                  "invite_token_hash": None, "invite_expires_at": None}
        if campaign.kind == INVITATION:
            token = secrets.token_urlsafe(32)  # 256 bits; only its hash is kept
            values["invite_token_hash"] = hashlib.sha256(token.encode()).digest()
            values["invite_expires_at"] = now + timedelta(days=INVITATION_DAYS)
            message = mailer.build(InvitationPatient(patient.first_name, patient.last_name, patient.preferred_name,
                                                     patient.language, patient.email), token, now)
            requests.append(OutboxRequest("email", email_payload(sender=envelope, to=patient.email,
                                                                 message_bytes=message, cipher=cipher), key))
            event_rows.append({"kind": events.LINK_CREATED, **common})
        else:
            title = render_title(campaign.app_title or "", _title_context(patient, site.name, settings))
            requests.append(OutboxRequest(PUSH, {"patient": references[patient.id], "title": title,
                                                 "campaign_id": campaign_id, "language": patient.language}, key))
        sent_rows.append(values)
        event_rows.append({"kind": events.CAMPAIGN_SENT, **common})
    # Each key names a recipient that was 'assigned' until this transaction: no item can have it yet.
    outbox_ids = enqueue_many(session, requests, new_keys=True)
    for values, outbox_id in zip(sent_rows, outbox_ids, strict=True):
        values["outbox_id"] = outbox_id
    update_rows(session, RECIPIENTS, "id", sent_rows)
    update_rows(session, RECIPIENTS, "id", skipped_rows)
    insert_rows(session, cast(Table, CampaignConsent.__table__), ledger)
    events.record_events(session, event_rows, at=now)
    audit.record_many(session, actor=uow.actor, action="campaign.send", entries=[
        (entry["patient_id"], {"campaign_id": campaign_id, "outcome": entry["outcome"]}) for entry in ledger])
    _mark_started(campaign, now)
    uow.commit()
    return StartResult(len(sent_rows), len(skipped_rows), reasons)


def _mark_started(campaign: Campaign, now: datetime) -> None:
    if campaign.status == "draft":
        campaign.status = "started"
    if campaign.started_at is None:
        campaign.started_at = now
