"""Search keys in byte order on PostgreSQL; identifier indexes carry the row id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

On a PostgreSQL database created with a linguistic collation (ICU fr-CA, en_CA.UTF-8 …), prefix
range scans over the folded search keys missed patients (an upper bound like '10:' sorts before
'1039'); COLLATE "C" gives the same order as SQLite. (health_key, id) and (phone_key, id) let
keyset paging read only the page it returns. Larger statistics on the name keys stop PostgreSQL
from under-estimating a common last-name prefix and sorting thousands of rows.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KEYS = {"chart_id": 40, "last_key": 120, "first_key": 120, "health_key": 40, "phone_key": 20}


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        for column, length in KEYS.items():
            op.execute(f'ALTER TABLE patients ALTER COLUMN {column} TYPE varchar({length}) COLLATE "C"')
        for column in ("last_key", "first_key"):
            op.execute(f"ALTER TABLE patients ALTER COLUMN {column} SET STATISTICS 1000")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_health_key")
        batch_op.drop_index("ix_patients_phone_key")
        batch_op.create_index("ix_patients_health_key", ["health_key", "id"], unique=False)
        batch_op.create_index("ix_patients_phone_key", ["phone_key", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_health_key")
        batch_op.drop_index("ix_patients_phone_key")
        batch_op.create_index("ix_patients_health_key", ["health_key"], unique=False)
        batch_op.create_index("ix_patients_phone_key", ["phone_key"], unique=False)
    if op.get_context().dialect.name == "postgresql":
        for column in ("last_key", "first_key"):
            op.execute(f"ALTER TABLE patients ALTER COLUMN {column} SET STATISTICS -1")
        for column, length in KEYS.items():
            op.execute(f'ALTER TABLE patients ALTER COLUMN {column} TYPE varchar({length}) COLLATE "default"')
