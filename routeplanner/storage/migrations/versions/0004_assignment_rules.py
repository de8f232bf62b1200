"""Assignment rules: the ordered list of rules a manager edits, one JSON document per rule.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_rules",
        sa.Column("rule_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_assignment_rules_position_positive")),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_assignment_rules")),
        sa.UniqueConstraint("position", name=op.f("uq_assignment_rules_position")),
    )


def downgrade() -> None:
    op.drop_table("assignment_rules")
