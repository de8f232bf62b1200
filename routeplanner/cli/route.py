"""``routeplanner route``: plan one rep-day and print the ordered stops with ETAs.

The command reads the files (default: the sample region), then
:func:`routeplanner.services.planning.route_day` does the work; ``--osm`` uses the road
network, ``--straight-line`` the straight-line estimate.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import pick_travel
from routeplanner.errors import InputError, Problem
from routeplanner.services.imports import read_files
from routeplanner.services.params import labelled
from routeplanner.services.planning import DayParams, describe_route, describe_unassigned, route_day
from routeplanner.settings import SAMPLE_DIR, Settings


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
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds of search.")] = 5.0,
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
    with labelled("command line", {"time_limit_s": "--time-limit", "only": "--only"}):
        params = DayParams(
            rep_id=rep,
            day=when,
            only=tuple(x.strip() for x in only.split(",") if x.strip()),
            time_limit_s=time_limit,
        )
    account_list, rep_list = read_files(accounts, reps)
    travel = pick_travel(osm, straight_line=straight_line)
    route, unassigned = route_day(
        account_list,
        rep_list,
        travel,
        params,
        source=reps.name,
        rush_hours=Settings().rush_hours,
    )
    for line in describe_route(route, {a.account_id: a.name for a in account_list}):
        typer.echo(line)
    for line in describe_unassigned(unassigned):
        typer.echo(line)
