"""Campaigns themselves (CA-1, CA-2, CA-3): create, edit, read, list with counts, the permission.

A campaign is an *invitation* (mode email: an email with a 14-day link to the portal's
invitation page) or an *app* campaign (mode app: a broadcast shown in the portal between its
dates, announced by a push notification). The mode follows from the type; the type of a
started campaign cannot change. Only staff whose account has the Campaigns permission
(``User.can_campaigns``) may read or change campaigns: every service here starts with
:func:`require_permission` on the unit of work's actor (the signed-in or SSH user).

The list's status is ``draft`` (never started), ``started``, or ``ended`` (an app campaign
after its last day). Counts come from one grouped query: a recipient is *failed* when the
email or push of its send was refused for good by the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.campaigns.templates import check_templates
from core.db.models import Campaign, CampaignRecipient, OutboxItem, User, utcnow
from core.errors import AccueilError, InvalidInput, NotFound
from core.i18n import _
from core.uow import UnitOfWork

INVITATION = "invitation"
APP = "app"
KINDS = (INVITATION, APP)
MODES = {INVITATION: "email", APP: "app"}
INVITATION_DAYS = 14
MAX_RECIPIENTS = 5000


class CampaignsForbidden(AccueilError):
    title = "Campaigns permission needed"


@dataclass(frozen=True)
class CampaignDraft:
    """What the detail form holds. Dates are for app campaigns only; the subject/body pair that
    does not match the type is ignored."""

    kind: str
    name: str
    starts_on: date | None = None
    ends_on: date | None = None
    email_subject: str = ""
    email_body: str = ""
    app_title: str = ""
    app_body: str = ""


@dataclass(frozen=True)
class Counts:
    assigned: int = 0  # in the campaign now (removed ones not included)
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    removed: int = 0

    @property
    def waiting(self) -> int:
        """Assigned and not yet sent: what the next Start will send to (or skip)."""
        return self.assigned - self.sent - self.skipped - self.failed


@dataclass(frozen=True)
class CampaignSummary:
    id: int
    name: str
    kind: str
    mode: str
    status: str  # draft|started|ended
    counts: Counts
    starts_on: date | None
    ends_on: date | None
    started_at: datetime | None


@dataclass(frozen=True)
class CampaignDetail:
    summary: CampaignSummary
    draft: CampaignDraft
    invitation_days: int = INVITATION_DAYS

    @property
    def id(self) -> int:
        return self.summary.id


def _permitted_user(session: Session, actor: str) -> int | None:
    """The id of ``actor``'s active account (user name or mapped OS user) if it has the permission."""
    return session.scalar(
        select(User.id).where(or_(User.username == actor, User.os_user == actor), User.active.is_(True),
                              User.can_campaigns.is_(True)).limit(1))


def can_use_campaigns(session: Session, actor: str) -> bool:
    """Whether the active account of ``actor`` (user name or mapped OS user) has the permission."""
    return _permitted_user(session, actor) is not None


def require_permission(uow: UnitOfWork) -> int:
    """The acting user's id; CampaignsForbidden without the permission."""
    user_id = _permitted_user(uow.session, uow.actor)
    if user_id is None:
        raise CampaignsForbidden(_("Your account does not have the Campaigns permission. "
                                   "An administrator can give it with `accueil user campaigns`."))
    return user_id


def set_permission(uow: UnitOfWork, username: str, allowed: bool) -> None:
    """Give or take away the Campaigns permission (SI-5); audited."""
    user = uow.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(_("No user named '{name}'.").format(name=username))
    user.can_campaigns = allowed
    audit.record(uow.session, actor=uow.actor, action="user.campaigns-permission",
                 detail={"user_id": user.id, "allowed": allowed})
    uow.commit()


def status_of(kind: str, stored: str, ends_on: date | None, today: date) -> str:
    if kind == APP and ends_on is not None and ends_on < today and stored != "draft":
        return "ended"
    return stored


def in_progress(kind: str, starts_on: date | None, ends_on: date | None, today: date) -> bool:
    """An app campaign's broadcast shows between its dates, started or not (CA-5)."""
    return kind == APP and starts_on is not None and ends_on is not None and starts_on <= today <= ends_on


def _validate(draft: CampaignDraft) -> CampaignDraft:
    problems: list[str] = []
    if draft.kind not in KINDS:
        problems.append(_("choose the type: invitation or app"))
    name = " ".join(draft.name.split())
    if not name:
        problems.append(_("the name is empty"))
    elif len(name) > 200:
        problems.append(_("the name is longer than 200 characters"))
    if draft.kind == APP:
        if draft.starts_on is None or draft.ends_on is None:
            problems.append(_("an app campaign needs its first and last day"))
        elif draft.ends_on < draft.starts_on:
            problems.append(_("the last day is before the first day"))
    problems += check_templates(draft.kind, draft.email_subject, draft.email_body, draft.app_title, draft.app_body)
    if problems:
        raise InvalidInput(_("This campaign cannot be saved: {problems}.").format(problems="; ".join(problems)))
    if draft.kind == INVITATION:
        return CampaignDraft(INVITATION, name, None, None, draft.email_subject.strip(), draft.email_body.strip())
    return CampaignDraft(APP, name, draft.starts_on, draft.ends_on, app_title=draft.app_title.strip(),
                         app_body=draft.app_body.strip())


def _apply(campaign: Campaign, draft: CampaignDraft) -> None:
    campaign.name, campaign.kind, campaign.mode = draft.name, draft.kind, MODES[draft.kind]
    campaign.starts_on, campaign.ends_on = draft.starts_on, draft.ends_on
    campaign.email_subject = draft.email_subject or None
    campaign.email_body = draft.email_body or None
    campaign.app_title = draft.app_title or None
    campaign.app_body = draft.app_body or None


def create_campaign(uow: UnitOfWork, draft: CampaignDraft) -> int:
    require_permission(uow)
    clean = _validate(draft)
    session = uow.session
    user_id = session.scalar(select(User.id).where(or_(User.username == uow.actor, User.os_user == uow.actor)))
    campaign = Campaign(status="draft", created_by=user_id, created_at=utcnow())
    _apply(campaign, clean)
    session.add(campaign)
    session.flush()
    audit.record(session, actor=uow.actor, action="campaign.create", detail={"campaign_id": campaign.id,
                                                                             "kind": clean.kind})
    uow.commit()
    return campaign.id


def locked_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign row, locked until commit on PostgreSQL (assign and Start serialise on it)."""
    query = select(Campaign).where(Campaign.id == campaign_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    campaign = session.scalar(query)
    if campaign is None:
        raise NotFound(_("This campaign no longer exists."))
    return campaign


def update_campaign(uow: UnitOfWork, campaign_id: int, draft: CampaignDraft) -> None:
    require_permission(uow)
    session = uow.session
    campaign = locked_campaign(session, campaign_id)
    # The type first: a message written for the other type would otherwise hide the real reason.
    if campaign.status != "draft" and draft.kind != campaign.kind:
        raise InvalidInput(_("The type of a campaign that has started cannot change: create a new campaign."))
    clean = _validate(draft)
    _apply(campaign, clean)
    audit.record(session, actor=uow.actor, action="campaign.edit", detail={"campaign_id": campaign.id})
    uow.commit()


def _failed() -> object:
    return (CampaignRecipient.state == "sent") & (OutboxItem.state == "failed")


def counts_by_campaign(session: Session, campaign_ids: list[int] | None = None) -> dict[int, Counts]:
    failed = _failed()
    query = (
        select(
            CampaignRecipient.campaign_id,
            func.sum(case((CampaignRecipient.state != "removed", 1), else_=0)),
            func.sum(case((failed, 0), (CampaignRecipient.state == "sent", 1), else_=0)),  # type: ignore[arg-type]
            func.sum(case((CampaignRecipient.state == "skipped", 1), else_=0)),
            func.sum(case((failed, 1), else_=0)),  # type: ignore[arg-type]
            func.sum(case((CampaignRecipient.state == "removed", 1), else_=0)),
        )
        .outerjoin(OutboxItem, OutboxItem.id == CampaignRecipient.outbox_id)
        .group_by(CampaignRecipient.campaign_id)
    )
    if campaign_ids is not None:
        query = query.where(CampaignRecipient.campaign_id.in_(campaign_ids))
    return {row[0]: Counts(*(int(value or 0) for value in row[1:])) for row in session.execute(query)}


def _summary(campaign: Campaign, counts: Counts, today: date) -> CampaignSummary:
    return CampaignSummary(campaign.id, campaign.name, campaign.kind, campaign.mode,
                           status_of(campaign.kind, campaign.status, campaign.ends_on, today), counts,
                           campaign.starts_on, campaign.ends_on, campaign.started_at)


def list_campaigns(uow: UnitOfWork, today: date) -> list[CampaignSummary]:
    """Every campaign, newest first, with its counts (CA-1)."""
    require_permission(uow)
    session = uow.session
    campaigns = session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())).all()
    counts = counts_by_campaign(session)
    return [_summary(campaign, counts.get(campaign.id, Counts()), today) for campaign in campaigns]


def get_campaign(uow: UnitOfWork, campaign_id: int, today: date) -> CampaignDetail:
    require_permission(uow)
    session = uow.session
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("This campaign no longer exists."))
    counts = counts_by_campaign(session, [campaign_id]).get(campaign_id, Counts())
    draft = CampaignDraft(campaign.kind, campaign.name, campaign.starts_on, campaign.ends_on,
                          campaign.email_subject or "", campaign.email_body or "", campaign.app_title or "",
                          campaign.app_body or "")
    return CampaignDetail(_summary(campaign, counts, today), draft)
