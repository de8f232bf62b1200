"""``routeplanner import``: validate account and rep files completely, then store them whole."""

from __future__ import annotations

from pathlib import Path

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.io.tables import limits_from
from routeplanner.services.assignment import DecisionCause
from routeplanner.services.imports import import_and_assign, read_files


@app.command("import")
def import_command(
    accounts: Path = typer.Option(..., "--accounts", "-a", help="Accounts CSV or XLSX."),
    reps: Path = typer.Option(..., "--reps", "-r", help="Reps CSV or XLSX."),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
    assign: bool = typer.Option(
        True,
        "--assign/--no-assign",
        help="Give new accounts a territory by the stored rules, else best fit (when "
        "territories exist).",
    ),
    by: str | None = typer.Option(None, "--by", help="Who imports (default: the OS user)."),
    osm: Path | None = typer.Option(None, "--osm", help="OSM extract (default: settings)."),
    straight_line: bool = typer.Option(
        False, "--straight-line", help="Assign with straight-line travel instead of roads."
    ),
) -> None:
    """Import accounts and reps; nothing is stored unless every row of both files is valid.

    When territories exist, accounts in none of them (new ones) are assigned by the stored
    rules, else to the territory whose workload and travel grow least; existing accounts stay.
    """
    from routeplanner.cli.assignment import import_travel, os_user, print_balance
    from routeplanner.storage import Store
    from routeplanner.storage.engine import describe_url, make_engine, migrate, session_factory

    settings = load_settings(database_url=database_url)
    account_list, rep_list = read_files(accounts, reps, limits=limits_from(settings))
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    try:
        result = import_and_assign(
            store,
            account_list,
            rep_list,
            (lambda: import_travel(osm, straight_line=straight_line)) if assign else None,
            source=f"{accounts}, {reps}",
            user=by if by is not None else os_user(),
        )
    finally:
        store.close()
    where = describe_url(settings.database_url)
    console.print(f"imported {len(account_list)} accounts and {len(rep_list)} reps into {where}")
    report = result.report
    if report is not None:
        counts = report.counts()
        console.print(
            f"assigned {result.moved} new accounts: {counts[DecisionCause.LOCK]} by lock, "
            f"{counts[DecisionCause.RULE]} by rule, {counts[DecisionCause.BEST_FIT]} by best fit",
            markup=False,
            highlight=False,
        )
        print_balance(report)
