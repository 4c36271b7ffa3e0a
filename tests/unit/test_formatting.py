"""Dates, times and numbers per language (core.formatting)."""

from __future__ import annotations

from datetime import date, datetime

from core.formatting import format_date, format_datetime, format_number, format_time
from core.i18n import set_language


def test_dates_in_french_and_english() -> None:
    assert format_date(date(2026, 11, 23), "fr") == "23 novembre 2026"
    assert format_date(date(2026, 2, 1), "fr") == "1er février 2026"
    assert format_date(date(2026, 11, 23), "en") == "November 23, 2026"


def test_times_and_moments() -> None:
    assert format_time(datetime(2026, 3, 14, 9, 5), "fr") == "9 h 05"
    assert format_time(datetime(2026, 3, 14, 0, 30), "en") == "12:30 AM"
    assert format_datetime(datetime(2026, 3, 14, 14, 30), "en") == "March 14, 2026 at 2:30 PM"
    assert format_datetime(datetime(2026, 3, 14, 14, 30), "fr") == "14 mars 2026 à 14 h 30"


def test_numbers_follow_the_current_language() -> None:
    assert format_number(1234.5, language="fr") == "1\u00a0234,5"
    assert format_number(1234.5, language="en") == "1,234.5"
    assert format_number(1234567, language="en") == "1,234,567"
    assert format_number(2.0, decimals=1, language="fr") == "2,0"
    try:
        set_language("fr")
        assert format_number(12345) == "12\u00a0345"
    finally:
        set_language("en")
    assert format_number(12345) == "12,345"
