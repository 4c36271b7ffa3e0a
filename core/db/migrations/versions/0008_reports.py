"""Indexes for the reports: events by kind and time with the id (keyset pages), by sender, provider
and patient within a kind; campaign recipients by date added.

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-23

A report's first page is ``WHERE kind = ? AND at in range ORDER BY at DESC, id DESC LIMIT n``:
(kind, at, id) answers it from the index on both backends (SQLite's rowid is in every index,
PostgreSQL's is not). A sender or provider filter on a busy clinic's 30 days would otherwise
read every event of the kind in the range; a patient search looks the few matching patients'
events up directly.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_at")
        batch_op.create_index("ix_events_kind_at", ["kind", "at", "id"], unique=False)
        batch_op.create_index("ix_events_kind_user", ["kind", "user_id", "at"], unique=False)
        batch_op.create_index("ix_events_kind_provider", ["kind", "provider_id", "at"], unique=False)
        batch_op.create_index("ix_events_patient", ["patient_id", "kind", "at"], unique=False)
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_recipients_added", ["added_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_recipients_added")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_patient")
        batch_op.drop_index("ix_events_kind_provider")
        batch_op.drop_index("ix_events_kind_user")
        batch_op.drop_index("ix_events_kind_at")
        batch_op.create_index("ix_events_kind_at", ["kind", "at"], unique=False)
