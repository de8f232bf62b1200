"""Learned travel factors and visit lengths a manager confirmed, with their evidence.

Revision ID: 0013
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "learned_values",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("observations", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Double(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('travel_factor', 'visit_seconds')", name=op.f("ck_learned_values_kind_known")
        ),
        sa.CheckConstraint("value > 0", name=op.f("ck_learned_values_value_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learned_values")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_learned_values_kind_key")),
    )


def downgrade() -> None:
    op.drop_table("learned_values")
