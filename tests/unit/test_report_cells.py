"""Report cells and the daily chart, without a database: local times across daylight-saving
changes (Toronto on the hour, St. John's on the half hour) and the chart's bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.reports.cells import _LocalTime
from tui.widgets.daily_chart import chart_lines, columns_for


@pytest.mark.parametrize("zone_name", ["America/Toronto", "America/St_Johns", "America/Vancouver"])
def test_local_times_match_the_zone_rules_every_seven_minutes(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    local = _LocalTime(zone)
    for start in (datetime(2025, 3, 8, tzinfo=UTC), datetime(2025, 11, 1, tzinfo=UTC)):
        for step in range(0, 3 * 24 * 60, 7):
            moment = start + timedelta(minutes=step, seconds=step % 60)
            assert local(moment) == moment.astimezone(zone).strftime("%Y-%m-%d %H:%M"), moment
    assert local(None) == ""


def test_columns_fill_the_width_or_sum_neighbouring_days() -> None:
    assert columns_for([1, 2], 6) == [1, 1, -1, 2, 2, -1]  # three columns a day: two of bar, one gap
    assert columns_for([1, 2, 3], 4) == [1, 2, 3]  # one column a day, no room for gaps
    assert columns_for([5, 0, 1, 1], 2) == [5, 2]  # more days than columns: summed
    assert columns_for([], 10) == []


def test_bars_are_as_high_as_their_counts_and_a_single_row_is_never_empty() -> None:
    lines = chart_lines([4, 1, 0], 3, 2)
    assert lines == ["█  ", "█▄ "]  # 4 is the peak (16 eighths), 1 is 4 eighths, 0 is blank
    assert chart_lines([0, 0], 4, 1) == ["    "]
    assert chart_lines([100, 1], 2, 1) == ["█▁"]  # a small count still shows
