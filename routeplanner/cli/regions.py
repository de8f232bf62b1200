"""``routeplanner regions ...``: group territories into regions by a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.io.tables import limits_from, read_table
from routeplanner.services import regions as region_service
from routeplanner.services.scope import scope_as
from routeplanner.storage import Store

regions_app = typer.Typer(
    name="regions",
    help="Regions: group territories (territory_id, region_id, region_name) for manager scope.",
    no_args_is_help=True,
)
app.add_typer(regions_app)

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")
]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Act as this user: a scoped manager sees only their regions."),
]


@regions_app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(help="CSV or XLSX: territory_id, region_id, region_name.")
    ],
    as_user: AsOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Make the file the whole grouping (regions not in it go). Nothing is stored when any row
    has a problem (all are listed) or names an unknown territory."""
    settings = load_settings(database_url=database_url)
    store = Store.open(settings.database_url)
    table = read_table(file, limits=limits_from(settings))
    saved = region_service.import_regions(store, table, scope_as(store, as_user))
    territories = sum(len(r.territory_ids) for r in saved)
    console.print(f"imported {len(saved)} regions with {territories} territories", highlight=False)


@regions_app.command("export")
def export_command(
    file: Annotated[
        Path | None, typer.Argument(help="Write here (default: standard output).")
    ] = None,
    as_user: AsOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """The regions as a file the import reads back."""
    store = Store.open(load_settings(database_url=database_url).database_url)
    text = region_service.export_regions(store, scope_as(store, as_user))
    if file is None:
        console.out(text, end="", highlight=False)
    else:
        file.write_text(text, encoding="utf-8", newline="")
        console.print(f"wrote {file}", highlight=False)


@regions_app.command("list")
def list_command(as_user: AsOption = None, database_url: DatabaseOption = None) -> None:
    """Each region with its territories and scoped managers."""
    store = Store.open(load_settings(database_url=database_url).database_url)
    for row in region_service.list_regions(store, scope_as(store, as_user)):
        region = row.region
        territories = ", ".join(region.territory_ids) or "-"
        managers = ", ".join(row.managers) or "-"
        console.print(
            f"{region.region_id}\t{region.name}\t{territories}\t{managers}",
            markup=False,
            highlight=False,
        )
