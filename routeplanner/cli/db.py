"""``routeplanner db ...``: database schema upgrades and, for developers, new migrations."""

from __future__ import annotations

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console
from routeplanner.settings import Settings

db_app = typer.Typer(
    name="db",
    help="Database schema: upgrade, show version, write migrations.",
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
