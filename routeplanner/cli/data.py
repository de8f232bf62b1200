"""``routeplanner import``: validate account and rep files completely, then store them whole."""

from __future__ import annotations

from pathlib import Path

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.errors import InputError, Problem
from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, Rep


def read_inputs(accounts_path: Path, reps_path: Path) -> tuple[list[Account], list[Rep]]:
    """Read both files; one InputError carries the problems of *both*, so all get fixed at once."""
    problems: list[Problem] = []
    accounts: list[Account] = []
    reps: list[Rep] = []
    try:
        accounts = read_accounts(accounts_path)
    except InputError as exc:
        problems += exc.problems
    try:
        reps = read_reps(reps_path)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems)
    return accounts, reps


@app.command("import")
def import_command(
    accounts: Path = typer.Option(..., "--accounts", "-a", help="Accounts CSV or XLSX."),
    reps: Path = typer.Option(..., "--reps", "-r", help="Reps CSV or XLSX."),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
) -> None:
    """Import accounts and reps; nothing is stored unless every row of both files is valid."""
    from routeplanner.storage.engine import describe_url, make_engine, migrate, session_factory
    from routeplanner.storage.repository import Repository

    settings = load_settings(database_url=database_url)
    account_list, rep_list = read_inputs(accounts, reps)
    migrate(settings.database_url)
    repo = Repository(session_factory(make_engine(settings.database_url)))
    repo.replace_accounts_and_reps(account_list, rep_list, source=f"{accounts}, {reps}")
    where = describe_url(settings.database_url)
    console.print(f"imported {len(account_list)} accounts and {len(rep_list)} reps into {where}")
