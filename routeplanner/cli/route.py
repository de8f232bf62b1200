"""``routeplanner route``: plan one rep-day and print the ordered stops with ETAs.

The command is thin on purpose: :func:`plan_rep_day` does the work on domain objects, and
:func:`load_inputs` is the one place that reads files: the shared importer (``routeplanner.io``)
when the build has it, else a minimal reader of the same documented columns. ``--osm`` uses the
road network (``routeplanner.travel.road``) when present; without it travel is straight-line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import road_travel
from routeplanner.cli.data import read_inputs
from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.plan import DayRoute, Unassigned
from routeplanner.model.rep import Rep
from routeplanner.routing.day import describe_route, optimise_day
from routeplanner.routing.params import SolveParams
from routeplanner.settings import SAMPLE_DIR, Settings
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.timeofday import TimeOfDayProfile


def plan_rep_day(
    rep: Rep,
    day: date,
    accounts: Sequence[Account],
    travel: TravelTimeProvider,
    *,
    time_limit_s: float = 5.0,
    rush_hours: TimeOfDayProfile | None = None,
) -> tuple[DayRoute, list[Unassigned]]:
    """The command's core, callable without files (tests, web)."""
    params = SolveParams(time_limit_s=time_limit_s)
    return optimise_day(rep, day, accounts, travel, params=params, rush_hours=rush_hours)


def load_inputs(accounts_csv: Path, reps_csv: Path) -> tuple[list[Account], list[Rep]]:
    """Accounts and reps in the documented formats (docs/data-formats.md), every check applied."""
    return read_inputs(accounts_csv, reps_csv)


def first_working_day(rep: Rep, start: date, *, within_days: int = 366) -> date | None:
    """The first day from ``start`` on which ``rep`` works (the default day to plan)."""
    for offset in range(within_days):
        day = start + timedelta(days=offset)
        if rep.shift(day) is not None:
            return day
    return None


@app.command("route")
def route_command(
    accounts: Annotated[
        Path | None, typer.Option("--accounts", help="Accounts file (default: the sample).")
    ] = None,
    reps: Annotated[
        Path | None, typer.Option("--reps", help="Reps file (default: the sample).")
    ] = None,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Id of the rep to plan (default: the first).")
    ] = None,
    day: Annotated[
        str | None,
        typer.Option("--date", help="Day to plan, YYYY-MM-DD (default: the rep's next work day)."),
    ] = None,
    osm: Annotated[
        Path | None,
        typer.Option("--osm", help="OSM extract for road travel times (default: RP_OSM_PATH)."),
    ] = None,
    straight_line: Annotated[
        bool,
        typer.Option("--straight-line", help="Straight-line travel estimate instead of roads."),
    ] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds of search.")
    ] = 5.0,
    only: Annotated[
        str, typer.Option("--only", help="Comma-separated account ids to consider (default all).")
    ] = "",
) -> None:
    """Plan one rep-day and print the ordered stops with ETAs."""
    accounts = accounts or SAMPLE_DIR / "accounts.csv"
    reps = reps or SAMPLE_DIR / "reps.csv"
    when: date | None = None
    if day is not None:
        try:
            when = date.fromisoformat(day)
        except ValueError as exc:
            msg = f"{day!r} is not YYYY-MM-DD"
            raise InputError(Problem("--date", None, None, msg)) from exc
    account_list, rep_list = load_inputs(accounts, reps)
    if not rep_list:
        raise InputError(Problem(reps.name, None, None, "no reps in the file"))
    chosen = rep_list[0] if rep is None else next((r for r in rep_list if r.rep_id == rep), None)
    if chosen is None:
        raise InputError(Problem(reps.name, None, "rep_id", f"no rep {rep!r}"))
    if when is None:
        when = first_working_day(chosen, date.today())
        if when is None:
            msg = f"rep {chosen.rep_id} has no working day in the next year"
            raise InputError(Problem(reps.name, None, "working_hours", msg))
    if only:
        wanted = [x.strip() for x in only.split(",") if x.strip()]
        known = {a.account_id for a in account_list}
        missing = [w for w in wanted if w not in known]
        if missing:
            raise InputError(Problem("--only", None, None, f"unknown accounts {missing}"))
        account_list = [a for a in account_list if a.account_id in set(wanted)]
    travel: TravelTimeProvider = (
        HaversineTravel() if straight_line else road_travel(osm or Settings().osm_path)
    )
    route, unassigned = plan_rep_day(
        chosen,
        when,
        account_list,
        travel,
        time_limit_s=time_limit,
        rush_hours=Settings().rush_hours,
    )
    for line in describe_route(route, {a.account_id: a.name for a in account_list}):
        typer.echo(line)
    for line in describe_unassigned(unassigned):
        typer.echo(line)


def describe_unassigned(unassigned: Sequence[Unassigned], *, list_up_to: int = 20) -> list[str]:
    """One line per visit left out; beyond ``list_up_to`` a count per reason instead."""
    if len(unassigned) <= list_up_to:
        return [f"  not planned: {u.account_id}: {u.message}" for u in unassigned]
    by_reason: dict[str, list[str]] = {}
    for u in unassigned:
        by_reason.setdefault(u.reason.label, []).append(u.account_id)
    lines = [f"  not planned: {len(unassigned)} accounts"]
    for label, ids in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        more = f", ... (+{len(ids) - 8})" if len(ids) > 8 else ""
        lines.append(f"    {len(ids):4} {label}: {', '.join(ids[:8])}{more}")
    return lines
