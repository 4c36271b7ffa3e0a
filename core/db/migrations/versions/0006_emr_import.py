"""EMR import: the import folder's path and how long portal copies are kept after an import.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-23

``emr_import_path``: where the import-folder destination writes each item and its sidecar.
``portal_retention_days``: portal copies of replies and patient files are deleted this many days
after a successful import (EM, minimisation); NULL keeps them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emr_import_path", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("portal_retention_days", sa.Integer(), nullable=True,
                                      server_default=sa.text("30")))


def downgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("portal_retention_days")
        batch_op.drop_column("emr_import_path")
