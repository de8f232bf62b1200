"""Engine set-up and migrations on real databases: WAL, foreign keys, schema equals the models."""

from __future__ import annotations

import importlib.util
import threading
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from routeplanner.errors import StorageError
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.storage import (
    Store,
    check_schema,
    hash_token,
    head_revision,
    make_engine,
    migrate,
    schema_revision,
    session_factory,
)
from routeplanner.storage.engine import MIGRATIONS_DIR, WRITE_OPTION, alembic_config
from routeplanner.storage.records import TokenKind, UserRole
from routeplanner.storage.tables import Base
from tests.helpers import require

TABLES = {
    "accounts",
    "reps",
    "territories",
    "territory_accounts",
    "ownership_history",
    "plans",
    "plan_routes",
    "plan_stops",
    "plan_unassigned",
    "visit_records",
    "users",
    "tokens",
}


def test_sqlite_file_gets_its_folder_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "rp.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()
    assert path.is_file()
    # WAL is a property of the file: a plain sqlite3 connection sees it too.
    import sqlite3

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    raw.close()


def test_migrate_creates_the_schema_on_an_empty_database(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert schema_revision(engine) is None
        with pytest.raises(StorageError, match=r"has schema version empty, this routeplanner"):
            check_schema(engine)
        migrate(db_url)
        assert schema_revision(engine) == head_revision()
        check_schema(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
        migrate(engine)  # idempotent: a second start changes nothing
        assert schema_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_agree(db_url: str) -> None:
    """The `alembic check` of this project: autogenerate finds nothing left to migrate."""
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_migrations_ship_as_package_data() -> None:
    """setuptools only ships folders that are packages or listed as package data."""
    assert (MIGRATIONS_DIR / "__init__.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "__init__.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"storage/migrations/*.mako"' in pyproject


def test_store_refuses_an_outdated_schema_without_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rp.sqlite'}"
    with pytest.raises(StorageError, match=r"run `routeplanner db upgrade`"):
        Store.open(url, upgrade=False)
    Store.open(url).close()
    store = Store.open(url, upgrade=False)
    assert store.accounts.all() == []
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", r"database URL 'not a url' is not a URL such as sqlite:///"),
        ("nosuchdb://host/x", r"no database driver for nosuchdb://host/x"),
    ],
)
def test_bad_urls_raise_storage_errors(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        make_engine(url)


def test_unreachable_server_is_a_storage_error_without_password() -> None:
    # Port 9 (discard) on localhost: nothing listens, the connection is refused at once.
    url = "postgresql+psycopg://rp:geheim@127.0.0.1:9/rp?connect_timeout=2"
    require(importlib.util.find_spec("psycopg") is not None, "psycopg driver")
    with pytest.raises(StorageError, match=r"cannot migrate database .*127\.0\.0\.1:9") as info:
        migrate(url)
    assert "geheim" not in str(info.value)


def test_store_calls_on_an_unreachable_server_raise_storage_errors() -> None:
    require(importlib.util.find_spec("psycopg") is not None, "psycopg driver")
    engine = make_engine("postgresql+psycopg://rp:geheim@127.0.0.1:9/rp?connect_timeout=2")
    store = Store(session_factory(engine))
    try:
        with pytest.raises(
            StorageError, match=r"^reading accounts: database unavailable or busy: .*refused"
        ) as info:
            store.accounts.all()
        assert "geheim" not in str(info.value)
    finally:
        store.close()


def test_write_transactions_take_the_lock_up_front(tmp_path: Path) -> None:
    """A second writer waits for the first (busy timeout) instead of failing."""
    url = f"sqlite:///{tmp_path / 'rp.sqlite'}"
    store = Store.open(url)
    errors: list[BaseException] = []

    def writer(rep_id: str) -> None:
        try:
            for i in range(25):
                store.visits.record(
                    VisitRecord(
                        account_id=f"A{i}",
                        rep_id=rep_id,
                        day=date(2026, 3, 2),
                        status=VisitStatus.DONE,
                    )
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(r,)) for r in ("R1", "R2", "R3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert len(store.visits.find()) == 75
        with store.engine.connect() as connection:
            connection = connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                # BEGIN IMMEDIATE holds the write lock: a plain sqlite3 writer must time out.
                import sqlite3

                other = sqlite3.connect(tmp_path / "rp.sqlite", timeout=0.05)
                with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                    other.execute("DELETE FROM visit_records")
                other.close()
                assert connection.execute(text("SELECT count(*) FROM visit_records")).scalar()
    finally:
        store.close()


def test_upgrade_from_0002_keeps_accounts_and_fills_the_new_columns(tmp_path: Path) -> None:
    """Migration 0003 runs on a database that already holds accounts (batch mode on SQLite)."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    migrate(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO accounts (account_id, name, lat, lon, rule_kind, interval_days,"
                    " count, period_days, min_gap_days, max_gap_days, visit_duration_s,"
                    " opening_hours, address, category, value_class, preferred_weekdays,"
                    " forbidden_weekdays, last_visit, notes, contact, phone, tags, source,"
                    " updated_at) VALUES ('A1', 'Bäckerei Müller', 49.4, 8.7, 'interval', 7, 1,"
                    " 7, 5, 9, 1800, '{}', 'Hauptstraße 1, 69117 Heidelberg', 'bakery', 'B',"
                    " '[]', '[]', NULL, '', '', '', '[]', 'old.csv', '2026-11-01 00:00:00')"
                )
            )
        migrate(engine)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT name, postcode, locked_rep_id, required_qualifications FROM accounts")
            ).one()
        assert tuple(row) == ("Bäckerei Müller", "", None, "[]")
    finally:
        engine.dispose()


def test_upgrade_from_0006_keeps_users_tokens_and_feeds(db_url: str) -> None:
    """Migrations 0015-0017 (sessions, token expiry, feed basis) run on a database of the
    rep's-day schema that already holds a user, an API token and a calendar feed."""
    migrate(db_url, "0006")
    engine = make_engine(db_url)
    try:
        assert schema_revision(engine) == "0006"
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (username, password_hash, role, rep_id, active,"
                    " created_at) VALUES ('anna', 'x', 'rep', 'R1', true,"
                    " '2026-11-01 00:00:00+00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO tokens (kind, token_hash, user_id, label, created_at)"
                    " VALUES ('api', :hash, (SELECT id FROM users), 'phone',"
                    " '2026-11-01 00:00:00+00:00')"
                ),
                {"hash": hash_token("old-token")},
            )
            connection.execute(
                text(
                    "INSERT INTO calendar_feeds (rep_id, plan_id, version, updated_at)"
                    " VALUES ('R1', NULL, 3, '2026-11-01 00:00:00+00:00')"
                )
            )
        migrate(engine)
        assert schema_revision(engine) == head_revision()
        with engine.connect() as connection:
            feed = connection.execute(text("SELECT version, basis FROM calendar_feeds")).one()
            assert tuple(feed) == (3, "")
            assert connection.execute(text("SELECT count(*) FROM sessions")).scalar() == 0
    finally:
        engine.dispose()
    store = Store.open(db_url)
    try:
        found = store.tokens.find(hash_token("old-token"), TokenKind.API)
        assert found is not None
        token, user = found
        assert user.username == "anna"
        assert token.expires_at is None
        assert token.last_used_at is None
    finally:
        store.close()


def test_upgrade_to_regions_makes_managers_admins_and_keeps_their_tokens(db_url: str) -> None:
    """Migration 0020: a manager of before (who saw everything) becomes an admin (who still
    does); a rep stays a rep; tokens and sessions survive SQLite's copy of the users table."""
    migrate(db_url, "0018")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            for name, role, rep in [("chef", "manager", None), ("anna", "rep", "R1")]:
                connection.execute(
                    text(
                        "INSERT INTO users (username, password_hash, role, rep_id, active,"
                        " created_at) VALUES (:name, 'x', :role, :rep, true,"
                        " '2026-11-01 00:00:00+00:00')"
                    ),
                    {"name": name, "role": role, "rep": rep},
                )
            connection.execute(
                text(
                    "INSERT INTO tokens (kind, token_hash, user_id, label, created_at) VALUES"
                    " ('api', :hash, (SELECT id FROM users WHERE username = 'chef'), 'ci',"
                    " '2026-11-01 00:00:00+00:00')"
                ),
                {"hash": hash_token("chef-token")},
            )
            connection.execute(
                text(
                    "INSERT INTO sessions (session_hash, user_id, created_at, last_seen_at)"
                    " VALUES ('s', (SELECT id FROM users WHERE username = 'anna'),"
                    " '2026-11-01 00:00:00+00:00', '2026-11-01 00:00:00+00:00')"
                )
            )
        migrate(engine)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT username, role FROM users")).all()
            roles = {row[0]: row[1] for row in rows}
            assert roles == {"chef": "admin", "anna": "rep"}
            assert connection.execute(text("SELECT count(*) FROM sessions")).scalar() == 1
    finally:
        engine.dispose()
    store = Store.open(db_url)
    try:
        found = store.tokens.find(hash_token("chef-token"), TokenKind.API)
        assert found is not None
        assert found[1].role is UserRole.ADMIN
        assert store.regions.all() == []
    finally:
        store.close()
