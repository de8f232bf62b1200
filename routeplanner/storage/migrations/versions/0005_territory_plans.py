"""Territory plans: each plan version lists one territory plan per rep, so that a rep's repair
can write that rep's territory plan alone and share the others with the version before.

Every stored plan keeps its routes and unassigned visits: each complete version gets one
territory plan per rep in its routes (written by itself), and its unassigned visits go to the
rep whose territory holds the account now ("" when none does).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch mode: rebuilding `plans` on SQLite would drop the table and,
    # with foreign keys on, cascade into every stored route.
    op.add_column("plans", sa.Column("rep_id", sa.String(length=255), nullable=True))
    op.add_column(
        "plan_unassigned",
        sa.Column("rep_id", sa.String(length=255), nullable=False, server_default=""),
    )
    op.create_table(
        "plan_parts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source_plan_id", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_plan_parts_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_plan_id"], ["plans.id"], name=op.f("fk_plan_parts_source_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_parts")),
        sa.UniqueConstraint("plan_id", "rep_id", name=op.f("uq_plan_parts_plan_id_rep_id")),
    )
    op.create_index(
        op.f("ix_plan_parts_source_plan_id"), "plan_parts", ["source_plan_id"], unique=False
    )
    _split_stored_plans()


def _split_stored_plans() -> None:
    """Give every stored plan its territory plans (see the module docstring)."""
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE plan_unassigned SET rep_id = COALESCE(("
            " SELECT t.rep_id FROM territory_accounts ta"
            " JOIN territories t ON t.territory_id = ta.territory_id"
            " WHERE ta.account_id = plan_unassigned.account_id), '')"
        )
    )
    owners = bind.execute(
        sa.text(
            "SELECT plan_id, rep_id, 0 AS kind, position FROM plan_routes"
            " UNION ALL SELECT plan_id, rep_id, 1 AS kind, position FROM plan_unassigned"
            " ORDER BY plan_id, kind, position"
        )
    ).all()
    parts: dict[int, list[str]] = {}
    for plan_id, rep_id, _kind, _position in owners:
        reps = parts.setdefault(plan_id, [])
        if rep_id not in reps:
            reps.append(rep_id)
    rows = [
        {"plan_id": plan_id, "rep_id": rep_id, "position": i, "source_plan_id": plan_id}
        for plan_id, reps in parts.items()
        for i, rep_id in enumerate(sorted(reps, key=lambda r: (r == "", reps.index(r))))
    ]
    if rows:
        table = sa.table(
            "plan_parts",
            sa.column("plan_id", sa.Integer()),
            sa.column("rep_id", sa.String()),
            sa.column("position", sa.Integer()),
            sa.column("source_plan_id", sa.Integer()),
        )
        bind.execute(table.insert(), rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_parts_source_plan_id"), table_name="plan_parts")
    op.drop_table("plan_parts")
    with op.batch_alter_table("plan_unassigned") as batch:
        batch.drop_column("rep_id")
    op.drop_column("plans", "rep_id")
