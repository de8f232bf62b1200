"""``routeplanner sales ...`` (monthly revenue per account) and ``routeplanner targets ...``
(what each territory and rep should reach per month)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.services import sales
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
    result = sales.import_sales_file(store, file)
    console.print(f"imported {result.describe()}", markup=False, highlight=False)
