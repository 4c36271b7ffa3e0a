"""The time as the front desk sees it: now, today and appointment times in local time.

Screens ask the app's ``Clock`` instead of calling ``datetime.now()`` so that an age, the line
between upcoming and past appointments and every local time shown are the same in a test
(and in a snapshot) whatever day the test runs. The database keeps UTC; only the screens
convert, with the server's time-zone rules (the clinic's SSH server runs in its local zone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo


@dataclass(frozen=True, slots=True)
class Clock:
    zone: tzinfo | None = None
    """Zone for display; None means the server's local zone (DST rules of each date applied)."""
    fixed_now: datetime | None = None
    """An aware instant that ``now()`` always returns (tests); None means the real time."""

    def now(self) -> datetime:
        moment = self.fixed_now if self.fixed_now is not None else datetime.now(UTC)
        return self.local(moment)

    def today(self) -> date:
        return self.now().date()

    def local(self, moment: datetime) -> datetime:
        """``moment`` (aware, usually UTC from the database) in the display zone."""
        return moment.astimezone(self.zone)


def age_on(birth: date, today: date) -> int:
    """Completed years, the way a clinic counts them (a 29 February birthday turns on 1 March)."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


__all__ = ["Clock", "age_on"]
