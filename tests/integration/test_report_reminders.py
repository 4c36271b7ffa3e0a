"""RP-1 on both backends: appointment reminders sent by the scheduled job are new email invitation
links (kind "reminder"), never secure messages sent, and name the reminder rule as their sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.messaging.reminders import run_reminders
from core.reports import definitions as names
from core.reports.query import ReportQuery, count, iter_rows
from tests.integration.test_reminders import NOW, clinic, day_before  # noqa: F401 - fixture


def test_reminders_are_links_not_messages_sent(clinic) -> None:  # noqa: F811
    day_before(clinic)
    assert run_reminders(clinic, NOW) == 2
    today = datetime.now(UTC).astimezone(ZoneInfo(clinic.settings.timezone)).date()  # sent now, dated now

    def query(name: str) -> ReportQuery:
        return ReportQuery(name, today - timedelta(days=1), today + timedelta(days=1),
                           timezone=clinic.settings.timezone, sort="chart", descending=False)

    with clinic.uow() as uow:
        links = [row.cells for row in iter_rows(uow.session, query(names.LINKS_CREATED))]
        assert count(uow.session, query(names.MESSAGES_SENT)) == 0
        assert count(uow.session, query(names.MESSAGES_CONFIRMED)) == 0
    assert [(r[2], r[4], r[5]) for r in links] == [("1", "reminder", "Appointment reminders (La veille)"),
                                                   ("2", "reminder", "Appointment reminders (La veille)")]
