"""``routeplanner plan``: schedule and route every territory over N weeks, print coverage KPIs.

Two modes. By default it plans what is stored (accounts, reps, current territories; designed
and stored first when there are none) and stores the plan as the new current version, which
replaces the old one only once complete. With ``--accounts`` and ``--reps`` it plans those files
instead and stores nothing (territories from ``--territories`` or designed on the fly; stops to
``--out-csv``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, pick_travel, progress_bar
from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import render_csv
from routeplanner.io.territory_export import read_territories_csv
from routeplanner.model import Plan, Rep, Territory
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.services import planning
from routeplanner.services.imports import read_files
from routeplanner.services.params import labelled
from routeplanner.services.planning import (
    CoverageKpis,
    PlanningResult,
    PlanningSetup,
    PlanParams,
)
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import describe_url
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import format_hhmm

PLAN_OPTIONS = {"start": "--start", "weeks": "--weeks", "time_limit_s": "--time-limit"}


def kpi_table(
    kpis: Mapping[str, CoverageKpis],
    territories: Sequence[Territory],
    reps: Sequence[Rep],
    title: str,
) -> Table:
    """The coverage KPIs a manager checks first, one row per territory."""
    names = {r.rep_id: r.name for r in reps}
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in (
        "territory",
        "rep",
        "accts",
        "due",
        "planned",
        "unplaced",
        "overdue",
        "gaps ok",
        "drive h",
        "drive %",
        "day h",
    ):
        table.add_column(column, justify="left" if column in ("territory", "rep") else "right")
    for territory in territories:
        k = kpis.get(territory.territory_id)
        if k is None:
            continue
        table.add_row(
            territory.territory_id,
            names.get(territory.rep_id or "", "-").split(" ")[0],
            str(k.accounts),
            str(k.required_visits),
            str(k.scheduled_visits),
            str(k.unassigned_visits),
            str(k.overdue_accounts),
            f"{k.adherence:.0%}",
            f"{k.drive_s / 3600:.1f}",
            f"{k.drive_share:.0%}",
            f"{k.workload_mean_s / 3600:.1f}±{k.workload_std_s / 3600:.1f}",
        )
    return table


def print_summary(
    plan: Plan,
    territories: Sequence[Territory],
    reps: Sequence[Rep],
    kpis: Mapping[str, CoverageKpis],
    title: str,
) -> None:
    console.print(kpi_table(kpis, territories, reps, title))
    for label, count in Counter(u.reason.label for u in plan.unassigned).most_common():
        console.print(f"not planned: {count} x {label}", markup=False)
    visits = sum(len(r.stops) for r in plan.routes)
    console.print(f"{visits} visits on {len(plan.routes)} rep-days", markup=False)


def stops_csv(plan: Plan) -> str:
    """One row per stop: rep, day, position, account and times (HH:MM)."""
    columns = ["rep_id", "day", "seq", "visit_id", "account_id", "arrival", "start", "departure"]
    rows = [
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
        for r in plan.routes
        for i, s in enumerate(r.stops, start=1)
    ]
    return render_csv(columns, rows)


def plan_stored(
    store: Store,
    travel: TravelTimeProvider,
    params: PlanParams,
    setup: PlanningSetup,
    settings: Settings,
    *,
    quiet: bool = False,
) -> PlanningResult:
    """Plan what is stored with a progress bar, store the version, print its KPIs."""
    with progress_bar("planning", enabled=not quiet) as report:
        result = planning.run_planning(store, travel, params, setup, progress=report)
    if result.designed:
        console.print(f"designed {len(result.territories)} territories (none were stored)")
    horizon = params.horizon(setup.timezone)
    kpis = planning.coverage(
        result.plan,
        result.accounts,
        result.reps,
        result.territories,
        horizon,
        holidays=setup.holidays,
    )
    title = f"plan {result.plan_id}: {horizon.start} to {horizon.end}"
    print_summary(result.plan, result.territories, result.reps, kpis, title)
    console.print(f"plan {result.plan_id} is current in {describe_url(settings.database_url)}")
    return result


def _first_day(start: str | None, timezone: str) -> date:
    if not start:
        return planning.next_monday(timezone)
    try:
        return date.fromisoformat(start)
    except ValueError as exc:
        msg = f"{start!r} is not a date YYYY-MM-DD"
        raise InputError(Problem("--start", None, None, msg)) from exc


@app.command("plan")
def plan_command(
    weeks: Annotated[
        int, typer.Option("--weeks", help=f"Horizon in weeks, 1..{MAX_HORIZON_WEEKS}.")
    ] = 4,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day YYYY-MM-DD, a Monday (default: next Monday)."),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", help="Search seconds per territory."),
    ] = None,
    accounts: Annotated[
        Path | None, typer.Option("--accounts", help="Plan this accounts file (no storing).")
    ] = None,
    reps: Annotated[
        Path | None, typer.Option("--reps", help="Reps file (with --accounts).")
    ] = None,
    territories: Annotated[
        Path | None, typer.Option("--territories", help="Territories CSV (file mode).")
    ] = None,
    holidays: Annotated[
        Path | None,
        typer.Option("--holidays", help="Public holidays CSV (default: RP_HOLIDAYS_PATH)."),
    ] = None,
    osm: Annotated[
        Path | None, typer.Option("--osm", help="OSM extract (default: RP_OSM_PATH).")
    ] = None,
    straight_line: Annotated[
        bool, typer.Option("--straight-line", help="Straight-line travel instead of roads.")
    ] = False,
    out_csv: Annotated[Path | None, typer.Option("--out-csv", help="Write the stops CSV.")] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Cores planning territories side by side on this machine (Ray); 0 = all, "
            "1 = no Ray (default: RP_WORKERS).",
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="Plan territories on this Ray cluster: auto or ray://head:10001 "
            "(default: RP_RAY_ADDRESS).",
        ),
    ] = None,
) -> None:
    """Schedule every due visit over the horizon, route each rep-day, print coverage KPIs."""
    settings = load_settings(
        database_url=database_url,
        plan_time_limit_s=time_limit,
        osm_path=osm,
        workers=workers,
        ray_address=ray_address,
    )
    first = _first_day(start, settings.timezone)
    with labelled("command line", PLAN_OPTIONS):
        params = PlanParams(start=first, weeks=weeks, time_limit_s=settings.plan_time_limit_s)
    setup = PlanningSetup.of(settings, holidays)
    if (accounts is None) != (reps is None):
        msg = "give both --accounts and --reps (file mode) or neither (database mode)"
        raise InputError(Problem("plan", None, None, msg))

    def travel() -> TravelTimeProvider:
        return pick_travel(settings.osm_path, straight_line=straight_line, settings=settings)

    if accounts is not None and reps is not None:
        plan = _plan_files(accounts, reps, territories, params, setup, travel, quiet=quiet)
    else:
        if territories is not None:
            msg = "--territories goes with --accounts/--reps; stored territories are used here"
            raise InputError(Problem("plan", None, None, msg))
        store = Store.open(settings.database_url)
        planning.stored_inputs(store)  # say what is missing before loading the road network
        plan = plan_stored(store, travel(), params, setup, settings, quiet=quiet).plan
    if out_csv is not None:
        out_csv.write_text(stops_csv(plan), encoding="utf-8")


def _plan_files(
    accounts: Path,
    reps: Path,
    territories: Path | None,
    params: PlanParams,
    setup: PlanningSetup,
    travel: Callable[[], TravelTimeProvider],
    *,
    quiet: bool,
) -> Plan:
    acc, rp = read_files(accounts, reps)
    provider = travel()
    given = read_territories_csv(territories) if territories is not None else None
    if given is None:
        with progress_bar("territories", enabled=not quiet) as report:
            given = list(
                planning.first_design(
                    acc, rp, provider, start=params.start, progress=report, jobs=setup.jobs
                )
            )
    with progress_bar("plan", enabled=not quiet) as report:
        result = planning.plan_files(acc, rp, given, provider, params, setup, progress=report)
    horizon = params.horizon(setup.timezone)
    title = f"{horizon.start} to {horizon.end}"
    print_summary(result.plan, result.territories, rp, result.kpis, title)
    return result.plan
