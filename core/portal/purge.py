"""PT-6 purge a patient from the portal, from the TUI's patient view.

One transaction: every link of the patient is revoked and every portal session ends, so the next
request with either gets the portal's generic "no longer available" page (a revoked link keeps
only its token's hash, so it is known to be dead; it opens nothing). The portal copies are
deleted: the secure text of every message, read or not (the seed names the unread ones, whose
access the purge recalls; a read one could no longer be shown to anyone, since only the portal
displays it, so keeping it would keep health information with no reader), the clinic's files and
the pending eForms. The patient's reference number is dropped, so the next message starts a new
one with an empty forms queue and a blank history. What belongs to the EMR side (replies and files
the patient sent, completed forms) is left for the EMR import. The audit trail keeps the purge
with its counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from core import audit
from core.db.models import Attachment, FormRequest, Message, Patient, PortalSession, SecureContent, utcnow
from core.errors import NotFound
from core.uow import UnitOfWork


@dataclass(frozen=True)
class PurgeResult:
    links: int
    sessions: int
    secure_texts: int
    files: int
    forms: int


def purge_patient(uow: UnitOfWork, patient_id: int, *, now: datetime | None = None) -> PurgeResult:
    now = now or utcnow()
    session = uow.session
    patient = session.get(Patient, patient_id, with_for_update=True)
    if patient is None:
        raise NotFound("This patient no longer exists.")
    ids = select(Message.id).where(Message.patient_id == patient_id).scalar_subquery()
    quiet = {"synchronize_session": False}
    links = session.execute(update(Message).where(Message.patient_id == patient_id, Message.revoked_at.is_(None))
                            .values(revoked_at=now).execution_options(**quiet)).rowcount or 0
    sessions = session.execute(update(PortalSession).where(PortalSession.patient_id == patient_id,
                                                           PortalSession.revoked_at.is_(None))
                               .values(revoked_at=now).execution_options(**quiet)).rowcount or 0
    texts = session.execute(update(SecureContent).where(SecureContent.message_id.in_(ids),
                                                        SecureContent.ciphertext.is_not(None))
                            .values(ciphertext=None, purged_at=now).execution_options(**quiet)).rowcount or 0
    files = session.execute(update(Attachment).where(Attachment.message_id.in_(ids), Attachment.direction == "staff",
                                                     Attachment.purged_at.is_(None))
                            .values(ciphertext=None, purged_at=now).execution_options(**quiet)).rowcount or 0
    forms = session.execute(update(FormRequest).where(FormRequest.message_id.in_(ids), FormRequest.state == "pending")
                            .values(state="purged").execution_options(**quiet)).rowcount or 0
    patient.portal_reference = None
    result = PurgeResult(links, sessions, texts, files, forms)
    audit.record(session, actor=uow.actor, action="portal.purge", patient_id=patient_id,
                 detail={"links": links, "sessions": sessions, "secure_texts": texts, "files": files, "forms": forms})
    uow.commit()
    return result


__all__ = ["PurgeResult", "purge_patient"]
