"""Appointment reminders (MS-9): a rule may name the same reminder in the patient's other language.

Revision ID: 0010
Revises: 0002
Create Date: 2026-11-23

A rule sends ``template_id`` to patients whose language is that template's, and
``alt_template_id`` (when set) to the others, so French and English patients each get their
reminder in their own words (dates and times are already formatted in their language).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alt_template_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_reminder_rules_alt_template_id_templates"), "templates",
                                    ["alt_template_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("reminder_rules", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_reminder_rules_alt_template_id_templates"), type_="foreignkey")
        batch_op.drop_column("alt_template_id")
