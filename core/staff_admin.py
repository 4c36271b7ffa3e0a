"""Administration of staff accounts (SI-5, MS-7): roles, permissions, delegates, licences.

``list_staff`` gives one row per account with what the administration screen shows: role, the
Campaigns permission, operator, active, whether the account is linked to a provider known to
the EMR, its clinical delegate emails (MS-6) and its licence (held, or the licence that enables
it as support staff). Only an active administrator (the account mapped to the OS user running
the program, or named so) may change an account. The changes each write one audit entry naming the account by id; creating
accounts and granting licences stay in ``core.users`` and ``core.licences``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import DelegateEmail, Licence, Provider, User
from core.errors import InvalidInput, NotFound
from core.i18n import _
from core.sender.validate import address_domain
from core.uow import UnitOfWork
from core.users import ROLES

MAX_DELEGATES = 10


@dataclass(frozen=True)
class StaffRow:
    id: int
    username: str
    display_name: str
    role: str
    email: str | None
    active: bool
    can_campaigns: bool
    is_operator: bool
    linked: bool
    delegates: tuple[str, ...]
    holds_licence: bool
    enabled_by: str | None  # the licence holder's name, for support staff


def list_staff(session: Session) -> list[StaffRow]:
    users = session.scalars(select(User).order_by(User.active.desc(), User.username)).all()
    delegates: dict[int, list[str]] = {}
    for user_id, email in session.execute(select(DelegateEmail.user_id, DelegateEmail.email)
                                          .order_by(DelegateEmail.email)):
        delegates.setdefault(user_id, []).append(email)
    linked = set(session.scalars(select(Provider.user_id).where(Provider.user_id.is_not(None))))
    licences = dict(session.execute(select(Licence.id, Licence.holder_user_id).where(Licence.active.is_(True))).all())
    holders = set(licences.values())
    names = {u.id: u.display_name for u in users}
    return [StaffRow(u.id, u.username, u.display_name, u.role, u.email, u.active, u.can_campaigns,
                     u.is_operator or u.role == "operator", u.id in linked, tuple(delegates.get(u.id, ())),
                     u.id in holders,
                     names.get(licences[u.enabled_by_licence_id]) if u.enabled_by_licence_id in licences else None)
            for u in users]


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(_("No user named {name}.").format(name=username.strip()))
    return user


def require_administrator(session: Session, actor: str) -> str:
    """The active administrator account mapped to ``actor`` (its OS user or its user name), else refused."""
    actor = actor.strip().lower()
    name = session.scalar(select(User.username).where(
        User.active.is_(True), User.role == "administrator",
        or_(func.lower(User.os_user) == actor, func.lower(User.username) == actor)))
    if name is None:
        raise InvalidInput(_("Only an administrator can change staff accounts."))
    return name


def set_role(uow: UnitOfWork, username: str, role: str) -> None:
    require_administrator(uow.session, uow.actor)
    role = role.strip().lower()
    if role not in ROLES:
        raise InvalidInput(_("Unknown role {role}: choose one of {roles}.").format(role=role, roles=", ".join(ROLES)))
    user = _user(uow.session, username)
    if role == "operator":
        user.is_operator = True
    elif user.role == "operator":
        user.is_operator = False  # no longer an operator; a separately granted flag is kept otherwise
    user.role = role
    audit.record(uow.session, actor=uow.actor, action="user.role", detail={"user_id": user.id, "role": role})
    uow.commit()


def set_flag(uow: UnitOfWork, username: str, flag: str, value: bool) -> None:
    """``campaigns`` (the Campaigns permission) or ``active`` (may sign in and send)."""
    if flag not in ("campaigns", "active"):
        raise ValueError(flag)
    require_administrator(uow.session, uow.actor)
    user = _user(uow.session, username)
    if flag == "campaigns":
        user.can_campaigns = value
    else:
        user.active = value
    audit.record(uow.session, actor=uow.actor, action=f"user.{flag}", detail={"user_id": user.id, "value": value})
    uow.commit()


def set_delegates(uow: UnitOfWork, username: str, emails: list[str]) -> tuple[str, ...]:
    """Replace the account's delegate emails with ``emails`` (each checked, duplicates dropped)."""
    require_administrator(uow.session, uow.actor)
    wanted: list[str] = []
    for email in (e.strip() for e in emails):
        if email:
            address_domain(email)
            if email.lower() not in (w.lower() for w in wanted):
                wanted.append(email)
    if len(wanted) > MAX_DELEGATES:
        raise InvalidInput(_("At most {count} delegate emails per account.").format(count=MAX_DELEGATES))
    user = _user(uow.session, username)
    uow.session.execute(delete(DelegateEmail).where(DelegateEmail.user_id == user.id))
    uow.session.add_all([DelegateEmail(user_id=user.id, email=email) for email in wanted])
    audit.record(uow.session, actor=uow.actor, action="user.delegates",
                 detail={"user_id": user.id, "count": len(wanted)})
    uow.commit()
    return tuple(wanted)


def licence_of(session: Session, holder: str) -> int:
    """The active licence held by the account named ``holder`` (to enable support staff with it)."""
    user = _user(session, holder)
    licence_id = session.scalar(select(Licence.id).where(Licence.holder_user_id == user.id,
                                                         Licence.active.is_(True)))
    if licence_id is None:
        raise NotFound(_("{name} holds no active licence.").format(name=user.display_name))
    return licence_id
