"""Scale check for the multi-week scheduler's use: hundreds of visits, 20 rep-days at once.

4 reps x 5 days = 20 vehicles (home starts, 08:00-17:00, 30-min lunch in 12:00-14:00, max 10
visits, max 4 h driving) and N visits (default 300) of 15-45 min at seeded random points in a
60 x 40 km region, each allowed only on ``--days-per-visit`` of its rep's five days (a fifth
pinned to one day), a third with a morning-only window, every visit optional with a penalty
by value class. Reports placed visits, travel, dropped visits by reason, and the time spent;
our router vs the OR-Tools adapter alone, same budget, same run.

Usage: ``python -m benchmarks.route_horizon [--visits N] [--time-limit S] [--csv OUT]``
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import BreakSpec, RoutingProblem, VehicleSpec, VisitSpec
from routeplanner.routing.solve import solve

H = 3600
DAY = 86400


def make_problem(n_visits: int, seed: int = 3, days_per_visit: int = 5) -> RoutingProblem:
    rng = random.Random(seed)
    reps, days = 4, 5
    homes = [(rng.uniform(10, 50), rng.uniform(10, 30)) for _ in range(reps)]
    pts = [(rng.uniform(0, 60), rng.uniform(0, 40)) for _ in range(n_visits)]
    xy = np.array(homes + pts)
    km = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)) * 1.3
    durations = np.rint(km / 40 * 3600).astype(np.int64)  # 40 km/h
    distances = np.rint(km * 1000).astype(np.int64)
    vehicles = []
    for r in range(reps):
        for d in range(days):
            base = d * DAY
            vehicles.append(
                VehicleSpec(
                    vehicle_id=f"r{r}d{d}",
                    start_location=r,
                    end_location=r,
                    shift_start=base + 8 * H,
                    shift_end=base + 17 * H,
                    lunch=BreakSpec(
                        earliest_start=base + 12 * H,
                        latest_start=base + 13 * H + 1800,
                        duration_s=1800,
                    ),
                    max_drive_s=4 * H,
                    max_visits=10,
                    rep_id=f"r{r}",
                    day_index=d,
                )
            )
    visits = []
    for i in range(n_visits):
        # Nearest home owns the visit (a crude territory).
        owner = int(np.argmin(km[reps + i, :reps]))
        k = 1 if rng.random() < 0.2 else days_per_visit
        days_ok = sorted(rng.sample(range(days), k))
        morning = rng.random() < 0.33
        windows = tuple(
            (d * DAY + 8 * H, d * DAY + (11 * H if morning else 17 * H)) for d in days_ok
        )
        visits.append(
            VisitSpec(
                visit_id=f"v{i}",
                location=reps + i,
                service_s=rng.choice([15, 30, 45]) * 60,
                windows=windows,
                penalty=rng.choice([100_000, 30_000, 10_000]),
                allowed_vehicles=frozenset(f"r{owner}d{d}" for d in days_ok),
            )
        )
    return RoutingProblem(
        visits=tuple(visits),
        vehicles=tuple(vehicles),
        durations_s=durations,
        distances_m=distances,
        objective="duration",
        source="horizon",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=300)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--days-per-visit", type=int, default=5, choices=range(1, 6))
    parser.add_argument("--csv", type=Path, default=Path("benchmarks/out/route_horizon.csv"))
    args = parser.parse_args(argv)
    problem = make_problem(args.visits, days_per_visit=args.days_per_visit)
    print(
        f"# {args.visits} visits ({args.days_per_visit} allowed days each, a fifth pinned), "
        f"{len(problem.vehicles)} rep-days, {args.time_limit:g} s, "
        f"{time.strftime('%Y-%m-%d %H:%M')}, 2 shared cores"
    )
    rows = []
    for solver, engines in (
        ("routeplanner", ("pyvrp", "ortools")),
        ("ortools-adapter", ("ortools",)),
    ):
        began = time.perf_counter()
        sol = solve(problem, SolveParams(time_limit_s=args.time_limit, engines=engines))
        seconds = time.perf_counter() - began
        placed = sum(len(r.stops) for r in sol.routes)
        why = Counter(d.reason.value for d in sol.dropped)
        print(
            f"{solver:16} placed {placed:4}/{args.visits}  travel {sol.cost / 3600:7.1f} h  "
            f"penalty {sol.penalty:8}  objective {sol.cost + sol.penalty:9}  "
            f"feasible {sol.feasible}  {seconds:.1f} s"
        )
        print(f"    dropped: {dict(why)}")
        for line in sol.log:
            print(f"    {line}")
        rows.append(
            {
                "solver": solver,
                "visits": args.visits,
                "days_per_visit": args.days_per_visit,
                "placed": placed,
                "travel_s": sol.cost,
                "penalty": sol.penalty,
                "objective": sol.cost + sol.penalty,
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
