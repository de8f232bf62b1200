"""Visit records: the id the phone gave a report, unique, so a report synced twice (offline
queue, retry) is stored once.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit_records") as batch:
        batch.add_column(sa.Column("report_id", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_visit_records_report_id", ["report_id"])


def downgrade() -> None:
    with op.batch_alter_table("visit_records") as batch:
        batch.drop_constraint("uq_visit_records_report_id", type_="unique")
        batch.drop_column("report_id")
