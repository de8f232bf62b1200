"""Calendar feeds: per-rep feed state and the published events with their stable UIDs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("rep_id", sa.String(length=255), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", name=op.f("pk_calendar_feeds")),
    )
    op.create_table(
        "calendar_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rep_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('CONFIRMED', 'CANCELLED')", name=op.f("ck_calendar_entries_status_known")
        ),
        sa.CheckConstraint("sequence >= 0", name=op.f("ck_calendar_entries_sequence_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
        sa.UniqueConstraint("uid", name=op.f("uq_calendar_entries_uid")),
    )
    op.create_index("ix_calendar_entries_rep_day", "calendar_entries", ["rep_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_calendar_entries_rep_day", table_name="calendar_entries")
    op.drop_table("calendar_entries")
    op.drop_table("calendar_feeds")
