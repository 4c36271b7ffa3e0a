"""MS-7 licences: who may send messages to patients.

A provider who books and sees patients needs a patient-engagement licence. Each licence also
enables up to three clinical support staff (MOA/secretary, administrator, nurse, resident,
medical student, medical assistant) at no cost. Where patients book with a nurse directly, the
nurse can hold a licence as a provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import Licence, User
from core.errors import AccueilError, InvalidInput, NotFound
from core.i18n import _
from core.uow import UnitOfWork
from core.users import SUPPORT_ROLES

STAFF_PER_LICENCE = 3
LICENSABLE_ROLES = ("provider", "nurse")


class NotAllowedToSend(AccueilError):
    title = "Not allowed to send"


@dataclass(frozen=True, slots=True)
class LicenceSummary:
    id: int
    holder: str
    active: bool
    enabled_staff: tuple[str, ...]


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_("No user named {name}.").format(name=username))
    return user


def _holder_name(session: Session, licence: Licence) -> str:
    return session.scalar(select(User.display_name).where(User.id == licence.holder_user_id)) or "?"


def grant_licence(uow: UnitOfWork, username: str) -> int:
    session = uow.session
    user = _user(session, username)
    if user.role not in LICENSABLE_ROLES:
        raise InvalidInput(_("Only a provider, or a nurse who sees patients on their own, can hold a licence."))
    if session.scalar(select(Licence.id).where(Licence.holder_user_id == user.id)) is not None:
        raise InvalidInput(_("{name} already holds a licence.").format(name=user.display_name))
    licence = Licence(holder_user_id=user.id)
    session.add(licence)
    session.flush()
    audit.record(session, actor=uow.actor, action="licence.grant", detail={"licence_id": licence.id, "user_id": user.id})
    uow.commit()
    return licence.id


def enable_support_staff(uow: UnitOfWork, licence_id: int, username: str) -> None:
    """Attach a support staff member to a licence; the fourth one is refused, naming the licence."""
    session = uow.session
    licence = session.get(Licence, licence_id, with_for_update=True)
    if licence is None or not licence.active:
        raise NotFound(_("This licence does not exist or is no longer active."))
    user = _user(session, username)
    if user.role not in SUPPORT_ROLES:
        raise InvalidInput(_("{name} is not clinical support staff.").format(name=user.display_name))
    taken = session.scalar(select(func.count()).where(User.enabled_by_licence_id == licence_id,
                                                      User.id != user.id, User.active.is_(True)))
    if taken >= STAFF_PER_LICENCE:
        raise NotAllowedToSend(_(
            "The licence of {holder} already enables {count} support staff, the most one licence allows: use "
            "another licence or free a place first.").format(holder=_holder_name(session, licence),
                                                             count=STAFF_PER_LICENCE))
    user.enabled_by_licence_id = licence_id
    audit.record(session, actor=uow.actor, action="licence.enable-staff",
                 detail={"licence_id": licence_id, "user_id": user.id})
    uow.commit()


def check_can_send(session: Session, user_id: int) -> None:
    """Raise ``NotAllowedToSend`` with the reason, or return if this user may message patients."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotAllowedToSend(_("This account is not active."))
    own = session.scalar(select(Licence.active).where(Licence.holder_user_id == user.id))
    if own:
        return
    if user.role in ("provider",):
        raise NotAllowedToSend(_("Sending to patients needs a patient-engagement licence; this provider has none."))
    if user.role in SUPPORT_ROLES:
        licence = session.get(Licence, user.enabled_by_licence_id) if user.enabled_by_licence_id else None
        holder = session.get(User, licence.holder_user_id) if licence is not None else None
        if licence is not None and licence.active and holder is not None and holder.active:
            return
        if licence is not None and licence.active:  # the holder's account was disabled: the licence is idle
            raise NotAllowedToSend(_(
                "The licence of {holder}, which enables this support staff member, belongs to a disabled "
                "account: enable that account or use another licence.").format(holder=_holder_name(session, licence)))
        raise NotAllowedToSend(_(
            "This support staff member is not enabled by any licence: each provider's licence enables up to "
            "{count} support staff.").format(count=STAFF_PER_LICENCE))
    raise NotAllowedToSend(_("This role cannot send messages to patients."))


def check_emr_sender(session: Session) -> None:
    """MS-7 for a message sent for an EMR user who has no Accueil account (``--as-emr-user``).

    Nobody can tell from a name typed in the EMR whether that person is a provider, so such a
    sender counts as clinical support staff sending for the site: the site needs an active
    licence, held by an active provider or nurse, with a support-staff place still free (fewer
    than three staff enabled by it). The EMR integration uses that free place; it does not keep
    it, so enabling a third staff member on the last licence with room stops EMR sending, which
    the refusal says, naming each licence.
    """
    licences = session.execute(
        select(Licence.id, User.display_name).join(User, User.id == Licence.holder_user_id)
        .where(Licence.active.is_(True), User.active.is_(True)).order_by(Licence.id)).all()
    if not licences:
        raise NotAllowedToSend(_(
            "Sending for an EMR user without an Accueil account needs a patient-engagement licence in this "
            "clinic, and no licence is active: grant one to a provider first."))
    for licence_id, _holder in licences:
        taken = session.scalar(select(func.count()).where(User.enabled_by_licence_id == licence_id,
                                                          User.active.is_(True)))
        if taken < STAFF_PER_LICENCE:
            return
    names = ", ".join(_("the licence of {holder}").format(holder=holder) for _id, holder in licences)
    raise NotAllowedToSend(_(
        "An EMR user without an Accueil account sends as clinical support staff, and every licence already "
        "enables {count} support staff ({names}): free a place on a licence, or give this person an Accueil "
        "account enabled by a licence.").format(count=STAFF_PER_LICENCE, names=names))


def list_licences(session: Session) -> list[LicenceSummary]:
    rows = []
    for licence in session.scalars(select(Licence).order_by(Licence.id)):
        staff = tuple(session.scalars(select(User.display_name).where(User.enabled_by_licence_id == licence.id)
                                      .order_by(User.display_name)))
        rows.append(LicenceSummary(licence.id, _holder_name(session, licence), licence.active, staff))
    return rows
