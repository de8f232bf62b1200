"""Regions of territories, managers scoped to regions, and the admin role.

Every existing manager becomes an admin: until now a manager saw everything, and an admin is
the role that still does, so nobody loses (or gains) access by upgrading. A manager from now
on sees only the regions they are given.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_ROLES = "role IN ('manager', 'rep')"
_OLD_REP = "role = 'manager' OR rep_id IS NOT NULL"
_NEW_ROLES = "role IN ('admin', 'manager', 'rep')"
_NEW_REP = "role <> 'rep' OR rep_id IS NOT NULL"


_USER_CHILDREN = ("tokens", "sessions")


def _user_checks(roles: str, rep: str) -> None:
    """Replace the role checks. SQLite changes a table by copying it and dropping the old
    one, and that drop deletes the users' tokens and sessions (ON DELETE CASCADE; the
    pragma that would stop it cannot change inside the migration's transaction), so they
    are kept aside and put back."""
    keep = _USER_CHILDREN if op.get_bind().dialect.name == "sqlite" else ()
    for table in keep:
        op.execute(f"CREATE TEMPORARY TABLE keep_{table} AS SELECT * FROM {table}")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role_known"), type_="check")
        batch.drop_constraint(op.f("ck_users_rep_has_rep_id"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role_known"), roles)
        batch.create_check_constraint(op.f("ck_users_rep_has_rep_id"), rep)
    for table in keep:
        op.execute(f"DELETE FROM {table}")
        op.execute(f"INSERT INTO {table} SELECT * FROM keep_{table}")
        op.execute(f"DROP TABLE keep_{table}")


def upgrade() -> None:
    _user_checks(_NEW_ROLES, _NEW_REP)
    op.execute("UPDATE users SET role = 'admin' WHERE role = 'manager'")
    op.create_table(
        "regions",
        sa.Column("region_id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("region_id", name=op.f("pk_regions")),
    )
    op.create_table(
        "region_territories",
        sa.Column("territory_id", sa.String(length=255), nullable=False),
        sa.Column("region_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.region_id"],
            name=op.f("fk_region_territories_region_id_regions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("territory_id", name=op.f("pk_region_territories")),
    )
    op.create_index(op.f("ix_region_territories_region_id"), "region_territories", ["region_id"])
    op.create_table(
        "user_regions",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_regions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["regions.region_id"],
            name=op.f("fk_user_regions_region_id_regions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "region_id", name=op.f("pk_user_regions")),
    )
    op.create_index(op.f("ix_user_regions_region_id"), "user_regions", ["region_id"])


def downgrade() -> None:
    # The old schema has no scope: a scoped manager is disabled rather than widened to see
    # everything; admins become the old all-seeing managers.
    op.execute("UPDATE users SET active = false WHERE role = 'manager'")
    op.execute("UPDATE users SET role = 'manager' WHERE role = 'admin'")
    op.drop_index(op.f("ix_user_regions_region_id"), table_name="user_regions")
    op.drop_table("user_regions")
    op.drop_index(op.f("ix_region_territories_region_id"), table_name="region_territories")
    op.drop_table("region_territories")
    op.drop_table("regions")
    _user_checks(_OLD_ROLES, _OLD_REP)
