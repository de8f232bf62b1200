"""PVRP benchmark: routeplanner's periodic search vs the previous engine and a naive baseline.

    python -m benchmarks.pvrp --instances DIR --bks FILE --time-limit SECONDS --csv OUT
        [--checkpoints 5,15,30,60] [--solvers routeplanner,previous,naive] [--only p01 p02]

Instances are Cordeau "type 1" files (Christofides-Beasley / Cordeau sets). Feasibility is decided
by our own checker below, never taken from a solver: each customer visited on exactly the days of
one allowed combination, at most m routes per day, load <= Q, duration (travel + service) <= D.
Solvers: ``routeplanner`` is the hybrid genetic search (``scheduling.hgs``, two islands),
``previous`` the large neighbourhood search it replaced (``scheduling.periodic``), ``naive`` gives
each customer its first allowed combination and routes each day with OR-Tools (guided local
search, at most NAIVE_DAY_S seconds a day). With ``--checkpoints`` the routeplanner run also
writes its best plan at each of those seconds as solver ``routeplanner@<s>s`` (seconds = when
that plan was found). Process CPU seconds per run are printed (the machine may be shared).
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

from routeplanner.scheduling.hgs import solve_hgs, warm_up
from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicSolution,
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


Routes = list[list[list[int]]]


def _routes(sol: PeriodicSolution) -> Routes:
    return [[[c + 1 for c in r] for r in day] for day in sol.routes]


def solve_ours(
    inst: Instance, time_limit: float, seed: int = 0, checkpoints: tuple[float, ...] = ()
) -> tuple[Routes, list[tuple[float, float, Routes | None]]]:
    """The hybrid genetic search; also its best plan at each checkpoint (checkpoint, found at)."""
    found: list[tuple[float, Routes]] = []

    def keep(elapsed: float, sol: PeriodicSolution) -> None:
        found.append((elapsed, _routes(sol)))

    sol = solve_hgs(to_problem(inst), time_limit_s=time_limit, seed=seed, on_improve=keep)
    marks: list[tuple[float, float, Routes | None]] = []
    for mark in checkpoints:
        before = [(at, r) for at, r in found if at <= mark]
        at, routes = before[-1] if before else (mark, None)
        marks.append((mark, at, routes))
    return _routes(sol), marks


def solve_previous(inst: Instance, time_limit: float, seed: int = 0) -> Routes:
    return _routes(solve_periodic(to_problem(inst), time_limit_s=time_limit, seed=seed))


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


def _row(
    inst: Instance, name: str, routes: Routes | None, best: float, secs: float
) -> tuple[dict[str, str], list[str]]:
    if routes is None:
        ok, dist, problems = False, math.nan, ["no plan yet"]
    else:
        ok, dist, problems = check(inst, routes)
    gap = 100.0 * (dist - best) / best if best == best else math.nan
    row = {
        "instance": inst.name,
        "solver": name,
        "feasible": str(ok).lower(),
        "distance": f"{dist:.2f}",
        "bks": f"{best:.2f}",
        "gap_pct": f"{gap:.2f}",
        "seconds": f"{secs:.1f}",
    }
    return row, problems


def _run(
    inst: Instance, method: str, args: argparse.Namespace, best: float, marks: tuple[float, ...]
) -> list[tuple[dict[str, str], list[str]]]:
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    extra: list[tuple[float, float, Routes | None]] = []
    if method == "routeplanner":
        routes, extra = solve_ours(inst, args.time_limit, args.seed, marks)
    elif method == "previous":
        routes = solve_previous(inst, args.time_limit, args.seed)
    else:
        routes = solve_naive(inst, args.time_limit)
    secs = time.perf_counter() - t0
    print(f"# {inst.name} {method}: {time.process_time() - cpu0:.1f} CPU s in {secs:.1f} s")
    out = [_row(inst, method, routes, best, secs)]
    out += [_row(inst, f"{method}@{mark:g}s", r, best, at) for mark, at, r in extra]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=Path, required=True)
    ap.add_argument("--bks", type=Path, required=True)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--csv", type=Path, required=True)
    ap.add_argument("--only", nargs="*", default=None, help="instance names to run")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--solvers",
        default="routeplanner,previous,naive",
        help="comma-separated: routeplanner (hybrid genetic search), previous (LNS), naive",
    )
    ap.add_argument(
        "--checkpoints",
        default="",
        help="seconds at which routeplanner's best plan is also reported, e.g. 5,15,30,60",
    )
    args = ap.parse_args(argv)
    bks = read_bks(args.bks)
    files = sorted(p for p in args.instances.iterdir() if p.is_file())
    if args.only:
        files = [p for p in files if p.name in set(args.only)]
    marks = tuple(float(x) for x in args.checkpoints.split(",") if x.strip())
    marks = tuple(m for m in marks if m <= args.time_limit + 1e-9)
    methods = [m for m in args.solvers.split(",") if m and not (args.skip_naive and m == "naive")]
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    warm_up()
    print(f"# compiled search loaded in {time.perf_counter() - t0:.1f} s (not counted)")
    rows: list[dict[str, str]] = []
    for path in files:
        inst = read_instance(path)
        for method in methods:
            for row, problems in _run(inst, method, args, bks.get(path.name, math.nan), marks):
                rows.append(row)
                print(",".join(row.values()), (problems[:2] if problems else ""), flush=True)
            with args.csv.open("w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)
    for name in dict.fromkeys(r["solver"] for r in rows):
        got = [r for r in rows if r["solver"] == name]
        gaps = [float(r["gap_pct"]) for r in got]
        feas = sum(r["feasible"] == "true" for r in got)
        print(
            f"{name}: mean gap {sum(gaps) / len(gaps):.2f} %, worst {max(gaps):.2f} %, "
            f"feasible {feas}/{len(got)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
