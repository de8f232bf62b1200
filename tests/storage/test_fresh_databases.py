"""Each test's migrated database is a fresh one: no rows left by an earlier test, ids from 1.

The fixtures hand out copies (SQLite) or an emptied shared schema (PostgreSQL) of one migration
per session (tests/databases.py); a table or sequence the reset missed would let one test's
data leak into the next.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from routeplanner.model import Horizon
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from routeplanner.storage.engine import head_revision, schema_revision
from routeplanner.storage.tables import Base
from tests.databases import MigratedPostgres, MigratedSqlite
from tests.storage.conftest import FakeClock, make_accounts, make_plan, make_reps

HORIZON = Horizon(start=date(2026, 3, 2), weeks=1)


def _row_counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def _fill(store: Store) -> int:
    """Rows in the main tables; returns the first plan's id."""
    replace_accounts_and_reps(store, make_accounts(), make_reps(), source="test")
    plan_id = store.plans.start(HORIZON)
    store.plans.complete(plan_id, make_plan())
    store.users.create("anna", "$argon2id$v=19$hash", role="manager")
    return plan_id


def test_the_next_database_is_migrated_empty_and_counts_ids_from_one(
    db_backend: str,
    migrated_db_url: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    store = Store.open(migrated_db_url, clock=clock)
    first_plan = _fill(store)
    assert sum(_row_counts(store).values()) > 0
    store.close()
    if db_backend == "sqlite":
        sqlite: MigratedSqlite = request.getfixturevalue("migrated_sqlite")
        next_url = sqlite.copy(tmp_path / "next" / "routeplanner.sqlite")
    else:
        postgres: MigratedPostgres = request.getfixturevalue("migrated_postgres")
        next_url = postgres.reset()
    fresh = Store.open(next_url, upgrade=False, clock=clock)
    try:
        assert schema_revision(fresh.engine) == head_revision()
        assert set(_row_counts(fresh).values()) == {0}
        assert _fill(fresh) == first_plan == 1
    finally:
        fresh.close()
