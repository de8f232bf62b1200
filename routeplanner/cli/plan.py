"""``routeplanner plan``: schedule and route every rep over a horizon and store it as a version."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, progress_bar, road_travel
from routeplanner.errors import InputError, Problem
from routeplanner.model import Horizon
from routeplanner.scheduling.kpi import territory_kpis
from routeplanner.storage.engine import describe_url
from routeplanner.storage.repository import Repository
from routeplanner.workflows import (
    PlanningResult,
    load_holidays,
    next_monday,
    run_planning,
    stored_inputs,
)


def print_kpis(result: PlanningResult, horizon: Horizon, holidays: frozenset[date]) -> None:
    """The coverage KPIs a manager checks first, one row per territory."""
    kpis = territory_kpis(
        result.plan,
        result.accounts,
        result.reps,
        result.territories,
        horizon,
        holidays=holidays,
    )
    names = {r.rep_id: r.name for r in result.reps}
    table = Table(
        title=f"plan {result.plan_id}: {horizon.start} + {horizon.weeks} weeks",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
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
    for territory in result.territories:
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
    console.print(table)
    reasons: dict[str, int] = {}
    for u in result.plan.unassigned:
        reasons[u.reason.label] = reasons.get(u.reason.label, 0) + 1
    for label, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        console.print(f"  not placed: {count} × {label}")


@app.command("plan")
def plan_command(
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=13, help="Horizon length.")] = 4,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First day, YYYY-MM-DD (default: the coming Monday)."),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option("--time-limit", min=0.5, help="Search seconds per territory."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")
    ] = None,
) -> None:
    """Schedule every due visit for every rep, route each day, store the plan as current.

    Territories are designed first when none are stored. The previous plan stays current until
    the new one is complete.
    """
    settings = load_settings(database_url=database_url, plan_time_limit_s=time_limit)
    try:
        first = date.fromisoformat(start) if start else next_monday(settings.timezone)
    except ValueError as exc:
        raise InputError(Problem("--start", None, None, f"{start!r} is not YYYY-MM-DD")) from exc
    horizon = Horizon(start=first, weeks=weeks, timezone=settings.timezone)
    holidays = load_holidays(settings.holidays_path)
    repo = Repository.open(settings.database_url)
    stored_inputs(repo)  # say what is missing before spending time on the road network
    travel = road_travel(settings.osm_path, settings)
    with progress_bar("planning") as report:
        result = run_planning(
            repo,
            travel,
            horizon,
            holidays=holidays,
            time_limit_s=settings.plan_time_limit_s,
            progress=report,
        )
    if result.designed:
        console.print(f"designed {len(result.territories)} territories (none were stored)")
    print_kpis(result, horizon, holidays)
    console.print(f"plan {result.plan_id} is current in {describe_url(settings.database_url)}")
