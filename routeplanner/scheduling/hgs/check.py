"""An independent verdict on a periodic plan: recomputed from the problem, not from the search.

Every customer is visited on exactly the days of its chosen combination (none when left out),
once per day; no day has more routes than vehicles; every route keeps its vehicle's capacity,
duration (travel + service) and stop limits. The reported travel is recomputed from the routes.
"""

from __future__ import annotations

from itertools import pairwise

from routeplanner.scheduling.periodic import PeriodicProblem, PeriodicSolution

TOL = 1e-6


def plan_travel(problem: PeriodicProblem, solution: PeriodicSolution) -> float:
    total = 0.0
    for t, day in enumerate(solution.routes):
        for v, route in enumerate(day):
            if route:
                depot = problem.days[t][v].depot
                path = [depot, *(problem.customers[c].node for c in route), depot]
                total += sum(float(problem.travel[a, b]) for a, b in pairwise(path))
    return total


def plan_problems(problem: PeriodicProblem, solution: PeriodicSolution) -> list[str]:
    """Everything wrong with ``solution`` (empty when it is feasible)."""
    out: list[str] = []
    custs = problem.customers
    if len(solution.routes) != len(problem.days):
        return [f"{len(solution.routes)} days of routes for {len(problem.days)} days"]
    if len(solution.combo) != len(custs):
        return [f"{len(solution.combo)} combinations for {len(custs)} customers"]
    seen: dict[int, list[int]] = {}
    for t, day in enumerate(solution.routes):
        if len(day) > len(problem.days[t]):
            out.append(f"day {t}: {len(day)} routes for {len(problem.days[t])} vehicles")
            continue
        for v, route in enumerate(day):
            out.extend(_route_problems(problem, t, v, route))
            for c in route:
                seen.setdefault(c, []).append(t)
    for c, k in enumerate(solution.combo):
        days = sorted(seen.get(c, []))
        want = [] if k is None else sorted(custs[c].combos[k])
        if days != want:
            out.append(f"customer {c}: visited on days {days}, its combination has {want}")
    return out


def _route_problems(problem: PeriodicProblem, t: int, v: int, route: tuple[int, ...]) -> list[str]:
    if not route:
        return []
    veh = problem.days[t][v]
    custs = problem.customers
    path = [veh.depot, *(custs[c].node for c in route), veh.depot]
    travel = sum(float(problem.travel[a, b]) for a, b in pairwise(path))
    duration = travel + sum(custs[c].service for c in route)
    load = sum(custs[c].demand for c in route)
    out = []
    where = f"day {t} vehicle {v}"
    if load > veh.capacity + TOL:
        out.append(f"{where}: load {load:g} > capacity {veh.capacity:g}")
    if duration > veh.max_duration + TOL:
        out.append(f"{where}: duration {duration:g} > {veh.max_duration:g}")
    if len(route) > veh.max_stops:
        out.append(f"{where}: {len(route)} stops > {veh.max_stops}")
    return out
