"""What the compose and templates screens read besides the draft itself (plain data, no ORM).

The eForms a message may carry, who is sending (the staff account mapped to the SSH user, else
an EMR user without an account, who gets the core's warning about notifications) and the names
of the chosen patients for the "To" line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.db.models import EForm, Patient, User


@dataclass(frozen=True, slots=True)
class FormChoice:
    code: str
    title_en: str
    title_fr: str


@dataclass(frozen=True, slots=True)
class Sender:
    user_id: int | None
    name: str
    """The account's display name, or the login name of an EMR user without an account."""


@dataclass(frozen=True, slots=True)
class RecipientName:
    patient_id: int
    chart_id: str
    last_name: str
    first_name: str
    preferred_name: str | None


def active_forms(session: Session) -> list[FormChoice]:
    rows = session.execute(select(EForm.code, EForm.title_en, EForm.title_fr)
                           .where(EForm.active.is_(True)).order_by(EForm.title_en))
    return [FormChoice(*row) for row in rows]


def sender_for(session: Session, login: str) -> Sender:
    """The active account whose SSH user or user name is ``login``; else ``login`` as an EMR user."""
    user = session.execute(
        select(User.id, User.display_name)
        .where(User.active.is_(True), or_(User.os_user == login, User.username == login.lower()))
        .order_by((User.os_user == login).desc()).limit(1)).first()
    return Sender(user.id, user.display_name) if user else Sender(None, login)


def recipient_names(session: Session, patient_ids: Sequence[int], *, limit: int = 3) -> tuple[int, list[RecipientName]]:
    """(how many of the chosen patients exist, the first ``limit`` of them in the order chosen)."""
    ids = list(dict.fromkeys(patient_ids))
    count = session.scalar(select(func.count()).select_from(Patient).where(Patient.id.in_(ids))) or 0
    first = ids[:limit]
    rows = {row.id: row for row in session.execute(
        select(Patient.id, Patient.chart_id, Patient.last_name, Patient.first_name, Patient.preferred_name)
        .where(Patient.id.in_(first)))}
    return int(count), [RecipientName(r.id, r.chart_id, r.last_name, r.first_name, r.preferred_name)
                        for i in first if (r := rows.get(i)) is not None]
