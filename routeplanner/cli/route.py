"""``routeplanner route``: plan one rep-day and print the ordered stops with ETAs.

The command is thin on purpose: :func:`plan_rep_day` does the work on domain objects, and
:func:`load_inputs` is the one place that reads files. Until the shared CSV importer
(``routeplanner.io``) lands, ``load_inputs`` reads a minimal CSV layout (documented on it), with
every bad cell reported as ``file:row: field: problem``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, cast

import typer

from routeplanner.cli import app
from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.calendar import LunchBreak, TimeWindow, WeeklyHours
from routeplanner.model.geo import GeoPoint
from routeplanner.model.plan import DayRoute, Unassigned
from routeplanner.model.rep import Rep
from routeplanner.model.rules import VisitRule
from routeplanner.routing.day import describe_route, optimise_day
from routeplanner.routing.params import SolveParams
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import MINUTE, parse_hhmm


def plan_rep_day(
    rep: Rep,
    day: date,
    accounts: Sequence[Account],
    travel: TravelTimeProvider,
    *,
    time_limit_s: float = 5.0,
) -> tuple[DayRoute, list[Unassigned]]:
    """The command's core, callable without files (tests, web)."""
    return optimise_day(rep, day, accounts, travel, params=SolveParams(time_limit_s=time_limit_s))


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError(Problem(str(path), None, None, "file not found"))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(fh)
        ]


def load_inputs(accounts_csv: Path, reps_csv: Path) -> tuple[list[Account], list[Rep]]:
    """Read accounts and reps (provisional layout, replaced by ``routeplanner.io`` when merged).

    accounts: ``account_id,name,lat,lon,visit_minutes[,open,close][,value_class][,rep_id]``
    (open/close are HH:MM, Monday to Friday; absent = always open).
    reps: ``rep_id,name,home_lat,home_lon,start,end[,lunch_start,lunch_end,lunch_minutes]
    [,max_visits]`` (start/end HH:MM, Monday to Friday).
    """
    problems: list[Problem] = []
    accounts: list[Account] = []
    reps: list[Rep] = []
    src = accounts_csv.name
    for row_no, row in enumerate(_rows(accounts_csv), start=2):
        try:
            hours = WeeklyHours.always()
            if row.get("open") and row.get("close"):
                hours = WeeklyHours.uniform(
                    TimeWindow(parse_hhmm(row["open"]), parse_hhmm(row["close"]))
                )
            accounts.append(
                Account(
                    account_id=row.get("account_id", ""),
                    name=row.get("name", ""),
                    location=GeoPoint(float(row["lat"]), float(row["lon"])),
                    visit_rule=VisitRule.parse(row.get("frequency") or "weekly"),
                    visit_duration_s=int(row.get("visit_minutes") or 30) * MINUTE,
                    opening_hours=hours,
                    value_class=row.get("value_class") or "B",
                )
            )
        except (KeyError, ValueError) as exc:
            problems.append(Problem(src, row_no, None, str(exc)))
    src = reps_csv.name
    for row_no, row in enumerate(_rows(reps_csv), start=2):
        try:
            lunch = None
            if row.get("lunch_start") and row.get("lunch_end"):
                lunch = LunchBreak(
                    window=TimeWindow(parse_hhmm(row["lunch_start"]), parse_hhmm(row["lunch_end"])),
                    duration_s=int(row.get("lunch_minutes") or 30) * MINUTE,
                )
            reps.append(
                Rep(
                    rep_id=row.get("rep_id", ""),
                    name=row.get("name", ""),
                    home=GeoPoint(float(row["home_lat"]), float(row["home_lon"])),
                    working_hours=WeeklyHours.uniform(
                        TimeWindow(parse_hhmm(row["start"]), parse_hhmm(row["end"]))
                    ),
                    lunch=lunch,
                    max_visits_per_day=int(row.get("max_visits") or 12),
                )
            )
        except (KeyError, ValueError) as exc:
            problems.append(Problem(src, row_no, None, str(exc)))
    if problems:
        raise InputError(problems)
    return accounts, reps


def _travel(osm: Path | None) -> TravelTimeProvider:
    if osm is None:
        # cast: the Protocol declares a settable ``name``, the frozen dataclass a read-only one.
        return cast(TravelTimeProvider, HaversineTravel())
    try:
        from routeplanner.travel.road import RoadTravel  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # the road provider is being built on its own branch
        msg = "road travel times are not available in this build; omit --osm"
        raise InputError(Problem("--osm", None, None, msg)) from exc
    provider: TravelTimeProvider = RoadTravel.from_osm(osm)
    return provider


@app.command("route")
def route_command(
    accounts: Annotated[Path, typer.Option("--accounts", help="Accounts CSV.")],
    reps: Annotated[Path, typer.Option("--reps", help="Reps CSV.")],
    rep: Annotated[str, typer.Option("--rep", help="rep_id of the rep to plan.")],
    day: Annotated[str, typer.Option("--date", help="Day to plan, YYYY-MM-DD.")],
    osm: Annotated[
        Path | None, typer.Option("--osm", help="OSM extract for road travel times.")
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds of search.")
    ] = 5.0,
) -> None:
    """Plan one rep-day and print the ordered stops with ETAs."""
    try:
        when = date.fromisoformat(day)
    except ValueError as exc:
        raise InputError(Problem("--date", None, None, f"{day!r} is not YYYY-MM-DD")) from exc
    account_list, rep_list = load_inputs(accounts, reps)
    chosen = next((r for r in rep_list if r.rep_id == rep), None)
    if chosen is None:
        raise InputError(Problem(reps.name, None, "rep_id", f"no rep {rep!r}"))
    route, unassigned = plan_rep_day(
        chosen, when, account_list, _travel(osm), time_limit_s=time_limit
    )
    for line in describe_route(route):
        typer.echo(line)
    for u in unassigned:
        typer.echo(f"  not planned: {u.account_id}: {u.message}")
