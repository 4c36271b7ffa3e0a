"""Dates, times and numbers the way each interface language writes them (TU-3).

French: ``23 novembre 2026``, ``14 h 30``, ``1 234,5`` (a no-break space between thousands, so a
number never breaks across lines; every terminal font has it, unlike the narrow one).
English: ``November 23, 2026``, ``2:30 PM``, ``1,234.5``. The language is the current one
(``core.i18n.get_language``) unless one is given. Plain Python, no locale database: the server's
locale settings never change what the clinic sees.
"""

from __future__ import annotations

from datetime import date, datetime

from core.i18n import get_language

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
}
THOUSANDS = {"en": ",", "fr": "\u00a0"}
DECIMAL = {"en": ".", "fr": ","}


def format_date(day: date, language: str | None = None) -> str:
    language = language or get_language()
    month = MONTHS[language][day.month - 1]
    if language == "fr":
        return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
    return f"{month} {day.day}, {day.year}"


def format_time(moment: datetime, language: str | None = None) -> str:
    language = language or get_language()
    if language == "fr":
        return f"{moment.hour} h {moment.minute:02d}"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def format_datetime(moment: datetime, language: str | None = None) -> str:
    language = language or get_language()
    joiner = " à " if language == "fr" else " at "
    return format_date(moment.date(), language) + joiner + format_time(moment, language)


def format_number(value: float, decimals: int | None = None, language: str | None = None) -> str:
    """``1234.5`` -> ``1,234.5`` / ``1 234,5``; ``decimals`` fixes the digits after the point."""
    language = language or get_language()
    text = f"{value:,.{decimals}f}" if decimals is not None else f"{value:,}"
    if isinstance(value, float) and decimals is None and "e" in text.lower():
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", DECIMAL[language]).replace("\0", THOUSANDS[language])


__all__ = ["format_date", "format_datetime", "format_number", "format_time"]
