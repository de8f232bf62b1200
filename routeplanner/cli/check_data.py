"""``routeplanner check-data``: validate account and rep files without storing anything."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console
from routeplanner.errors import InputError, Problem
from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps


@app.command("check-data")
def check_data(
    accounts: Annotated[
        Path | None, typer.Option("--accounts", help="Account file (CSV or XLSX).")
    ] = None,
    reps: Annotated[Path | None, typer.Option("--reps", help="Rep file (CSV or XLSX).")] = None,
) -> None:
    """Check account and rep files and list every problem (file:row: column: message)."""
    if accounts is None and reps is None:
        raise InputError(Problem("check-data", None, None, "give --accounts and/or --reps"))
    problems: list[Problem] = []
    out = console
    # both files are checked even when the first has problems, so one run shows everything
    if accounts is not None:
        try:
            found = read_accounts(accounts)
            freq = Counter(str(a.visit_rule) for a in found)
            mix = ", ".join(f"{n} {f}" for f, n in sorted(freq.items()))
            out.print(f"{accounts.name}: {len(found)} accounts ok ({mix})", markup=False)
        except InputError as exc:
            problems += exc.problems
    if reps is not None:
        try:
            out.print(f"{reps.name}: {len(read_reps(reps))} reps ok", markup=False)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
