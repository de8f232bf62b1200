"""Accounts: postcode, a lock to one rep, and the qualifications a rep needs to own it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add NOT NULL columns with defaults otherwise portable.
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(
            sa.Column("postcode", sa.String(length=32), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("locked_rep_id", sa.String(length=255), nullable=True))
        batch.add_column(
            sa.Column("required_qualifications", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("required_qualifications")
        batch.drop_column("locked_rep_id")
        batch.drop_column("postcode")
