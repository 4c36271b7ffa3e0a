"""The outbox item's states and the small types the queue, the results and the worker share.

See ``core.outbox.queue`` for the state machine and its crash semantics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table

from core.db.models import Message, OutboxItem, Patient

PENDING = "pending"
CLAIMED = "claimed"
TRANSMITTING = "transmitting"
SENT = "sent"
FAILED = "failed"
UNCERTAIN = "uncertain"
STATES = (PENDING, CLAIMED, TRANSMITTING, SENT, FAILED, UNCERTAIN)
# States in which a worker holds the item (its claimed_by is the holder).
HELD = (CLAIMED, TRANSMITTING, UNCERTAIN)

OUTBOX = cast(Table, OutboxItem.__table__)
MESSAGES = cast(Table, Message.__table__)
PATIENTS = cast(Table, Patient.__table__)


@dataclass(frozen=True)
class RetryPolicy:
    """Back-off for temporary failures (4xx, connection trouble), in the spirit of RFC 5321 §4.5.4.1.

    The n-th failed attempt waits ``min(base × factor^(n-1), cap)`` before the next one; with the
    defaults: 1, 2, 4, … 32 min, then hourly, giving up (``failed``) at ``max_attempts`` ≈ 4 days.
    """

    base_seconds: float = 60.0
    factor: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 100

    def delay(self, attempts: int) -> timedelta:
        seconds = self.base_seconds * self.factor ** max(0, attempts - 1)
        return timedelta(seconds=min(seconds, self.cap_seconds))


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class ClaimedItem:
    """One outbox item held by a worker: what to send, and who holds it."""

    id: int
    kind: str
    payload: dict[str, Any]
    message_id: int | None
    attempts: int
    claimed_by: str


@dataclass(frozen=True)
class Recovery:
    returned: int  # stale 'claimed' items back to 'pending'
    uncertain: int  # stale 'transmitting' items now 'uncertain'


class LostClaim(Exception):
    """The item is no longer held by this worker (recovered as stale): do not transmit it."""
