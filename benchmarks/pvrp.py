"""PVRP benchmark: routeplanner's periodic search vs a naive baseline, gap to best known.

    python -m benchmarks.pvrp --instances DIR --bks FILE --time-limit SECONDS --csv OUT

Instances are Cordeau "type 1" files (Christofides-Beasley / Cordeau sets). Feasibility is decided
by our own checker below, never taken from a solver: each customer visited on exactly the days of
one allowed combination, at most m routes per day, load <= Q, duration (travel + service) <= D.
The baseline gives each customer its first allowed combination and routes each day with OR-Tools
(guided local search, at most NAIVE_DAY_S seconds a day).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicVehicle,
    solve_periodic,
)

EPS = 1e-6
NAIVE_DAY_S = 5.0
"""OR-Tools seconds per day for the baseline: its day choice, not its routing, decides it."""


@dataclass(frozen=True)
class Instance:
    name: str
    m: int
    t: int
    duration: tuple[float, ...]  # per day, 0 = none
    capacity: tuple[float, ...]
    xy: npt.NDArray[np.float64]  # node 0 = depot
    service: npt.NDArray[np.float64]
    demand: npt.NDArray[np.float64]
    freq: tuple[int, ...]  # per customer (node i+1)
    combos: tuple[tuple[tuple[int, ...], ...], ...]

    @property
    def dist(self) -> npt.NDArray[np.float64]:
        d = self.xy[:, None, :] - self.xy[None, :, :]
        return np.sqrt((d**2).sum(axis=2))


def read_instance(path: Path) -> Instance:
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    _type, m, n, t = (int(x) for x in lines[0])
    dq = [(float(a), float(b)) for a, b in lines[1 : 1 + t]]
    rows = lines[1 + t : 2 + t + n]
    xy = np.array([[float(r[1]), float(r[2])] for r in rows])
    service = np.array([float(r[3]) for r in rows])
    demand = np.array([float(r[4]) for r in rows])
    freq: list[int] = []
    combos: list[tuple[tuple[int, ...], ...]] = []
    for r in rows[1:]:
        f, a = int(r[5]), int(r[6])
        codes = [int(x) for x in r[7 : 7 + a]]
        freq.append(f)
        combos.append(
            tuple(tuple(d for d in range(t) if (code >> (t - 1 - d)) & 1) for code in codes)
        )
    return Instance(
        name=path.name,
        m=m,
        t=t,
        duration=tuple(d for d, _ in dq),
        capacity=tuple(q for _, q in dq),
        xy=xy,
        service=service,
        demand=demand,
        freq=tuple(freq),
        combos=tuple(combos),
    )


def to_problem(inst: Instance) -> PeriodicProblem:
    customers = tuple(
        PeriodicCustomer(
            node=i + 1,
            service=float(inst.service[i + 1]),
            demand=float(inst.demand[i + 1]),
            combos=inst.combos[i],
        )
        for i in range(len(inst.combos))
    )
    days = tuple(
        tuple(
            PeriodicVehicle(
                depot=0,
                capacity=inst.capacity[d],
                max_duration=inst.duration[d] if inst.duration[d] > 0 else math.inf,
            )
            for _ in range(inst.m)
        )
        for d in range(inst.t)
    )
    return PeriodicProblem(travel=inst.dist, customers=customers, days=days, pyvrp_scale=1000.0)


def check(inst: Instance, routes: list[list[list[int]]]) -> tuple[bool, float, list[str]]:
    """Our own verdict on a solution: ``routes[day]`` = list of customer-node sequences."""
    problems: list[str] = []
    dist = inst.dist
    total = 0.0
    days_of: dict[int, list[int]] = {}
    for d, day in enumerate(routes):
        nonempty = [r for r in day if r]
        if len(nonempty) > inst.m:
            problems.append(f"day {d + 1}: {len(nonempty)} routes > m={inst.m}")
        for r in nonempty:
            seq = [0, *r, 0]
            travel = float(sum(dist[a, b] for a, b in pairwise(seq)))
            total += travel
            load = float(inst.demand[r].sum())
            if load > inst.capacity[d] + EPS:
                problems.append(f"day {d + 1}: load {load} > Q={inst.capacity[d]}")
            if inst.duration[d] > 0 and travel + inst.service[r].sum() > inst.duration[d] + EPS:
                problems.append(f"day {d + 1}: duration > D={inst.duration[d]}")
            for node in r:
                days_of.setdefault(node, []).append(d)
    for i, combos in enumerate(inst.combos):
        got = tuple(sorted(days_of.get(i + 1, [])))
        if got not in {tuple(sorted(c)) for c in combos}:
            problems.append(f"customer {i + 1}: days {got} not an allowed combination")
    return not problems, total, problems


def solve_ours(inst: Instance, time_limit: float, seed: int = 0) -> list[list[list[int]]]:
    prob = to_problem(inst)
    sol = solve_periodic(prob, time_limit_s=time_limit, seed=seed)
    return [[[c + 1 for c in r] for r in day] for day in sol.routes]


def _ortools_day(inst: Instance, day: int, nodes: list[int], time_limit: float) -> list[list[int]]:
    """Route one day's customers with OR-Tools (CVRP + duration), dropping what does not fit."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    if not nodes:
        return []
    scale = 1000
    all_nodes = [0, *nodes]
    dist = inst.dist
    mgr = pywrapcp.RoutingIndexManager(len(all_nodes), inst.m, 0)
    routing = pywrapcp.RoutingModel(mgr)

    def arc(i: int, j: int) -> int:
        a, b = all_nodes[mgr.IndexToNode(i)], all_nodes[mgr.IndexToNode(j)]
        return round(dist[a, b] * scale)

    def arc_time(i: int, j: int) -> int:
        a, b = all_nodes[mgr.IndexToNode(i)], all_nodes[mgr.IndexToNode(j)]
        return math.ceil(dist[a, b] * scale + inst.service[a] * scale)

    cb = routing.RegisterTransitCallback(arc)
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    dem_cb = routing.RegisterUnaryTransitCallback(
        lambda i: int(inst.demand[all_nodes[mgr.IndexToNode(i)]] * scale)
    )
    routing.AddDimensionWithVehicleCapacity(
        dem_cb, 0, [int(inst.capacity[day] * scale)] * inst.m, True, "load"
    )
    if inst.duration[day] > 0:
        tcb = routing.RegisterTransitCallback(arc_time)
        routing.AddDimension(tcb, 0, int(inst.duration[day] * scale), True, "time")
    for i in range(1, len(all_nodes)):
        routing.AddDisjunction([mgr.NodeToIndex(i)], 10**9)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit * 1000))
    sol = routing.SolveWithParameters(params)
    out: list[list[int]] = []
    if sol is None:
        return out
    for v in range(inst.m):
        idx = routing.Start(v)
        r: list[int] = []
        idx = sol.Value(routing.NextVar(idx))
        while not routing.IsEnd(idx):
            r.append(all_nodes[mgr.IndexToNode(idx)])
            idx = sol.Value(routing.NextVar(idx))
        out.append(r)
    return out


def solve_naive(inst: Instance, time_limit: float) -> list[list[list[int]]]:
    per_day: list[list[int]] = [[] for _ in range(inst.t)]
    for i, combos in enumerate(inst.combos):
        for d in combos[0]:
            per_day[d].append(i + 1)
    per = min(NAIVE_DAY_S, time_limit / inst.t)
    return [_ortools_day(inst, d, per_day[d], per) for d in range(inst.t)]


def read_bks(path: Path) -> dict[str, float]:
    with path.open(newline="") as fh:
        return {row["instance"]: float(row["bks"]) for row in csv.DictReader(fh)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=Path, required=True)
    ap.add_argument("--bks", type=Path, required=True)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--csv", type=Path, required=True)
    ap.add_argument("--only", nargs="*", default=None, help="instance names to run")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    bks = read_bks(args.bks)
    files = sorted(p for p in args.instances.iterdir() if p.is_file())
    if args.only:
        files = [p for p in files if p.name in set(args.only)]
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    methods = ["routeplanner"] if args.skip_naive else ["routeplanner", "naive"]
    for path in files:
        inst = read_instance(path)
        for method in methods:
            t0 = time.perf_counter()
            if method == "routeplanner":
                routes = solve_ours(inst, args.time_limit, args.seed)
            else:
                routes = solve_naive(inst, args.time_limit)
            secs = time.perf_counter() - t0
            ok, dist, problems = check(inst, routes)
            best = bks.get(path.name, math.nan)
            gap = 100.0 * (dist - best) / best if best == best else math.nan
            row = {
                "instance": path.name,
                "solver": method,
                "feasible": str(ok).lower(),
                "distance": f"{dist:.2f}",
                "bks": f"{best:.2f}",
                "gap_pct": f"{gap:.2f}",
                "seconds": f"{secs:.1f}",
            }
            rows.append(row)
            print(",".join(row.values()), (problems[:2] if problems else ""), flush=True)
            with args.csv.open("w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(row))
                w.writeheader()
                w.writerows(rows)
    ours = [r for r in rows if r["solver"] == "routeplanner"]
    if ours:
        mean = sum(float(r["gap_pct"]) for r in ours) / len(ours)
        feas = sum(r["feasible"] == "true" for r in ours)
        print(f"routeplanner: mean gap {mean:.2f} %, feasible {feas}/{len(ours)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
