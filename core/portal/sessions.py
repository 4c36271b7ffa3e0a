"""PO-8 portal sessions: opened after the identity check, ended by idle or absolute time-out, logout or purge.

The cookie holds a fresh 256-bit token; the ``portal_sessions`` row keeps only its SHA-256. A
session belongs to one patient and to the portal reference current when it was opened: a purge
(PT-6) revokes the rows and gives the patient a new reference, so an old cookie dies at once.
The CSRF token of a session's forms is derived from the session token (HMAC), never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.db.models import Message, Patient, PortalSession, utcnow
from core.uow import UnitOfWork

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=2)


@dataclass(frozen=True)
class PortalUser:
    """Who a live session belongs to (what the portal needs, no ORM object)."""

    session_id: int
    patient_id: int
    message_id: int
    reference: str | None
    language: str
    first_name: str


def _key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_token(session_token: str) -> str:
    return hmac.new(_key(session_token), b"accueil-portal-csrf", hashlib.sha256).hexdigest()


def open_session(session: Session, message: Message, *, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(PortalSession(token_hash=_key(token), message_id=message.id, patient_id=message.patient_id,
                              created_at=now, last_seen_at=now))
    session.flush()
    return token


def resolve_session(uow: UnitOfWork, token: str | None, *, now: datetime | None = None,
                    touch: bool = True) -> PortalUser | None:
    """The session's owner, or None when it is unknown, revoked, idle or too old (then it is revoked)."""
    if not token:
        return None
    now = now or utcnow()
    session = uow.session
    row = session.scalar(select(PortalSession).where(PortalSession.token_hash == _key(token)))
    if row is None or row.revoked_at is not None:
        return None
    message = session.get(Message, row.message_id)
    patient = session.get(Patient, row.patient_id)
    expired = now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT
    if expired or message is None or message.revoked_at is not None or patient is None:
        if uow.write:
            row.revoked_at = now
            uow.commit()
        return None
    user = PortalUser(row.id, patient.id, message.id, patient.portal_reference, patient.language or "en",
                      patient.preferred_name or patient.first_name)
    if touch and uow.write:
        row.last_seen_at = now
        uow.commit()
    return user


def end_session(uow: UnitOfWork, token: str | None, *, now: datetime | None = None) -> None:
    if token:
        uow.session.execute(update(PortalSession).where(PortalSession.token_hash == _key(token),
                                                        PortalSession.revoked_at.is_(None))
                            .values(revoked_at=now or utcnow()).execution_options(synchronize_session=False))
        uow.commit()


__all__ = ["ABSOLUTE_TIMEOUT", "IDLE_TIMEOUT", "PortalUser", "csrf_token", "end_session", "open_session",
           "resolve_session"]
