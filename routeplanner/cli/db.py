"""``routeplanner db ...``: schema upgrades, backup and restore, and, for developers, new
migrations."""

from __future__ import annotations

from pathlib import Path

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console
from routeplanner.errors import InputError, Problem
from routeplanner.settings import Settings

db_app = typer.Typer(
    name="db",
    help="Database schema (upgrade, show version, write migrations), backup and restore.",
    no_args_is_help=True,
)
app.add_typer(db_app)


def _url(url: str | None) -> str:
    return url or Settings().database_url


URL_OPTION = typer.Option(
    None, "--url", help="SQLAlchemy URL; default DATABASE_URL or the bundled SQLite file."
)


@db_app.command("upgrade")
def upgrade(url: str | None = URL_OPTION) -> None:
    """Create or upgrade the database schema to the newest version (safe to repeat)."""
    from routeplanner.storage import describe_url, migrate

    target = _url(url)
    migrate(target)
    console.print(
        f"{describe_url(target)}: schema is up to date",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@db_app.command("current")
def current(url: str | None = URL_OPTION) -> None:
    """Show the schema version of the database and the newest one this routeplanner knows."""
    from routeplanner.storage import describe_url, head_revision, make_engine, schema_revision

    target = _url(url)
    engine = make_engine(target)
    try:
        found = schema_revision(engine) or "empty"
    finally:
        engine.dispose()
    console.print(
        f"{describe_url(target)}: schema {found}, newest {head_revision()}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@db_app.command("backup")
def backup(
    path: Path = typer.Argument(..., help="File to write the backup to (must not exist)."),
    url: str | None = URL_OPTION,
) -> None:
    """Copy a SQLite database to PATH while the app keeps running (SQLite's online backup).

    PostgreSQL: prints the pg_dump command to use instead.
    """
    from routeplanner.storage.backup import backup_sqlite, is_sqlite, postgres_advice

    target = _url(url)
    if not is_sqlite(target):
        advice = postgres_advice(target, path, restore=False)
        raise InputError(Problem("--url", None, None, advice))
    info = backup_sqlite(target, path)
    _say(
        f"backed up {_describe(target)} to {info.path} (schema {info.revision}, "
        f"{info.accounts} accounts, {info.plans} plan versions)"
    )


@db_app.command("restore")
def restore(
    path: Path = typer.Argument(..., help="A backup made by `routeplanner db backup`."),
    url: str | None = URL_OPTION,
    yes: bool = typer.Option(False, "--yes", help="Replace the database without asking."),
) -> None:
    """Replace a SQLite database by a backup (checked first), then upgrade its schema.

    Everything stored after the backup is lost. PostgreSQL: prints the pg_restore command.
    """
    from routeplanner.storage.backup import (
        inspect_backup,
        is_sqlite,
        postgres_advice,
        restore_sqlite,
    )

    target = _url(url)
    if not is_sqlite(target):
        advice = postgres_advice(target, path, restore=True)
        raise InputError(Problem("--url", None, None, advice))
    info = inspect_backup(path)
    question = (
        f"Replace {_describe(target)} by {path} (schema {info.revision}, {info.accounts} "
        "accounts)? Everything stored since that backup is lost."
    )
    if not yes and not typer.confirm(question, default=False):
        raise InputError(Problem(str(path), None, None, "not confirmed: nothing was changed"))
    restore_sqlite(target, path)
    _say(f"restored {_describe(target)} from {path}; schema is up to date")


def _describe(url: str) -> str:
    from routeplanner.storage import describe_url

    return describe_url(url)


def _say(text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@db_app.command("revision")
def revision(
    message: str = typer.Option(..., "-m", "--message", help="What the migration changes."),
    url: str | None = URL_OPTION,
) -> None:
    """Autogenerate a migration from the table models (developers; review it before commit).

    Compares ``storage/tables.py`` with a database upgraded to the newest migration.
    """
    from alembic import command

    from routeplanner.storage import migrate
    from routeplanner.storage.engine import alembic_config

    target = _url(url)
    migrate(target)
    command.revision(alembic_config(target), message=message, autogenerate=True)
