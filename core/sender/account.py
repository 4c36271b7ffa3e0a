"""The Site account (SI-1): the email friendly name and the contact addresses, read and changed.

``site_account`` returns everything the Site screen shows in one dataclass (details, the custom
From address's state and check history); ``update_details`` changes the three editable fields,
with an audit entry naming which ones changed (not their values: addresses of staff are not
patient data, but the trail stays lean). ``decide_as_actor`` lets the TUI's (and the command
line's) operator approve as the staff account mapped to the OS/SSH user running it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import Site, User
from core.errors import InvalidInput
from core.i18n import _
from core.sender.approval import CustomFrom, custom_from, decide
from core.sender.validate import address_domain
from core.uow import UnitOfWork


@dataclass(frozen=True)
class SiteAccount:
    name: str
    friendly_name: str
    admin_email: str | None
    support_email: str | None
    noreply: str
    custom: CustomFrom
    operator: str | None  # the staff account allowed to approve here, if the user running this is one


def operator_name(session: Session, actor: str) -> str | None:
    """The active operator account mapped to ``actor`` (its OS user, or its user name)."""
    actor = actor.strip().lower()
    return session.scalar(select(User.username).where(
        User.active.is_(True), or_(User.is_operator.is_(True), User.role == "operator"),
        or_(User.os_user == actor, func.lower(User.username) == actor)))


def site_account(session: Session, noreply: str, actor: str) -> SiteAccount:
    site = session.scalars(select(Site)).one()
    return SiteAccount(site.name, site.email_friendly_name, site.admin_contact_email, site.support_contact_email,
                       noreply, custom_from(session, noreply), operator_name(session, actor))


def _email_or_none(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    address_domain(value)  # InvalidInput when it is not an address
    return value


def update_details(uow: UnitOfWork, *, friendly_name: str, admin_email: str | None,
                   support_email: str | None) -> None:
    friendly_name = " ".join(friendly_name.split())
    if not friendly_name or len(friendly_name) > 200:
        raise InvalidInput(_("The email friendly name is required (at most 200 characters)."))
    if any(c in friendly_name for c in "<>\"@"):
        raise InvalidInput(_("The email friendly name cannot contain < > \" or @."))
    admin, support = _email_or_none(admin_email), _email_or_none(support_email)
    site = uow.session.scalars(select(Site)).one()
    changed = [name for name, old, new in (("friendly_name", site.email_friendly_name, friendly_name),
                                           ("admin_email", site.admin_contact_email, admin),
                                           ("support_email", site.support_contact_email, support)) if old != new]
    site.email_friendly_name, site.admin_contact_email, site.support_contact_email = friendly_name, admin, support
    if changed:
        audit.record(uow.session, actor=uow.actor, action="site.details_changed", detail={"fields": changed})
    uow.commit()


def decide_as_actor(uow: UnitOfWork, address: str, *, approve: bool, claimed: str | None = None) -> str:
    """Decide as the operator account mapped to the OS user running this (``uow.actor``).

    ``claimed`` (the command line's ``--as``) must name that same account: a user name typed on
    the command line is never trusted on its own. The OS user goes into the audit entry.
    """
    operator = operator_name(uow.session, uow.actor)
    if operator is None:
        raise InvalidInput(_("Only an operator can approve or decline a custom From address."))
    if claimed is not None and claimed.strip().lower() != operator.lower():
        raise InvalidInput(_("The system user {os_user} is the operator {operator}, not {claimed}.").format(
            os_user=uow.actor, operator=operator, claimed=claimed.strip()))
    return decide(uow, address, operator=operator, approve=approve, os_user=uow.actor)
