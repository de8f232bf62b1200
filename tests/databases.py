"""Migrated databases made once per test session and handed to each test in a fresh state.

Migrating costs far more than a test's own queries, so a session migrates once per backend:
SQLite tests get a file copy of a migrated file, PostgreSQL tests share one migrated schema
whose rows are deleted (and sequences restarted) before each test. Tests of the migrations
themselves still start from an empty database (``db_url`` in tests/storage/conftest.py).
"""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from routeplanner.storage.engine import migrate
from routeplanner.storage.tables import Base

POSTGRES_ENV = "RP_TEST_POSTGRES_URL"
"""The tests' PostgreSQL server; unset, they start their own (tests/conftest.py)."""


def copy_sqlite(source: Path, target: Path) -> str:
    """A URL of a new SQLite file at ``target`` holding what ``source`` holds.

    SQLite's backup API rather than a file copy: it includes pages still in the source's
    write-ahead log (a connection somewhere may keep it open).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        copy.execute("PRAGMA synchronous = OFF")  # a test database need not survive a crash
        origin.backup(copy)
    return f"sqlite:///{target}"


class MigratedSqlite:
    """A SQLite file migrated to the newest schema; tests work on copies of it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "migrated.sqlite"
        migrate(f"sqlite:///{self.path}")

    def copy(self, target: Path) -> str:
        """A URL of a new SQLite file at ``target`` holding the migrated, empty schema."""
        return copy_sqlite(self.path, target)


def schema_url(base: str, schema: str) -> str:
    """``base`` with connections that see only ``schema``."""
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def new_schema_name() -> str:
    """Unique per call, so parallel test processes never share a schema."""
    return f"rp_test_{uuid.uuid4().hex[:12]}"


class MigratedPostgres:
    """A PostgreSQL schema migrated once; :meth:`reset` empties it for the next test.

    Deleting the few rows a test wrote takes milliseconds where ``TRUNCATE`` (new files per
    table) or a new schema plus migration takes a large part of a second.
    """

    def __init__(self, base: str) -> None:
        self.schema = new_schema_name()
        self._admin = create_engine(base)
        with self._admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        self.url = schema_url(base, self.schema)
        migrate(self.url)
        self._engine: Engine = create_engine(self.url)

    def reset(self) -> str:
        """Delete every row (children first) and restart every sequence; returns the URL."""
        with self._engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
            connection.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                    "FROM pg_sequences WHERE schemaname = :schema"
                ),
                {"schema": self.schema},
            )
        return self.url

    def drop(self) -> None:
        self._engine.dispose()
        with self._admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{self.schema}" CASCADE')
        self._admin.dispose()
