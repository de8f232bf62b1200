"""``routeplanner check-data``: validate account and rep files without storing anything."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.io.tables import limits_from
from routeplanner.services.imports import check_files


@app.command("check-data")
def check_data(
    accounts: Annotated[
        Path | None, typer.Option("--accounts", help="Account file (CSV or XLSX).")
    ] = None,
    reps: Annotated[Path | None, typer.Option("--reps", help="Rep file (CSV or XLSX).")] = None,
) -> None:
    """Check account and rep files and list every problem (file:row: column: message)."""
    found = check_files(accounts, reps, limits=limits_from(load_settings()))
    if accounts is not None and found.accounts is not None:
        freq = Counter(str(a.visit_rule) for a in found.accounts)
        mix = ", ".join(f"{n} {f}" for f, n in sorted(freq.items()))
        console.print(f"{accounts.name}: {len(found.accounts)} accounts ok ({mix})", markup=False)
    if reps is not None and found.reps is not None:
        console.print(f"{reps.name}: {len(found.reps)} reps ok", markup=False)
