"""Visit records: the outcome a rep picked, and when a report was undone (withdrawn).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit_records") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visit_records") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("outcome")
