"""Indexes for the performance dashboard: visit records by day (a month's reports), each
account's visits by status and day with the withdrawal mark (the last visit done, read from
the index alone), and sales by month with account and revenue (potential per value class, read
from the index alone).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_visit_records_day", "visit_records", ["day"])
    op.create_index(
        "ix_visit_records_account_status_day",
        "visit_records",
        ["account_id", "status", "day", "withdrawn_at"],
    )
    op.create_index(
        "ix_sales_figures_period_account_revenue",
        "sales_figures",
        ["period", "account_id", "revenue"],
    )


def downgrade() -> None:
    op.drop_index("ix_sales_figures_period_account_revenue", table_name="sales_figures")
    op.drop_index("ix_visit_records_account_status_day", table_name="visit_records")
    op.drop_index("ix_visit_records_day", table_name="visit_records")
