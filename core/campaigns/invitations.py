"""Accepting a campaign invitation (PO-6): what the portal's invitation page calls.

The token in the link is looked up by its SHA-256 (the only form stored) and is good for 14
days from the send. Accepting marks the patient app as a connected external system of the
patient (so "connected external system is not patient app" no longer selects them) and turns
push notifications on when the patient asks. Accepting twice is harmless: the second time
reports ``already_connected``. An unknown or expired token is one domain error, the same for
both, so the page tells nothing about which links exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import CampaignRecipient, ConnectedSystem, Patient
from core.errors import AccueilError
from core.i18n import _
from core.uow import UnitOfWork

PATIENT_APP = "patient_app"


class InvitationInvalid(AccueilError):
    title = "Invitation not valid"


@dataclass(frozen=True)
class InvitationAccepted:
    patient_id: int
    campaign_id: int
    push_enabled: bool
    already_connected: bool


def invitation_key(token: str) -> bytes:
    """The SHA-256 of a link token: the only form stored, and what the portal keeps in its cookie."""
    return hashlib.sha256(token.strip().encode()).digest()


def _live_recipient(session: Session, key: bytes, now: datetime) -> CampaignRecipient | None:
    recipient = session.scalar(select(CampaignRecipient).where(CampaignRecipient.invite_token_hash == key))
    if (recipient is None or recipient.invite_expires_at is None or recipient.invite_expires_at <= now
            or recipient.state == "removed"):
        return None
    return recipient


def open_invitation_language(session: Session, key: bytes, now: datetime) -> str | None:
    """The invited patient's language if the invitation with this token hash can still be accepted, else None."""
    recipient = _live_recipient(session, key, now)
    if recipient is None:
        return None
    language = session.scalar(select(Patient.language).where(Patient.id == recipient.patient_id))
    return language if language in ("en", "fr") else "en"


def accept_invitation(uow: UnitOfWork, token: str, now: datetime, *, enable_push: bool) -> InvitationAccepted:
    """Connect the patient app for the invitation's patient; commits. InvitationInvalid if unknown or expired."""
    return accept_invitation_key(uow, invitation_key(token), now, enable_push=enable_push)


def accept_invitation_key(uow: UnitOfWork, key: bytes, now: datetime, *, enable_push: bool) -> InvitationAccepted:
    """:func:`accept_invitation` given the token's hash (the portal never keeps the token itself)."""
    session = uow.session
    recipient = _live_recipient(session, key, now)
    if recipient is None:
        raise InvitationInvalid(_("This invitation link is not valid or has expired: ask the clinic for a new one."))
    patient = session.get(Patient, recipient.patient_id)
    if patient is None:  # pragma: no cover - recipients keep their patient (foreign key)
        raise InvitationInvalid(_("This invitation link is not valid or has expired: ask the clinic for a new one."))
    connected = session.scalar(select(ConnectedSystem).where(ConnectedSystem.patient_id == patient.id,
                                                             ConnectedSystem.system == PATIENT_APP))
    if connected is None:
        session.add(ConnectedSystem(patient_id=patient.id, system=PATIENT_APP, connected_at=now))
    if enable_push:
        patient.push_enabled = True
    if recipient.invite_accepted_at is None:
        recipient.invite_accepted_at = now
    audit.record(session, actor="portal", action="campaign.invitation-accepted", patient_id=patient.id,
                 detail={"campaign_id": recipient.campaign_id, "push": enable_push})
    uow.commit()
    return InvitationAccepted(patient.id, recipient.campaign_id, bool(patient.push_enabled), connected is not None)
