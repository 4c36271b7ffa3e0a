"""What the Reports section and ``accueil report`` call: open a report, page it, list filter choices.

``open_report`` reads the first page and the total and, unless told the view is already audited,
writes one audit entry (a report lists patients by name: reading one is a view of patient data).

What one audit entry stands for is a *view*: a report over some days with its sender, provider
and patient-search filters (``view_key``). Paging through it or sorting it again shows the same
rows and writes nothing more; a face that re-reads a view it has audited passes ``audit=False``.
The Reports screen also waits for typing in its search box to settle before reading, so a name
typed letter by letter is one view, not one per letter. Date presets (``definitions.PRESETS``)
are computed from the caller's "today".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from core import audit
from core.db.models import Provider, User
from core.reports.definitions import PRESETS, preset_range
from core.reports.export import audit_detail
from core.reports.query import ReportPage, ReportQuery, count, page

if TYPE_CHECKING:
    from core.bootstrap import Accueil

@dataclass(frozen=True)
class ReportView:
    query: ReportQuery
    first_page: ReportPage
    total: int


@dataclass(frozen=True)
class Choice:
    id: int
    name: str


@dataclass(frozen=True)
class FilterChoices:
    senders: tuple[Choice, ...]
    providers: tuple[Choice, ...]


ViewKey = tuple[object, ...]


def view_key(query: ReportQuery) -> ViewKey:
    """What makes two reads the same view for the audit trail: everything but the order of the rows."""
    return (query.report, query.date_from, query.date_to, query.timezone, query.sender_id, query.provider_id,
            " ".join(query.search.casefold().split()))


def open_report(app: Accueil, query: ReportQuery, *, limit: int = 100, audit_view: bool = True) -> ReportView:
    """The first page and the total in one read; then the view's audit entry (unless ``audit_view`` is false)."""
    with app.uow() as uow:
        first = page(uow.session, query, limit=limit)
        total = count(uow.session, query)
    if not audit_view:
        return ReportView(query, first, total)
    with app.uow(write=True) as uow:
        audit.record(uow.session, actor=uow.actor, action="report.view", detail=audit_detail(query, total))
        uow.commit()
    return ReportView(query, first, total)


def next_page(app: Accueil, query: ReportQuery, after: tuple[object, ...] | None, *, limit: int = 100) -> ReportPage:
    with app.uow() as uow:
        return page(uow.session, query, after=after, limit=limit)


def filter_choices(app: Accueil) -> FilterChoices:
    """Staff accounts (senders) and EMR providers, by name."""
    with app.uow() as uow:
        senders = uow.session.execute(select(User.id, User.display_name).order_by(User.display_name, User.id)).all()
        providers = uow.session.execute(
            select(Provider.id, Provider.display_name).order_by(Provider.display_name, Provider.id)).all()
    return FilterChoices(tuple(Choice(i, n) for i, n in senders), tuple(Choice(i, n) for i, n in providers))


__all__ = ["PRESETS", "Choice", "FilterChoices", "ReportView", "ViewKey", "filter_choices", "next_page", "open_report",
           "preset_range", "view_key"]
