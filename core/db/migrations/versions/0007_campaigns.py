"""Campaigns: invitation tokens, the outbox item of each send, the consent ledger, paging indexes.

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-23

A recipient's invitation link is stored as the SHA-256 of its token only (SR-3), with its expiry
and acceptance. ``outbox_id`` ties a send to its outbox item, so a refused email or push shows as
"failed" on the recipient list. ``campaign_consents`` is the consent ledger (CA-8): one row per
recipient at Start with the consents read at that moment and the outcome. (campaign_id, id)
pages the recipient list; the patients index serves the usual campaign filters (language,
marketing consent, age) from the index alone.
"""

import sqlalchemy as sa
from alembic import op

from core.db.models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

def upgrade() -> None:
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_token_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("invite_expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("invite_accepted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("outbox_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_campaign_recipients_token", ["invite_token_hash"], unique=True)
        batch_op.create_index("ix_campaign_recipients_page", ["campaign_id", "id"], unique=False)
    op.create_table(
        "campaign_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("marketing_consent_at", UTCDateTime(), nullable=True),
        sa.Column("email_consent", sa.Boolean(), nullable=False),
        sa.Column("has_email", sa.Boolean(), nullable=False),
        sa.Column("push_enabled", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recipient_id"], ["campaign_recipients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_consents_patient", "campaign_consents", ["patient_id", "at"], unique=False)
    op.create_index("ix_patients_campaign_filter", "patients",
                    ["language", "marketing_consent", "date_of_birth"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patients_campaign_filter", table_name="patients")
    op.drop_index("ix_campaign_consents_patient", table_name="campaign_consents")
    op.drop_table("campaign_consents")
    with op.batch_alter_table("campaign_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_recipients_page")
        batch_op.drop_index("ix_campaign_recipients_token")
        batch_op.drop_column("outbox_id")
        batch_op.drop_column("invite_accepted_at")
        batch_op.drop_column("invite_expires_at")
        batch_op.drop_column("invite_token_hash")
