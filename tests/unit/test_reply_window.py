"""The reply window: a date, or a number of days counted from the day the message was sent."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.db.models import Message
from core.messaging.compose import MessageOptions
from core.messaging.patient_actions import reply_window
from core.messaging.templates import _options_from_data

ZONE = "America/Toronto"


def message(options: MessageOptions, sent: datetime) -> Message:
    return Message(options=options.to_data(), created_at=sent)


def test_days_count_from_the_sending_day_in_the_clinic_time_zone() -> None:
    # 02:00 UTC on 10 March is still 9 March in Toronto: 14 days from then is 23 March.
    sent = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    window = reply_window(message(MessageOptions(allow_reply=True, reply_days=14), sent), timezone=ZONE,
                          now=datetime(2026, 3, 23, 20, 0, tzinfo=UTC))
    assert window.closes_on == date(2026, 3, 23) and not window.expired
    later = reply_window(message(MessageOptions(allow_reply=True, reply_days=14), sent), timezone=ZONE,
                         now=datetime(2026, 3, 24, 12, 0, tzinfo=UTC))
    assert later.expired


def test_a_date_wins_and_no_window_never_expires() -> None:
    sent = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    dated = MessageOptions(allow_reply=True, reply_until=date(2026, 4, 1))
    assert reply_window(message(dated, sent), timezone=ZONE).closes_on == date(2026, 4, 1)
    open_ended = reply_window(message(MessageOptions(allow_reply=True), sent), timezone=ZONE,
                              now=datetime(2036, 1, 1, tzinfo=UTC))
    assert open_ended.closes_on is None and not open_ended.expired


def test_a_template_keeps_the_days_not_a_date() -> None:
    stored = MessageOptions(allow_reply=True, reply_days=30).to_data()
    assert stored["reply_until"] is None and stored["reply_days"] == 30
    assert _options_from_data(stored).reply_days == 30
    assert _options_from_data({"reply_until": "2026-04-01"}).reply_days is None


def test_days_out_of_range_are_a_problem() -> None:
    assert MessageOptions(reply_days=4000).problems()
    assert not MessageOptions(reply_days=0).problems()
