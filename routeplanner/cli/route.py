"""``routeplanner route``: plan one rep-day and print the ordered stops with ETAs.

The command is thin on purpose: :func:`plan_rep_day` does the work on domain objects, and
:func:`load_inputs` is the one place that reads files: the shared importer (``routeplanner.io``)
when the build has it, else a minimal reader of the same documented columns. ``--osm`` uses the
road network (``routeplanner.travel.road``) when present; without it travel is straight-line.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, cast

import typer

from routeplanner.cli import app
from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.calendar import WEEKDAYS, LunchBreak, TimeWindow, WeeklyHours
from routeplanner.model.geo import GeoPoint
from routeplanner.model.plan import DayRoute, Unassigned
from routeplanner.model.rep import Rep
from routeplanner.model.rules import VisitRule
from routeplanner.routing.day import describe_route, optimise_day
from routeplanner.routing.params import SolveParams
from routeplanner.settings import SAMPLE_DIR, Settings
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
            {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(fh)
        ]


_DAYS = {d: i for i, d in enumerate(WEEKDAYS)}


def _weekly(text: str) -> WeeklyHours:
    """The plain subset of OSM opening hours: ``Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-13:00``."""
    text = text.strip()
    if not text or text == "24/7":
        return WeeklyHours.always()
    days: list[list[TimeWindow]] = [[] for _ in range(7)]
    for rule in filter(None, (r.strip() for r in text.split(";"))):
        head, _, times = rule.partition(" ") if rule[:1].isalpha() else ("Mo-Su", "", rule)
        chosen: set[int] = set()
        for part in head.split(","):
            a, _, b = part.partition("-")
            lo, hi = _DAYS[a], _DAYS[b or a]
            chosen.update(range(lo, hi + 1) if lo <= hi else [*range(lo, 7), *range(hi + 1)])
        spans = [t.split("-") for t in times.replace(" ", "").split(",") if t]
        windows = [TimeWindow(parse_hhmm(a), parse_hhmm(b)) for a, b in spans]
        for d in chosen:
            days[d] = list(windows)
    return WeeklyHours(tuple(tuple(d) for d in days))


def _provisional(accounts_csv: Path, reps_csv: Path) -> tuple[list[Account], list[Rep]]:
    """Minimal reader of the documented columns (docs/data-formats.md), without the checks."""
    problems: list[Problem] = []
    accounts: list[Account] = []
    reps: list[Rep] = []
    src = accounts_csv.name
    for row_no, row in enumerate(_rows(accounts_csv), start=2):
        field = "id"
        try:
            field = "lat"
            location = GeoPoint(float(row["lat"]), float(row["lon"]))
            field = "opening_hours"
            hours = _weekly(row.get("opening_hours", ""))
            field = "id"
            accounts.append(
                Account(
                    account_id=row.get("id", ""),
                    name=row.get("name", ""),
                    location=location,
                    visit_rule=VisitRule.parse(row.get("frequency") or "weekly"),
                    visit_duration_s=int(float(row.get("visit_minutes") or 30) * MINUTE),
                    opening_hours=hours,
                    value_class=row.get("value_class") or "B",
                )
            )
        except (KeyError, ValueError) as exc:
            problems.append(Problem(src, row_no, field, str(exc)))
    src = reps_csv.name
    for row_no, row in enumerate(_rows(reps_csv), start=2):
        field = "id"
        try:
            lunch = None
            if row.get("lunch_window"):
                field = "lunch_window"
                a, b = row["lunch_window"].split("-")
                lunch = LunchBreak(
                    window=TimeWindow(parse_hhmm(a), parse_hhmm(b)),
                    duration_s=int(row.get("lunch_minutes") or 30) * MINUTE,
                )
            field = "home_lat"
            home = GeoPoint(float(row["home_lat"]), float(row["home_lon"]))
            field = "working_hours"
            hours = _weekly(row.get("working_hours") or "Mo-Fr 08:00-17:00")
            field = "id"
            reps.append(
                Rep(
                    rep_id=row.get("id", ""),
                    name=row.get("name", ""),
                    home=home,
                    working_hours=hours,
                    lunch=lunch,
                    max_visits_per_day=int(row.get("max_visits_per_day") or 12),
                )
            )
        except (KeyError, ValueError) as exc:
            problems.append(Problem(src, row_no, field, str(exc)))
    if problems:
        raise InputError(problems)
    return accounts, reps


def load_inputs(accounts_csv: Path, reps_csv: Path) -> tuple[list[Account], list[Rep]]:
    """Accounts and reps in the documented formats (docs/data-formats.md).

    Uses the shared importer ``routeplanner.io`` (every check, CSV or XLSX) when this build has
    it, and a minimal CSV reader of the same columns otherwise.
    """
    try:
        from routeplanner.io import (  # type: ignore[attr-defined,unused-ignore]
            read_accounts,
            read_reps,
        )
    except ImportError:
        return _provisional(accounts_csv, reps_csv)
    accounts: list[Account] = read_accounts(accounts_csv)
    reps: list[Rep] = read_reps(reps_csv)
    return accounts, reps


def _travel(osm: Path | None) -> TravelTimeProvider:
    if osm is None:
        # cast: the Protocol declares a settable ``name``, the frozen dataclass a read-only one.
        return cast(TravelTimeProvider, HaversineTravel())
    try:
        from routeplanner.roads.graph import (  # type: ignore[import-not-found,unused-ignore]
            load_road_graph,
        )
        from routeplanner.travel.road import (  # type: ignore[import-not-found,unused-ignore]
            RoadTravel,
        )
    except ImportError as exc:  # the road provider is being built on its own branch
        msg = "road travel times are not available in this build; omit --osm"
        raise InputError(Problem("--osm", None, None, msg)) from exc
    settings = Settings()
    graph = load_road_graph(osm, cache_dir=settings.cache_dir)
    provider: TravelTimeProvider = RoadTravel(graph, max_snap_m=settings.max_snap_m)
    return provider


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
        Path | None, typer.Option("--osm", help="OSM extract for road travel times.")
    ] = None,
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
    route, unassigned = plan_rep_day(
        chosen, when, account_list, _travel(osm), time_limit_s=time_limit
    )
    for line in describe_route(route):
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
