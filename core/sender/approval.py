"""The site's custom From address: submission, approval, daily re-validation, fallback (SI-3, SI-4).

States of ``Site.custom_from_state``: ``none`` (no address), ``invalid`` (red, or the DNS could
not be checked, when submitted), ``pending`` (yellow or green, waiting for an operator),
``approved`` (in use), ``declined`` (an operator refused it) and ``fallen_back`` (a daily
re-validation failed: mail is sent from the default no-reply address again). Only ``approved``
puts the address in the From header (see ``identity``). A changed address starts again from the
check, so it always needs a new approval.

The DNS look-ups run before the write transaction opens (they can take seconds); every check is
kept as a ``DomainCheck`` row, the history shown on the Site screen. The re-validation job is
idempotent: it decides from the last check's date whether a check is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.db.models import DomainCheck, Site, User, utcnow
from core.errors import InvalidInput
from core.i18n import _
from core.sender import notices
from core.sender.findings import Finding, RecordToCreate
from core.sender.validate import GREEN, RED, UNKNOWN, YELLOW, address_domain, check_address, report_from_data

if TYPE_CHECKING:
    from core.bootstrap import Accueil
    from core.uow import UnitOfWork

NONE, INVALID, PENDING, APPROVED, DECLINED, FALLEN_BACK = (
    "none", "invalid", "pending", "approved", "declined", "fallen_back")
RECHECK_AFTER = timedelta(hours=23)
RETRY_UNKNOWN_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class CheckEntry:
    id: int
    address: str
    checked_at: datetime
    status: str
    findings: list[Finding]
    to_create: list[RecordToCreate]


@dataclass(frozen=True)
class CustomFrom:
    address: str | None
    state: str
    approved_at: datetime | None
    in_use: str
    history: list[CheckEntry]

    @property
    def last(self) -> CheckEntry | None:
        return self.history[0] if self.history else None


def normalise(address: str) -> str:
    local, _at, _domain = address.strip().rpartition("@")
    return f"{local}@{address_domain(address)}"


def _entry(row: DomainCheck) -> CheckEntry:
    findings, fixes = report_from_data(row.address, row.status, row.findings)
    return CheckEntry(row.id, row.address, row.checked_at, row.status, findings, fixes)


def custom_from(session: Session, noreply: str, *, history: int = 20) -> CustomFrom:
    site = session.scalars(select(Site)).one()
    rows = session.scalars(select(DomainCheck).order_by(DomainCheck.checked_at.desc(), DomainCheck.id.desc())
                           .limit(history)).all()
    in_use = site.custom_from_address if site.custom_from_state == APPROVED and site.custom_from_address else noreply
    return CustomFrom(site.custom_from_address, site.custom_from_state, site.custom_from_approved_at, in_use,
                      [_entry(r) for r in rows])


def _locked_site(session: Session) -> Site:
    """The Site row, locked until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers): two submissions or a submission and a decision never interleave."""
    return session.scalars(select(Site).with_for_update()).one()


def _is_operator(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower(),
                                             User.active.is_(True)))
    if user is None or not (user.is_operator or user.role == "operator"):
        raise InvalidInput(_("Only an operator can approve or decline a custom From address."))
    return user


def submit(app: Accueil, address: str, *, now: datetime | None = None) -> CheckEntry:
    """Check ``address`` and make it the site's custom From address (waiting for approval if valid)."""
    address = normalise(address)
    report = check_address(address, app.settings.sender)
    now = now or utcnow()
    with app.uow(write=True) as uow:
        session = uow.session
        site = _locked_site(session)
        same = (site.custom_from_address or "").lower() == address.lower()
        row = DomainCheck(address=address, checked_at=now, status=report.status, findings=report.to_data())
        session.add(row)
        session.flush()
        if same and site.custom_from_state == APPROVED and report.status in (GREEN, YELLOW, UNKNOWN):
            pass  # the approved address checked again: still approved (one timeout proves nothing)
        elif same and site.custom_from_state == PENDING and report.status in (GREEN, YELLOW):
            pass  # still valid, still waiting: the operator was already asked
        elif report.status in (GREEN, YELLOW):
            site.custom_from_state, site.custom_from_approved_at = PENDING, None
            notices.approval_request(session, app.settings, app.cipher, address=address, status=report.status,
                                     check_id=row.id, now=now)
        else:
            site.custom_from_state, site.custom_from_approved_at = INVALID, None
        site.custom_from_address = address
        audit.record(session, actor=uow.actor, action="site.from_submitted",
                     detail={"address": address, "status": report.status, "state": site.custom_from_state})
        entry = _entry(row)
        uow.commit()
    return entry


def clear(uow: UnitOfWork) -> None:
    """Stop using a custom address: back to the default no-reply address."""
    site = _locked_site(uow.session)
    old = site.custom_from_address
    site.custom_from_address, site.custom_from_state, site.custom_from_approved_at = None, NONE, None
    audit.record(uow.session, actor=uow.actor, action="site.from_cleared", detail={"address": old})
    uow.commit()


def decide(uow: UnitOfWork, address: str, *, operator: str, approve: bool, now: datetime | None = None,
           os_user: str | None = None) -> str:
    """An operator approves (or declines) the pending address; returns the new state.

    ``address`` is the one the operator saw: if another one was submitted meanwhile, it is refused.
    ``os_user`` (the system account that ran the decision) is kept in the audit entry.
    """
    session = uow.session
    user = _is_operator(session, operator)
    site = _locked_site(session)
    if site.custom_from_state != PENDING or (site.custom_from_address or "").lower() != normalise(address).lower():
        raise InvalidInput(_("{address} is not waiting for approval.").format(address=address.strip()))
    if approve:
        site.custom_from_state, site.custom_from_approved_at = APPROVED, now or utcnow()
    else:
        site.custom_from_state = DECLINED
    detail = {"address": site.custom_from_address} | ({"os_user": os_user} if os_user is not None else {})
    audit.record(session, actor=user.username, action="site.from_approved" if approve else "site.from_declined",
                 detail=detail)
    uow.commit()
    return site.custom_from_state


def revalidate(app: Accueil, now: datetime) -> int:
    """The scheduler's daily job: check the approved address again; fall back if it fails.

    A failure is a red result, or a second "could not check" in a row: one DNS timeout on its
    own never changes what the clinic sends from.
    """
    with app.uow() as uow:
        site = uow.session.scalars(select(Site)).one_or_none()
        if site is None or site.custom_from_state != APPROVED or not site.custom_from_address:
            return 0
        address = site.custom_from_address
        last = uow.session.scalars(select(DomainCheck).where(DomainCheck.address == address)
                                   .order_by(DomainCheck.checked_at.desc(), DomainCheck.id.desc()).limit(1)).first()
        if last is not None:
            wait = RETRY_UNKNOWN_AFTER if last.status == UNKNOWN else RECHECK_AFTER
            if now - last.checked_at < wait:
                return 0
        last_status = last.status if last is not None else None
    report = check_address(address, app.settings.sender)
    with app.uow(write=True) as uow:
        session = uow.session
        site = _locked_site(session)
        if site.custom_from_state != APPROVED or site.custom_from_address != address:
            return 0  # changed meanwhile: the new address has its own path
        row = DomainCheck(address=address, checked_at=now, status=report.status, findings=report.to_data())
        session.add(row)
        session.flush()
        failed = report.status == RED or (report.status == UNKNOWN and last_status == UNKNOWN)
        if failed:
            site.custom_from_state = FALLEN_BACK
            notices.fallback(session, app.settings, app.cipher, address=address, check_id=row.id, now=now)
            audit.record(session, actor="worker", action="site.from_fallback",
                         detail={"address": address, "status": report.status})
        uow.commit()
    return 1
