"""Engines, sessions and Alembic migrations; the one place that knows each backend's quirks.

SQLite (the default) gets a WAL journal so the web app can read while a plan is being written,
enforced foreign keys (off by default in SQLite), and a busy timeout so a second writer waits
instead of failing. SQLAlchemy, not the ``sqlite3`` module, emits ``BEGIN`` so transactions
start where the session starts them; write transactions begin ``IMMEDIATE``, taking the write
lock up front: a deferred transaction that reads and then writes can fail with "database is
locked" at once when another writer committed in between, whatever the busy timeout.

Schema migrations run in code from ``storage/migrations`` (no ``alembic.ini``), so an installed
package can upgrade its database with ``migrate(url)``. To write a new migration::

    python -m routeplanner db revision -m "what changed"    # autogenerates, review the result
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from routeplanner.errors import StorageError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "routeplanner_write"
"""Execution option marking a connection whose transaction will write (SQLite: BEGIN IMMEDIATE)."""

DEFAULT_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK_ID = 7_268_100_041
"""Arbitrary constant key of the PostgreSQL advisory lock that serialises concurrent upgrades."""


def _parse_url(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        msg = f"database URL {str(url)!r} is not a URL such as sqlite:///path/to/file.sqlite"
        raise StorageError(msg) from exc


def describe_url(url: str | URL) -> str:
    """The URL with its password masked, for messages and logs."""
    return _parse_url(url).render_as_string(hide_password=True)


def make_engine(
    url: str | URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, echo: bool = False
) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite files get their folder, WAL and foreign keys.

    Raises
    ------
    StorageError
        The URL cannot be parsed or names a driver that is not installed.
    """
    parsed = _parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed, busy_timeout_ms=busy_timeout_ms, echo=echo)
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        msg = f"no database driver for {describe_url(parsed)}: {exc}"
        raise StorageError(msg) from exc


def _sqlite_engine(url: URL, *, busy_timeout_ms: int, echo: bool) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the folder of database file {database}: {exc}"
            raise StorageError(msg) from exc
    engine = create_engine(url, echo=echo)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable in WAL mode except for the last commits on power loss.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the repository converts them anyway)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic configuration built in code; ``url`` is used when no connection is passed."""
    config = Config()
    # ConfigParser interpolates '%', so escape it in the path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if url is not None:
        config.attributes["url"] = url
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    """The shipped migrations, read once per process (they do not change while it runs)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest migration shipped with this package."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        msg = f"no migrations found in {MIGRATIONS_DIR}"
        raise StorageError(msg)
    return head


def migrate(target: str | URL | Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: newest) in one transaction.

    Safe to call on every start: an up-to-date database is left alone. ``target`` is a URL or
    an existing engine (which is then not disposed).

    Raises
    ------
    StorageError
        The database is unreachable or a migration fails; nothing is changed then.
    """
    engine = make_engine(target) if isinstance(target, str | URL) else target
    config = alembic_config()
    try:
        with engine.connect() as connection:
            # Every start calls this: an up-to-date database costs one query, not a run of
            # Alembic over every migration file.
            if revision == "head" and _at_head(connection):
                return
            connection = connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_ID}
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
    except SQLAlchemyError as exc:
        msg = f"cannot migrate database {describe_url(engine.url)}: {driver_message(exc)}"
        raise StorageError(msg) from exc
    finally:
        if engine is not target:
            engine.dispose()


def _at_head(connection: Connection) -> bool:
    current = MigrationContext.configure(connection).get_current_revision()
    connection.rollback()  # the read's transaction ends here; the upgrade begins its own
    return current == head_revision()


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at, ``None`` for an empty (never migrated) database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        msg = f"cannot read the schema version of {describe_url(engine.url)}: {driver_message(exc)}"
        raise StorageError(msg) from exc


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not the one this code expects.

    Raises
    ------
    StorageError
        The schema is older or newer than this package's newest migration.
    """
    current, head = schema_revision(engine), head_revision()
    if current != head:
        found = current or "empty"
        msg = (
            f"database {describe_url(engine.url)} has schema version {found}, this routeplanner "
            f"needs {head}; run `routeplanner db upgrade`"
        )
        raise StorageError(msg)


def driver_message(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's SQL echo and documentation link (which
    would put parameters, possibly personal data, into user-facing messages)."""
    origin = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
