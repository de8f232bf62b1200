"""Assignment tests reuse the storage fixtures: a real database per test (SQLite file, and
PostgreSQL, see :mod:`tests.storage.conftest`) behind a store with a hand-driven clock."""

from tests.storage.conftest import (  # noqa: F401
    FakeClock,
    clock,
    db_backend,
    db_url,
    migrated_db_url,
    postgres_schema_url,
    store,
)
