"""``routeplanner sales ...`` (monthly revenue per account) and ``routeplanner targets ...``
(what each territory and rep should reach per month)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import write_csv
from routeplanner.services import sales, targets
from routeplanner.services.attribution import Month
from routeplanner.services.scope import Scope
from routeplanner.services.targets import TARGET_COLUMNS
from routeplanner.settings import Settings
from routeplanner.storage import Store

sales_app = typer.Typer(
    name="sales",
    help="Sales figures: import a CRM or ERP export of monthly revenue per account.",
    no_args_is_help=True,
)
app.add_typer(sales_app)

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")
]


@sales_app.command("import")
def sales_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: account_id, month, revenue, ...")],
    database_url: DatabaseOption = None,
) -> None:
    """Import monthly sales; every month in the file replaces what was stored for it. Nothing
    is stored when any row has a problem (all are listed) or names an unknown account."""
    store = Store.open(load_settings(database_url=database_url).database_url)
    result = sales.import_sales_file(store, file, Scope.everything())
    console.print(f"imported {result.describe()}", markup=False, highlight=False)


targets_app = typer.Typer(
    name="targets",
    help="Targets per territory and rep and month (unset figures have defaults).",
    no_args_is_help=True,
)
app.add_typer(targets_app)

MonthOption = Annotated[str | None, typer.Option("--month", help="YYYY-MM (default: this month).")]
TARGET_OPTIONS = {
    "scope": "--territory/--rep",
    "id": "--territory/--rep",
    "month": "--month",
    "revenue": "--revenue",
    "visits_done": "--visits",
    "coverage": "--coverage",
    "new_accounts": "--new-accounts",
}


def _month(settings: Settings, text: str | None) -> Month:
    if not text:
        return Month.of(datetime.now(tz=ZoneInfo(settings.timezone)).date())
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise InputError(Problem("command line", None, "--month", str(exc))) from None


@targets_app.command("show")
def targets_show(
    month: MonthOption = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Also write them as a targets file.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Every territory's and rep's targets for a month; (d) marks a default."""
    settings = load_settings(database_url=database_url)
    store = Store.open(settings.database_url)
    found = targets.effective_targets(store, _month(settings, month), settings.potential)
    table = Table(title=f"Targets {_month(settings, month)}")
    for column in ("scope", "id", "name", "revenue", "visits", "coverage", "new accounts"):
        table.add_column(column)
    for t in found:
        f = t.figures

        def mark(name: str, text: str, defaults: frozenset[str] = f.defaults) -> str:
            return f"{text} (d)" if name in defaults else text

        table.add_row(
            t.scope.value,
            t.scope_id,
            t.name,
            mark("revenue", f"{f.revenue:,.0f}"),
            mark("visits_done", str(f.visits_done)),
            mark("coverage", f"{f.coverage:.0%}"),
            mark("new_accounts", str(f.new_accounts)),
        )
    console.print(table)
    if csv_out is not None:
        write_csv(csv_out, TARGET_COLUMNS, (targets.target_cells(t) for t in found))


@targets_app.command("set")
def targets_set(
    territory: Annotated[str, typer.Option("--territory", help="Territory id.")] = "",
    rep: Annotated[str, typer.Option("--rep", help="Rep id.")] = "",
    month: MonthOption = None,
    revenue: Annotated[str, typer.Option("--revenue", help="Revenue in the month.")] = "",
    visits: Annotated[str, typer.Option("--visits", help="Visits done in the month.")] = "",
    coverage: Annotated[
        str, typer.Option("--coverage", help="Percent of due visits done on time, 0-100.")
    ] = "",
    new_accounts: Annotated[
        str, typer.Option("--new-accounts", help="New accounts won in the month.")
    ] = "",
    database_url: DatabaseOption = None,
) -> None:
    """Set one territory's or rep's targets for a month; a figure not given keeps its default."""
    settings = load_settings(database_url=database_url)
    if bool(territory) == bool(rep):
        raise InputError(Problem("command line", None, None, "give --territory or --rep"))
    cells = {
        "scope": "territory" if territory else "rep",
        "id": territory or rep,
        "month": str(_month(settings, month)),
        "revenue": revenue,
        "visits_done": visits,
        "coverage": coverage,
        "new_accounts": new_accounts,
    }
    table_in = targets.one_target_table(cells, source="command line")
    store = Store.open(settings.database_url)
    try:
        (saved,) = targets.save_targets(store, table_in, scope=Scope.everything(), user="cli")
    except InputError as exc:
        raise InputError(
            [
                Problem(p.source, None, TARGET_OPTIONS.get(p.field or "", p.field), p.message)
                for p in exc.problems
            ]
        ) from None
    console.print(f"saved targets of {saved.scope.value} {saved.scope_id} for {cells['month']}")


@targets_app.command("import")
def targets_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX: scope, id, month, figures.")],
    database_url: DatabaseOption = None,
) -> None:
    """Import targets; nothing is stored when any row has a problem (all are listed)."""
    store = Store.open(load_settings(database_url=database_url).database_url)
    saved = targets.save_targets_file(store, file, scope=Scope.everything(), user="cli")
    console.print(f"saved {len(saved)} targets", markup=False, highlight=False)
