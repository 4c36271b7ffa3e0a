"""The events table: what happened to messages, forms and campaigns, one row per fact.

Reports (RP-1) and staff notifications (MS-6) read only this table, so each kind below is
recorded exactly once per fact, in the same transaction as the change it describes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from core.db.bulk import insert_rows
from core.db.models import Event, utcnow

LINK_CREATED = "link.created"                # every email carrying a personal link (message, reminder, invitation)
MESSAGE_SENT = "message.sent"                # a secure message sent without an eForm
FORM_SENT = "form.sent"                      # one per eForm attached to a message
MESSAGE_DELIVERED = "message.delivered"      # the mail server accepted the email
MESSAGE_FAILED = "message.failed"            # the mail server refused it for good
MESSAGE_CONFIRMED = "message.confirmed"      # the patient opened the secure message (first time only)
FORM_COMPLETED = "form.completed"            # channel: online | kiosk
MESSAGE_REPLIED = "message.replied"
CAMPAIGN_SENT = "campaign.sent"
CAMPAIGN_SKIPPED = "campaign.skipped"

KINDS = (LINK_CREATED, MESSAGE_SENT, FORM_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED, MESSAGE_CONFIRMED,
         FORM_COMPLETED, MESSAGE_REPLIED, CAMPAIGN_SENT, CAMPAIGN_SKIPPED)


def record_events(session: Session, rows: list[dict[str, Any]], *, at: datetime | None = None) -> None:
    """Insert events (dicts of Event columns plus ``kind``) in one statement, in the caller's transaction.

    Rows may name different columns (a missing one is NULL)."""
    if not rows:
        return
    moment = at or utcnow()
    for row in rows:
        if row["kind"] not in KINDS:
            raise ValueError(f"unknown event kind {row['kind']!r}")
        row.setdefault("at", moment)
    insert_rows(session, cast(Table, Event.__table__), rows)


def record_event(session: Session, kind: str, **columns: Any) -> None:
    record_events(session, [{"kind": kind, **columns}])
