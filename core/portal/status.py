"""PT-5's portal status of one patient, for the TUI's patient view: reference, locks, live sessions,
and what the patient sent that waits for (or went to) the EMR import (replies and files)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from core.db.models import Attachment, Message, Patient, PortalSession, Reply, utcnow
from core.portal.access import LockedLink, locked_links
from core.portal.sessions import ABSOLUTE_TIMEOUT, IDLE_TIMEOUT
from core.uow import UnitOfWork


@dataclass(frozen=True)
class PortalStatus:
    reference: str | None
    locked: tuple[LockedLink, ...]
    open_sessions: int
    replies: int
    patient_files: int
    last_reply_at: datetime | None


def portal_status(uow: UnitOfWork, patient_id: int, *, now: datetime | None = None) -> PortalStatus:
    now = now or utcnow()
    session = uow.session
    reference = session.scalar(select(Patient.portal_reference).where(Patient.id == patient_id))
    messages = select(Message.id).where(Message.patient_id == patient_id).scalar_subquery()
    sessions = session.scalar(select(func.count()).select_from(PortalSession).where(
        PortalSession.patient_id == patient_id, PortalSession.revoked_at.is_(None),
        PortalSession.created_at > now - ABSOLUTE_TIMEOUT, PortalSession.last_seen_at > now - IDLE_TIMEOUT)) or 0
    replies, last = session.execute(select(func.count(), func.max(Reply.created_at)).where(
        Reply.message_id.in_(messages), Reply.purged_at.is_(None))).one()
    files = session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.message_id.in_(messages), Attachment.direction == "patient", Attachment.purged_at.is_(None))) or 0
    return PortalStatus(reference, tuple(locked_links(uow, patient_id)), sessions, replies or 0, files, last)


__all__ = ["PortalStatus", "portal_status"]
