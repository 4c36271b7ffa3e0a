"""What the patient portal shows under Broadcasts (PO-5, CA-5): the app campaigns of one patient.

A broadcast is visible from its campaign's first day to its last, started or not (assigning to
a campaign in progress shows it at once; Start only sends the push), for a patient who is
assigned and not removed and who has marketing consent *now*. The patient cannot delete it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.campaigns.campaigns import APP
from core.campaigns.templates import render_broadcast
from core.db.models import Campaign, CampaignRecipient, Patient, Provider, Site
from core.messaging.render import RenderContext


@dataclass(frozen=True)
class Broadcast:
    campaign_id: int
    title: str
    body_html: str  # cleaned (MS-3 allow-list), the patient's variables filled and escaped
    starts_at: date
    ends_at: date


def broadcasts_for(session: Session, patient_id: int, at: datetime | date) -> list[Broadcast]:
    """The broadcasts ``patient_id`` sees on ``at``'s day (give it in the clinic's time zone)."""
    day = at.date() if isinstance(at, datetime) else at
    patient = session.execute(
        select(Patient.first_name, Patient.last_name, Patient.preferred_name, Patient.language,
               Patient.marketing_consent, Patient.primary_provider_id).where(Patient.id == patient_id)).first()
    if patient is None or not patient.marketing_consent:
        return []
    campaigns = session.execute(
        select(Campaign.id, Campaign.app_title, Campaign.app_body, Campaign.starts_on, Campaign.ends_on)
        .join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id)
        .where(CampaignRecipient.patient_id == patient_id, CampaignRecipient.state != "removed",
               Campaign.kind == APP, Campaign.starts_on <= day, Campaign.ends_on >= day)
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())).all()
    if not campaigns:
        return []
    clinic = session.scalar(select(Site.name)) or ""
    provider = session.scalar(select(Provider.display_name).where(Provider.id == patient.primary_provider_id)) \
        if patient.primary_provider_id else None
    context = RenderContext(first_name=patient.first_name, last_name=patient.last_name,
                            preferred_name=patient.preferred_name, clinic_name=clinic, provider_name=provider,
                            language=patient.language if patient.language in ("en", "fr") else "en")
    shown: list[Broadcast] = []
    for campaign in campaigns:
        title, body = render_broadcast(campaign.app_title or "", campaign.app_body or "", context)
        shown.append(Broadcast(campaign.id, title, body, campaign.starts_on, campaign.ends_on))
    return shown
