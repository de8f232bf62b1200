"""``routeplanner plan``: schedule and route every territory over N weeks, print coverage KPIs.

Files in, tables (and an optional stops CSV) out; storing plan versions is the database
command's business. Territories come from ``--territories`` (as written by ``territories
design --out-csv``) or are designed on the fly.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from routeplanner.cli import app
from routeplanner.cli._common import progress_bar
from routeplanner.cli.data import read_inputs
from routeplanner.cli.territories import load_travel
from routeplanner.errors import InputError, Problem
from routeplanner.io.holidays import read_holidays
from routeplanner.io.territory_export import read_territories_csv
from routeplanner.model import Horizon, Plan
from routeplanner.planner import plan_all
from routeplanner.scheduling.kpi import CoverageKpis, territory_kpis
from routeplanner.settings import Settings
from routeplanner.territories.design import design_territories
from routeplanner.units import format_hhmm

out_console = Console()


def next_monday(today: date) -> date:
    """Plans start on a Monday: the first one after ``today`` (a week from today on Mondays)."""
    return today + timedelta(days=7 - today.weekday())


def kpi_table(kpis: dict[str, CoverageKpis]) -> Table:
    table = Table(title="Coverage")
    cols = (
        "territory",
        "accounts",
        "required",
        "scheduled",
        "unplaced",
        "overdue",
        "adherence %",
        "drive h",
        "drive %",
        "day h mean",
        "day h std",
    )
    for col in cols:
        table.add_column(col, justify="left" if col == "territory" else "right")
    for tid, k in kpis.items():
        table.add_row(
            tid,
            str(k.accounts),
            str(k.required_visits),
            str(k.scheduled_visits),
            str(k.unassigned_visits),
            str(k.overdue_accounts),
            f"{100 * k.adherence:.0f}",
            f"{k.drive_s / 3600:.1f}",
            f"{100 * k.drive_share:.0f}",
            f"{k.workload_mean_s / 3600:.1f}",
            f"{k.workload_std_s / 3600:.1f}",
        )
    return table


def stops_csv(plan: Plan) -> str:
    """One row per stop: rep, day, position, account and times (HH:MM)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rep_id", "day", "seq", "visit_id", "account_id", "arrival", "start", "departure"])
    for r in plan.routes:
        for i, s in enumerate(r.stops, start=1):
            w.writerow(
                [
                    r.rep_id,
                    r.day.isoformat(),
                    i,
                    s.visit_id,
                    s.account_id,
                    format_hhmm(s.arrival_s),
                    format_hhmm(s.start_s),
                    format_hhmm(s.departure_s),
                ]
            )
    return buf.getvalue()


@app.command("plan")
def plan_command(
    accounts: Annotated[Path, typer.Option("--accounts", help="Accounts CSV.", exists=True)],
    reps: Annotated[Path, typer.Option("--reps", help="Reps CSV.", exists=True)],
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=13, help="Horizon in weeks.")] = 4,
    start: Annotated[
        str | None, typer.Option("--start", help="First day YYYY-MM-DD (default: next Monday).")
    ] = None,
    territories: Annotated[
        Path | None, typer.Option("--territories", help="Territories CSV (else designed).")
    ] = None,
    holidays: Annotated[
        Path | None, typer.Option("--holidays", help="Public holidays CSV (date,name).")
    ] = None,
    osm: Annotated[Path | None, typer.Option("--osm", help="OSM extract for road times.")] = None,
    straight_line: Annotated[
        bool, typer.Option("--straight-line", help="Straight-line travel instead of roads.")
    ] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1.0, help="Search seconds per territory.")
    ] = 25.0,
    out_csv: Annotated[Path | None, typer.Option("--out-csv", help="Stops CSV.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Schedule every due visit over the horizon, route each rep-day, print coverage KPIs."""
    acc, rp = read_inputs(accounts, reps)
    try:
        first = date.fromisoformat(start) if start else next_monday(date.today())
    except ValueError as exc:
        msg = f"{start!r} is not a date YYYY-MM-DD"
        raise InputError(Problem("--start", None, None, msg)) from exc
    horizon = Horizon(start=first, weeks=weeks, timezone=Settings().timezone)
    hol = read_holidays(holidays) if holidays is not None else frozenset()
    travel = load_travel(osm, straight_line=straight_line)
    if territories is not None:
        terr = read_territories_csv(territories)
    else:
        with progress_bar("territories", enabled=not quiet) as report:
            terr = list(
                design_territories(acc, rp, travel, start=first, progress=report).territories
            )
    with progress_bar("plan", enabled=not quiet) as report:
        plan = plan_all(
            acc, rp, terr, horizon, travel, holidays=hol, time_limit_s=time_limit, progress=report
        )
    kpis = dict(territory_kpis(plan, acc, rp, terr, horizon, holidays=hol))
    out_console.print(kpi_table(kpis))
    reasons = Counter(u.reason.label for u in plan.unassigned)
    for label, n in reasons.most_common():
        out_console.print(f"not planned: {n} x {label}", markup=False)
    out_console.print(
        f"{sum(len(r.stops) for r in plan.routes)} visits on {len(plan.routes)} rep-days, "
        f"{horizon.start} to {horizon.end}",
        markup=False,
    )
    if out_csv is not None:
        out_csv.write_text(stops_csv(plan), encoding="utf-8")
