"""Performance monitoring: an order value and a next step on visit records, monthly sales
figures per account, and targets per territory or rep and month.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, as in 0005: no table rebuild on SQLite.
    op.add_column("visit_records", sa.Column("order_value", sa.Double(), nullable=True))
    op.add_column(
        "visit_records",
        sa.Column("next_step", sa.String(length=200), nullable=False, server_default=""),
    )
    op.create_table(
        "sales_figures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("product_line", sa.String(length=100), nullable=False),
        sa.Column("revenue", sa.Double(), nullable=False),
        sa.Column("order_count", sa.Integer(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_figures")),
        sa.UniqueConstraint(
            "account_id",
            "period",
            "product_line",
            name=op.f("uq_sales_figures_account_id_period_product_line"),
        ),
    )
    op.create_index("ix_sales_figures_period", "sales_figures", ["period"])
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=255), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("revenue", sa.Double(), nullable=True),
        sa.Column("visits_done", sa.Integer(), nullable=True),
        sa.Column("coverage", sa.Double(), nullable=True),
        sa.Column("new_accounts", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.CheckConstraint("scope IN ('territory', 'rep')", name=op.f("ck_targets_scope_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint(
            "scope", "scope_id", "period", name=op.f("uq_targets_scope_scope_id_period")
        ),
    )


def downgrade() -> None:
    op.drop_table("targets")
    op.drop_index("ix_sales_figures_period", table_name="sales_figures")
    op.drop_table("sales_figures")
    with op.batch_alter_table("visit_records") as batch:
        batch.drop_column("next_step")
        batch.drop_column("order_value")
