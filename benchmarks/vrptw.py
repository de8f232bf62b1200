"""Solomon VRPTW: routeplanner's router vs stock OR-Tools, same instances, same limit, same run.

Convention ``dist_trunc1`` (DIMACS 2021 / CVRPLIB): objective = total distance, every arc the
Euclidean distance truncated to one decimal, travel time = distance, fleet size free (we offer
the file's vehicle count, which exceeds every best-known fleet). Distances, times and service
are multiplied by 10 so the truncation is exact in integers: ``isqrt(100 * d^2)`` is
``floor(10 * d)`` with no floating-point rounding at all.

Feasibility of both solvers' answers is decided by our own checker (routeplanner.routing.eta).

Usage::

    python -m benchmarks.vrptw --instances DIR --bks FILE --time-limit SECONDS --csv OUT
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import statistics
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routeplanner.routing.eta import compute_etas
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import RoutingProblem, VehicleSpec, VisitSpec
from routeplanner.routing.solve import solve

SCALE = 10
COLUMNS = ["instance", "solver", "feasible", "vehicles", "distance", "bks", "gap_pct", "seconds"]


def read_solomon(path: Path) -> RoutingProblem:
    """Read a Solomon text file into a problem on the x10 integer scale."""
    lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines()]
    numbers = [ln for ln in lines if ln and all(_is_int(x) for x in ln)]
    n_vehicles, capacity = (int(x) for x in numbers[0])
    rows = [[int(x) for x in ln] for ln in numbers[1:] if len(ln) == 7]
    xy = np.array([(r[1], r[2]) for r in rows], dtype=np.int64)
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    dist = np.vectorize(math.isqrt)(100 * d2).astype(np.int64)
    depot = rows[0]
    visits = tuple(
        VisitSpec(
            visit_id=str(r[0]),
            location=i,
            service_s=r[6] * SCALE,
            windows=((r[4] * SCALE, r[5] * SCALE),),
            demand=r[3],
        )
        for i, r in enumerate(rows)
        if i > 0
    )
    vehicles = tuple(
        VehicleSpec(
            vehicle_id=f"v{k}",
            start_location=0,
            end_location=0,
            shift_start=depot[4] * SCALE,
            shift_end=depot[5] * SCALE,
            capacity=capacity,
        )
        for k in range(n_vehicles)
    )
    return RoutingProblem(
        visits=visits,
        vehicles=vehicles,
        durations_s=dist,
        distances_m=dist,
        objective="distance",
        source=path.name,
    )


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def stock_ortools(problem: RoutingProblem, time_limit_s: float) -> dict[str, tuple[str, ...]]:
    """OR-Tools as a user would first write it: default first solution + GLS, visits required."""
    m = len(problem.visits)
    manager = pywrapcp.RoutingIndexManager(m + 1, len(problem.vehicles), 0)
    routing = pywrapcp.RoutingModel(manager)
    loc = [0] + [v.location for v in problem.visits]
    assert problem.distances_m is not None
    dist = problem.distances_m[np.ix_(loc, loc)]
    service = np.array([0] + [v.service_s for v in problem.visits], dtype=np.int64)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(dist.tolist()))
    horizon = problem.vehicles[0].shift_end
    routing.AddDimension(
        routing.RegisterTransitMatrix((dist + service[:, None]).tolist()),
        horizon,
        horizon,
        False,
        "time",
    )
    time_dim = routing.GetDimensionOrDie("time")
    for i, v in enumerate(problem.visits, start=1):
        time_dim.CumulVar(manager.NodeToIndex(i)).SetRange(*v.windows[0])
    for k, veh in enumerate(problem.vehicles):
        time_dim.CumulVar(routing.Start(k)).SetRange(veh.shift_start, veh.shift_end)
        time_dim.CumulVar(routing.End(k)).SetRange(veh.shift_start, veh.shift_end)
    demand = [0] + [v.demand for v in problem.visits]
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitVector(demand),
        0,
        [v.capacity or 0 for v in problem.vehicles],
        True,
        "load",
    )
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    sol = routing.SolveWithParameters(params)
    routes: dict[str, tuple[str, ...]] = {}
    if sol is None:
        return routes
    for k, veh in enumerate(problem.vehicles):
        idx = sol.Value(routing.NextVar(routing.Start(k)))
        order = []
        while not routing.IsEnd(idx):
            order.append(problem.visits[manager.IndexToNode(idx) - 1].visit_id)
            idx = sol.Value(routing.NextVar(idx))
        if order:
            routes[veh.vehicle_id] = tuple(order)
    return routes


def check(problem: RoutingProblem, routes: dict[str, tuple[str, ...]]) -> tuple[bool, int, int]:
    """(feasible, vehicles, distance x10) by our checker; every customer exactly once."""
    seen = [v for r in routes.values() for v in r]
    complete = sorted(seen) == sorted(v.visit_id for v in problem.visits)
    total = 0
    ok = complete
    for vid, order in routes.items():
        tl = compute_etas(problem, vid, order)
        ok = ok and tl.feasible
        total += tl.distance_m
    return ok, len(routes), total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=Path, required=True)
    parser.add_argument("--bks", type=Path, required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--solvers", default="routeplanner,ortools-default")
    parser.add_argument("--only", default="", help="comma-separated instance names (subset)")
    args = parser.parse_args(argv)

    bks: dict[str, float] = {}
    with args.bks.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["convention"] == "dist_trunc1":
                bks[row["instance"].upper()] = float(row["distance"])
    files = sorted(p for p in args.instances.iterdir() if p.suffix.lower() == ".txt")
    if args.only:
        wanted = {x.strip().upper() for x in args.only.split(",")}
        files = [p for p in files if p.stem.upper() in wanted]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    print(
        f"# {len(files)} instances, {args.time_limit:g} s each, {platform.node()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')} (2 shared cores)"
    )
    print(
        f"{'instance':9} {'solver':15} {'feas':>5} {'veh':>4} {'distance':>9} {'bks':>8} "
        f"{'gap %':>7} {'s':>6}"
    )
    rows: list[dict[str, object]] = []
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    for path in files:
        problem = read_solomon(path)
        name = path.stem.upper()
        best = bks.get(name)
        for solver in solvers:
            began = time.perf_counter()
            if solver == "routeplanner":
                sol = solve(problem, SolveParams(time_limit_s=args.time_limit))
                routes = {r.vehicle_id: r.visit_ids for r in sol.routes}
            elif solver == "ortools-default":
                routes = stock_ortools(problem, args.time_limit)
            else:
                raise SystemExit(f"unknown solver {solver}")
            seconds = time.perf_counter() - began
            feasible, vehicles, dist10 = check(problem, routes)
            distance = dist10 / SCALE if feasible else float("nan")
            gap = (distance - best) / best * 100 if (best and feasible) else float("nan")
            row = {
                "instance": name,
                "solver": solver,
                "feasible": feasible,
                "vehicles": vehicles,
                "distance": f"{distance:.1f}",
                "bks": best if best is not None else "",
                "gap_pct": f"{gap:.2f}",
                "seconds": f"{seconds:.1f}",
            }
            rows.append(row)
            print(
                f"{name:9} {solver:15} {feasible!s:>5} {vehicles:>4} {distance:>9.1f} "
                f"{best or 0:>8.1f} {gap:>7.2f} {seconds:>6.1f}",
                flush=True,
            )
            with args.csv.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
    _summary(rows)


def _summary(rows: list[dict[str, object]]) -> None:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    infeasible: dict[str, int] = defaultdict(int)
    for row in rows:
        name = str(row["instance"])
        family = name.rstrip("0123456789")[:3] + name.lstrip("RC")[:1]
        gap = float(str(row["gap_pct"]))
        if math.isnan(gap):
            infeasible[str(row["solver"])] += 1
            continue
        groups[(str(row["solver"]), family)].append(gap)
        groups[(str(row["solver"]), "all")].append(gap)
    print("\nmean gap % per family (feasible instances only)")
    for (solver, family), gaps in sorted(groups.items()):
        print(
            f"  {solver:15} {family:5} n={len(gaps):2}  mean {statistics.mean(gaps):6.2f}  "
            f"max {max(gaps):6.2f}"
        )
    for solver, count in sorted(infeasible.items()):
        print(f"  {solver:15} infeasible or unsolved: {count}")


if __name__ == "__main__":
    main()
