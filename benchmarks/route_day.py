"""A 25-stop rep-day on the sample region, and an optimality check of the router on 10 stops.

* 25 accounts at seeded random points in the Heidelberg sample region (opening hours of four
  kinds, 20-40 min visits, a 30-min lunch in 12:00-14:00, max 25 visits): our router
  (``solve``, both engines) vs the OR-Tools adapter alone, same time limit, same run.
* Optimality: the first 10 of those accounts, all required, no lunch; Held-Karp dynamic
  programming over (visited set, last stop) with Pareto labels (travel so far, time ready) gives
  the true minimum travel time under the time windows; the router must match it.

Travel times come from the road network (``routeplanner.travel.road.RoadTravel`` on the OSM
file) when that provider is available in this build, otherwise from the straight-line provider;
the output says which.

Usage: ``python -m benchmarks.route_day [--osm PATH] [--time-limit S] [--csv OUT]``
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import cast

from routeplanner.model import (
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.routing.day import build_day_problem
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import RoutingProblem, VehicleSpec
from routeplanner.routing.solve import solve
from routeplanner.settings import Settings
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import HOUR, MINUTE, format_hhmm

DAY = date(2026, 11, 23)  # a Monday
OSM = Path("sample_data/heidelberg.osm.pbf")
HOURS = [
    WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR)),
    WeeklyHours.uniform(TimeWindow(9 * HOUR, 12 * HOUR + 30 * MINUTE)),
    WeeklyHours.uniform(TimeWindow(13 * HOUR, 17 * HOUR)),
    WeeklyHours(
        ((TimeWindow(8 * HOUR, 11 * HOUR), TimeWindow(14 * HOUR, 18 * HOUR)),) * 5 + ((), ())
    ),
]


def make_day(n: int = 25, seed: int = 7) -> tuple[Rep, list[Account]]:
    rng = random.Random(seed)
    rep = Rep(
        rep_id="r1",
        name="Sample rep",
        home=GeoPoint(49.405, 8.690),
        working_hours=WeeklyHours.uniform(TimeWindow(7 * HOUR + 30 * MINUTE, 18 * HOUR)),
        lunch=LunchBreak(window=TimeWindow(12 * HOUR, 14 * HOUR), duration_s=30 * MINUTE),
        max_visits_per_day=25,
    )
    accounts = [
        Account(
            account_id=f"acc{i:02d}",
            name=f"Account {i}",
            location=GeoPoint(rng.uniform(49.37, 49.44), rng.uniform(8.63, 8.75)),
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=rng.choice([10, 15, 20]) * MINUTE,
            opening_hours=HOURS[i % len(HOURS)],
            value_class="ABC"[i % 3],
        )
        for i in range(n)
    ]
    return rep, accounts


def travel_provider(osm: Path | None) -> tuple[TravelTimeProvider, str]:
    if osm is not None and osm.exists():
        try:
            from routeplanner.roads.graph import (  # type: ignore[import-not-found,unused-ignore]
                load_road_graph,
            )
            from routeplanner.travel.road import (  # type: ignore[import-not-found,unused-ignore]
                RoadTravel,
            )
        except ImportError:
            pass
        else:
            settings = Settings()
            graph = load_road_graph(osm, cache_dir=settings.cache_dir)
            provider = RoadTravel(graph, max_snap_m=settings.max_snap_m)
            return provider, f"road network {osm.name}"
    return cast(TravelTimeProvider, HaversineTravel()), (
        "straight line x1.3 at 40 km/h (road provider not in this build)"
    )


def held_karp(problem: RoutingProblem, vehicle: VehicleSpec) -> int | None:
    """Minimum travel visiting every visit once within windows and shift; None if infeasible."""
    dur = problem.durations_s
    visits = problem.visits
    n = len(visits)
    labels: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def add(key: tuple[int, int], cost: int, ready: int) -> None:
        bucket = labels.setdefault(key, [])
        if any(c <= cost and r <= ready for c, r in bucket):
            return
        bucket[:] = [(c, r) for c, r in bucket if not (cost <= c and ready <= r)]
        bucket.append((cost, ready))

    def serve(i: int, arrival: int) -> int | None:
        v = visits[i]
        starts = (
            [max(arrival, lo) for lo, hi in v.windows if arrival <= hi] if v.windows else [arrival]
        )
        return min(starts) + v.service_s if starts else None

    for i in range(n):
        t = vehicle.shift_start + int(dur[vehicle.start_location, visits[i].location])
        done = serve(i, t)
        if done is not None:
            add((1 << i, i), int(dur[vehicle.start_location, visits[i].location]), done)
    for mask in range(1, 1 << n):
        for last in range(n):
            for cost, ready in labels.get((mask, last), []):
                for j in range(n):
                    if mask & (1 << j):
                        continue
                    leg = int(dur[visits[last].location, visits[j].location])
                    done = serve(j, ready + leg)
                    if done is not None:
                        add((mask | (1 << j), j), cost + leg, done)
    full = (1 << n) - 1
    best: int | None = None
    for last in range(n):
        for cost, ready in labels.get((full, last), []):
            leg = int(dur[visits[last].location, vehicle.end_location])
            if ready + leg <= vehicle.shift_end and (best is None or cost + leg < best):
                best = cost + leg
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, default=OSM)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/out/route_day.csv"))
    args = parser.parse_args(argv)
    travel, how = travel_provider(args.osm)
    rep, accounts = make_day()
    print(f"# travel: {how}; {time.strftime('%Y-%m-%d %H:%M')}, 2 shared cores")
    rows: list[dict[str, object]] = []

    dp = build_day_problem(rep, DAY, accounts, travel)
    for solver, engines in (
        ("routeplanner", ("pyvrp", "ortools")),
        ("ortools-adapter", ("ortools",)),
    ):
        began = time.perf_counter()
        sol = solve(dp.problem, SolveParams(time_limit_s=args.time_limit, engines=engines))
        seconds = time.perf_counter() - began
        route = sol.route_of(rep.rep_id)
        placed = len(route.stops) if route else 0
        travel_s = route.travel_s if route else 0
        print(
            f"25 stops  {solver:16} placed {placed:2}/25  travel {travel_s / 60:6.1f} min  "
            f"dropped penalty {sol.penalty:6}  feasible {sol.feasible}  {seconds:.1f} s"
        )
        rows.append(
            {
                "case": "day25",
                "solver": solver,
                "placed": placed,
                "travel_s": travel_s,
                "optimum_s": "",
                "penalty": sol.penalty,
                "feasible": sol.feasible,
                "seconds": f"{seconds:.1f}",
            }
        )
        if solver == "routeplanner" and route:
            for s in route.stops:
                print(
                    f"    {s.visit_id}  arrive {format_hhmm(s.arrival_s)}  start "
                    f"{format_hhmm(s.start_s)}  leave {format_hhmm(s.departure_s)}"
                )
            if route.break_start_s is not None:
                print(f"    lunch at {format_hhmm(route.break_start_s)}")

    # Optimality on 10 stops: all required, no lunch, so Held-Karp is the exact reference.
    sub = build_day_problem(replace(rep, lunch=None), DAY, accounts[:10], travel).problem
    sub = replace(sub, visits=tuple(replace(v, penalty=None) for v in sub.visits))
    began = time.perf_counter()
    optimum = held_karp(sub, sub.vehicles[0])
    dp_seconds = time.perf_counter() - began
    began = time.perf_counter()
    sol = solve(sub, SolveParams(time_limit_s=min(args.time_limit, 5.0)))
    seconds = time.perf_counter() - began
    route = sol.route_of(rep.rep_id)
    ours = route.travel_s if route and len(route.stops) == 10 else None
    ratio = (ours / optimum) if (ours is not None and optimum) else float("nan")
    print(
        f"10 stops  Held-Karp optimum {optimum} s ({dp_seconds:.1f} s)  routeplanner {ours} s "
        f"({seconds:.1f} s)  ratio {ratio:.4f}  {'OPTIMAL' if ours == optimum else 'NOT optimal'}"
    )
    rows.append(
        {
            "case": "dp10",
            "solver": "routeplanner",
            "placed": len(route.stops) if route else 0,
            "travel_s": ours,
            "optimum_s": optimum,
            "penalty": sol.penalty,
            "feasible": sol.feasible,
            "seconds": f"{seconds:.1f}",
        }
    )
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
