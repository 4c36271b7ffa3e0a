"""Site-key rotation (SI-5): the rotation in progress and the blobs re-encrypted until the switch.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from core.db.models.base import JSONData, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_rotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("new_salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("new_check", sa.LargeBinary(length=128), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("done_rows", sa.Integer(), nullable=False),
        sa.Column("unreadable_rows", sa.Integer(), nullable=False),
        sa.Column("cursors", JSONData, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_rotations")),
    )
    op.create_table(
        "key_rotation_blobs",
        sa.Column("rotation_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("old_nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["rotation_id"], ["key_rotations.id"],
                                name=op.f("fk_key_rotation_blobs_rotation_id_key_rotations"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rotation_id", "target", "row_id", name=op.f("pk_key_rotation_blobs")),
    )


def downgrade() -> None:
    op.drop_table("key_rotation_blobs")
    op.drop_table("key_rotations")
