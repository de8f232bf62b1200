"""Backups of a SQLite database with SQLite's online backup API, and their restore.

The backup copies a consistent snapshot of what was committed while the app keeps running (in
WAL mode readers never wait for writers, and the copy is a reader). It is written next to the
target as ``<name>.partial`` and renamed only once complete and checked, so a crash never
leaves a half backup under the real name. A restore checks the file first (a SQLite database
with a routeplanner schema this version knows), copies it into the live database in one
transaction, then upgrades the schema if the backup is older. PostgreSQL has its own tools
(``pg_dump``/``pg_restore``): :func:`postgres_advice` says how.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from routeplanner.errors import InputError, Problem
from routeplanner.storage.engine import (
    DEFAULT_BUSY_TIMEOUT_MS,
    alembic_config,
    describe_url,
    migrate,
)


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a backup file holds."""

    path: Path
    revision: str
    accounts: int
    plans: int


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _database_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        msg = f"{describe_url(url)} is not a SQLite file that can be backed up"
        raise InputError(Problem("--url", None, None, msg))
    return Path(database).expanduser()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {DEFAULT_BUSY_TIMEOUT_MS}")
    return connection


def inspect_backup(path: Path) -> BackupInfo:
    """Check ``path`` is a sound routeplanner SQLite database this version can restore.

    Raises
    ------
    InputError
        Naming the file: missing, not SQLite, damaged, without our schema, or with a schema
        from a newer routeplanner.
    """
    source = str(path)
    if not path.is_file():
        raise InputError(Problem(source, None, None, "file not found"))
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            accounts = db.execute("SELECT count(*) FROM accounts").fetchone()[0]
            plans = db.execute("SELECT count(*) FROM plans").fetchone()[0]
    except (sqlite3.DatabaseError, TypeError) as exc:
        msg = f"not a routeplanner database ({exc})"
        raise InputError(Problem(source, None, None, msg)) from None
    if check != "ok":
        raise InputError(Problem(source, None, None, f"the database is damaged: {check}"))
    known = {r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if revision not in known:
        msg = f"schema {revision} is from a newer routeplanner; restore it with that version"
        raise InputError(Problem(source, None, None, msg))
    return BackupInfo(path=path, revision=str(revision), accounts=accounts, plans=plans)


def backup_sqlite(url: str, target: Path) -> BackupInfo:
    """Copy the database of ``url`` to ``target`` (which must not exist) while it is in use."""
    if target.exists():
        msg = "exists already; choose a new file name (a backup never overwrites)"
        raise InputError(Problem(str(target), None, None, msg))
    database = _database_file(url)
    if not database.is_file():
        msg = f"{describe_url(url)}: no database file to back up"
        raise InputError(Problem("--url", None, None, msg))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with closing(_connect(database)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)
        info = inspect_backup(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(path=target, revision=info.revision, accounts=info.accounts, plans=info.plans)


def restore_sqlite(url: str, source: Path) -> BackupInfo:
    """Replace the database of ``url`` by the backup ``source`` (checked first), then bring
    its schema up to date. Other connections wait while the copy runs, then see the backup."""
    info = inspect_backup(source)
    database = _database_file(url)
    database.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(_connect(database)) as dst,
    ):
        src.backup(dst)
    migrate(url)
    return info


def postgres_advice(url: str, path: Path, *, restore: bool) -> str:
    """How to do the same with PostgreSQL's own tools (the password is never printed)."""
    masked = make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    shown = masked.replace(":***@", "@")
    if restore:
        return (
            "PostgreSQL is restored with its own tool: stop the app, then run "
            f"`pg_restore --clean --if-exists --no-owner --dbname='{shown}' {path}` and "
            "`routeplanner db upgrade`"
        )
    return (
        "PostgreSQL is backed up with its own tool, consistent while the app runs: "
        f"`pg_dump --format=custom --file={path} '{shown}'` (the password comes from "
        "PGPASSWORD or ~/.pgpass)"
    )
