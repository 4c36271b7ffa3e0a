"""Covering indexes for the reports at a million events: the confirmed-message report reads no table row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23

"Secure message confirmed" counts only the views of secure messages, not of reminders, so each
confirmed event needs its message's kind. ``ix_events_kind_at`` now carries ``message_id`` after
(kind, at, id) and ``ix_messages_kind`` is (id, kind): the count, the first page and the daily
chart then read two indexes and no table row on either backend (EXPLAIN QUERY PLAN: "COVERING
INDEX" twice; EXPLAIN: two index-only scans). Before, each of the ~16,000 confirmed events of a
30-day window read its event row and its message row (bench.reports at 1M events, first page and
count, p95: 0.13 s on SQLite, 0.76 s on PostgreSQL; after: 0.04-0.06 s and 0.08-0.13 s).
The keyset pages (kind, at, id) are served by the same index as before.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_at")
        batch_op.create_index("ix_events_kind_at", ["kind", "at", "id", "message_id"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_kind", ["id", "kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_kind")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_at")
        batch_op.create_index("ix_events_kind_at", ["kind", "at", "id"], unique=False)
