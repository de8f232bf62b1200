"""Measure OR-Tools first-solution strategies and metaheuristics inside our adapter (Solomon).

Usage: ``python -m benchmarks.ortools_tuning --instances DIR --bks FILE --time-limit S --only A,B``
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

from benchmarks.vrptw import SCALE, check, read_solomon
from routeplanner.routing.ortools_vrptw import solve_ortools

CONFIGS = [
    ("PATH_CHEAPEST_ARC", "GUIDED_LOCAL_SEARCH"),
    ("PARALLEL_CHEAPEST_INSERTION", "GUIDED_LOCAL_SEARCH"),
    ("LOCAL_CHEAPEST_INSERTION", "GUIDED_LOCAL_SEARCH"),
    ("SAVINGS", "GUIDED_LOCAL_SEARCH"),
    ("PARALLEL_CHEAPEST_INSERTION", "SIMULATED_ANNEALING"),
]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--instances", type=Path, required=True)
    p.add_argument("--bks", type=Path, required=True)
    p.add_argument("--time-limit", type=float, default=5.0)
    p.add_argument("--only", required=True)
    a = p.parse_args()
    bks = {
        r["instance"]: float(r["distance"])
        for r in csv.DictReader(a.bks.open())
        if r["convention"] == "dist_trunc1"
    }
    names = [x.strip().upper() for x in a.only.split(",")]
    for first, meta in CONFIGS:
        gaps = []
        fails = 0
        for name in names:
            problem = read_solomon(a.instances / f"{name}.txt")
            res = solve_ortools(
                problem, time_limit_s=a.time_limit, first_solution=first, metaheuristic=meta
            )
            ok, veh, d = check(problem, dict(res.routes))
            if ok:
                gaps.append((d / SCALE - bks[name]) / bks[name] * 100)
            else:
                fails += 1
            print(
                f"  {first:28} {meta:20} {name:6} ok={ok} veh={veh} "
                f"dist={d / SCALE:.1f} bks={bks[name]}",
                flush=True,
            )
        mean = statistics.mean(gaps) if gaps else float("nan")
        print(f"{first:28} {meta:20} mean gap {mean:.2f} % incomplete {fails}/{len(names)}")


if __name__ == "__main__":
    main()
