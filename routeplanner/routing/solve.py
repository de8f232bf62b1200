"""The router's front door: run the engines, re-check every answer, keep the best feasible one.

Order of work (each step measured, see benchmarks/results/routing.md):

1. PyVRP first, when the problem fits it (:func:`~routeplanner.routing.pyvrp_engine.pyvrp_fit`),
   with ``pyvrp_share`` of the budget: its search is much stronger on time windows.
2. Every engine answer is re-timed with :func:`~routeplanner.routing.eta.time_route`; a route
   that breaks any constraint (PyVRP's relaxed lunch, say) is repaired by removing the stop whose
   removal helps most, so no violation ever leaves this module.
3. OR-Tools with the rest of the budget, warm-started from the best repaired answer so far; it
   models every constraint exactly (breaks included) and fills what the repair dropped. With
   time slots (rush hours) the engines see fixed travel: first off-peak, then, for up to
   :data:`SLOT_ROUNDS` rounds sharing the rest of the budget, each location's drives priced in
   the slot the best routes really leave it in, until those slots stop changing.
   A caller's ``initial_routes`` (a previous plan) enter as a candidate before any engine.
4. The best candidate wins: fewest dropped required visits, then lowest cost plus penalties of
   dropped optional visits. An empty plan is always a candidate, so ``solve`` never fails.
5. Every dropped visit gets a reason (:mod:`routeplanner.routing.reasons`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from routeplanner.errors import InputError, InternalError, Problem
from routeplanner.routing.eta import RouteTimeline, time_route
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import RoutingProblem, VehicleSpec, VisitSpec
from routeplanner.routing.reasons import DroppedVisit, explain_dropped
from routeplanner.routing.result import EngineResult


@dataclass(frozen=True, slots=True, kw_only=True)
class Solution:
    """Feasible routes (non-empty ones, in vehicle order) and every dropped visit with a reason.

    ``cost`` is travel (seconds or metres, by the problem's objective) plus fixed vehicle costs;
    ``penalty`` sums the penalties of dropped optional visits; ``dropped_required`` counts
    dropped visits that had no penalty (required). ``log`` has one line per engine run.
    """

    routes: tuple[RouteTimeline, ...]
    dropped: tuple[DroppedVisit, ...]
    cost: int
    penalty: int
    dropped_required: int
    engine: str
    log: tuple[str, ...] = ()

    @property
    def feasible(self) -> bool:
        return all(r.feasible for r in self.routes)

    @property
    def num_vehicles(self) -> int:
        return len(self.routes)

    def route_of(self, vehicle_id: str) -> RouteTimeline | None:
        return next((r for r in self.routes if r.vehicle_id == vehicle_id), None)


@dataclass(frozen=True, slots=True)
class _Candidate:
    engine: str
    routes: dict[str, RouteTimeline]
    score: tuple[int, int]


def solve(
    problem: RoutingProblem,
    params: SolveParams | None = None,
    *,
    initial_routes: Mapping[str, Sequence[str]] | None = None,
) -> Solution:
    """Plan ``problem``; see the module docstring for how engines are combined.

    Parameters
    ----------
    initial_routes
        vehicle id -> visit ids of a known plan (yesterday's, or a rep's manual order). It is
        re-checked and repaired like an engine answer, competes as a candidate (so the result is
        never worse than it), and warm-starts OR-Tools when it is the best so far. Unknown ids
        raise :class:`InputError`.

    Raises
    ------
    InputError
        The problem is inconsistent (:meth:`RoutingProblem.check`).
    """
    params = params or SolveParams()
    problem.check()
    began = time.perf_counter()
    deadline = began + params.time_limit_s
    log: list[str] = []
    best = _evaluate(problem, EngineResult(engine="empty"), log)
    if initial_routes:
        _check_routes(problem, initial_routes)
        given = EngineResult(
            engine="initial", routes={k: tuple(v) for k, v in initial_routes.items()}
        )
        best = _better(best, _evaluate(problem, given, log))
    if not problem.visits or not problem.vehicles:
        return _finish(problem, best, log)
    if len(problem.visits) == 1:
        # Exact by enumeration; and a local search over one visit has no moves, so GLS would
        # only burn the whole time limit.
        return _finish(problem, _single_visit(problem, best, log), log)

    use_ortools = "ortools" in params.engines
    # Engines see fixed travel: first the problem's own matrices (no slot), then, while the
    # slots the best routes really depart in differ from the assumed ones, the matrices of
    # those slots (OR-Tools again, warm-started), so its model and the checker's timing agree.
    assumed = np.full(problem.durations_s.shape[0], -1, dtype=np.int64)
    engine_problem = problem.assuming(assumed)
    if "pyvrp" in params.engines:
        best = _run_pyvrp(problem, engine_problem, params, best, log, use_ortools=use_ortools)
    if not problem.time_slots:
        if use_ortools:
            best = _run_ortools(problem, engine_problem, params, best, log, deadline, 1.0)
        return _finish(problem, best, log)
    for round_no in range(SLOT_ROUNDS):
        last = round_no == SLOT_ROUNDS - 1
        if use_ortools:
            best = _run_ortools(
                problem, engine_problem, params, best, log, deadline, 1.0 if last else 0.5
            )
        departures = _departures(problem, best, assumed)
        if _same_slots(problem, departures, assumed):
            log.append(f"time slots: engines and timing agree after {round_no + 1} round(s)")
            if use_ortools and not last and time.perf_counter() < deadline:
                best = _run_ortools(problem, engine_problem, params, best, log, deadline, 1.0)
            break
        if last:
            log.append(f"time slots: routes still depart in other slots after {SLOT_ROUNDS}")
        assumed = departures
        engine_problem = problem.assuming(assumed)
    return _finish(problem, best, log)


SLOT_ROUNDS = 3
"""Engine rounds at most for a problem with time slots (each re-assumes departure slots)."""


def _run_pyvrp(
    problem: RoutingProblem,
    engine_problem: RoutingProblem,
    params: SolveParams,
    best: _Candidate,
    log: list[str],
    *,
    use_ortools: bool,
) -> _Candidate:
    from routeplanner.routing.pyvrp_engine import pyvrp_fit, solve_pyvrp

    fit = pyvrp_fit(engine_problem)
    if not fit.usable:
        log.append(f"pyvrp: skipped ({fit.reason})")
        return best
    share = params.pyvrp_share if use_ortools else 1.0
    result = solve_pyvrp(
        engine_problem,
        time_limit_s=params.time_limit_s * share,
        seed=params.seed,
        iteration_limit=params.iteration_limit,
    )
    return _better(best, _evaluate(problem, result, log))


def _run_ortools(
    problem: RoutingProblem,
    engine_problem: RoutingProblem,
    params: SolveParams,
    best: _Candidate,
    log: list[str],
    deadline: float,
    share: float,
) -> _Candidate:
    """OR-Tools on ``engine_problem`` for ``share`` of the time left, warm-started from the best
    candidate; its routes are timed on the real ``problem``."""
    from routeplanner.routing.ortools_vrptw import solve_ortools

    remaining = max(0.2, (deadline - time.perf_counter()) * share)
    initial = {vid: tl.visit_ids for vid, tl in best.routes.items()} or None
    result = solve_ortools(
        engine_problem,
        time_limit_s=remaining,
        solution_limit=params.solution_limit,
        initial_routes=initial,
    )
    return _better(best, _evaluate(problem, result, log))


def _departures(
    problem: RoutingProblem, best: _Candidate, assumed: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """When the best routes leave each location (their start, every stop); others as assumed."""
    found = assumed.copy()
    vehicles = {v.vehicle_id: v for v in problem.vehicles}
    for vehicle_id, timeline in best.routes.items():
        found[vehicles[vehicle_id].start_location] = timeline.start_s
        for stop in timeline.stops:
            found[stop.location] = stop.departure_s
    return found


def _same_slots(
    problem: RoutingProblem, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]
) -> bool:
    return all(
        problem.slot_of(int(x)) == problem.slot_of(int(y)) for x, y in zip(a, b, strict=True)
    )


def _check_routes(problem: RoutingProblem, routes: Mapping[str, Sequence[str]]) -> None:
    vehicles = {v.vehicle_id for v in problem.vehicles}
    visits = {v.visit_id for v in problem.visits}
    problems: list[Problem] = []
    seen: set[str] = set()
    for vehicle_id, order in routes.items():
        if vehicle_id not in vehicles:
            problems.append(
                Problem(problem.source, None, "initial_routes", f"unknown vehicle {vehicle_id}")
            )
        for vid in order:
            if vid not in visits:
                msg = f"unknown visit {vid}"
                problems.append(Problem(problem.source, None, "initial_routes", msg))
            elif vid in seen:
                msg = f"visit {vid} appears twice"
                problems.append(Problem(problem.source, None, "initial_routes", msg))
            seen.add(vid)
    if problems:
        raise InputError(problems)


def _single_visit(problem: RoutingProblem, empty: _Candidate, log: list[str]) -> _Candidate:
    best = empty
    visit = problem.visits[0]
    for vehicle in problem.vehicles:
        timeline = time_route(problem, vehicle, [visit])
        if timeline.feasible:
            routes = {vehicle.vehicle_id: timeline}
            best = _better(best, _Candidate("enumeration", routes, _score(problem, routes)))
    log.append(f"enumeration: one visit, {len(problem.vehicles)} vehicles tried")
    return best


def _better(a: _Candidate, b: _Candidate) -> _Candidate:
    return b if b.score < a.score else a


def _evaluate(problem: RoutingProblem, result: EngineResult, log: list[str]) -> _Candidate:
    """Re-time (and if needed repair) an engine's routes; score what survives."""
    vehicles = {v.vehicle_id: v for v in problem.vehicles}
    visits = {v.visit_id: v for v in problem.visits}
    placed: set[str] = set()
    routes: dict[str, RouteTimeline] = {}
    repaired = 0
    for vehicle_id, order in result.routes.items():
        specs = [visits[v] for v in order if v not in placed]
        placed.update(v.visit_id for v in specs)
        timeline, removed = _repair(problem, vehicles[vehicle_id], specs)
        repaired += len(removed)
        placed.difference_update(removed)
        if timeline.stops:
            routes[vehicle_id] = timeline
    score = _score(problem, routes)
    if result.engine != "empty":
        log.append(
            f"{result.engine}: {result.status}, {len(routes)} routes, "
            f"{sum(len(r.stops) for r in routes.values())} visits, cost {score[1]}, "
            f"{repaired} removed by repair, {result.seconds:.1f} s"
            + (f" ({result.detail})" if result.detail else "")
        )
    return _Candidate(result.engine, routes, score)


def _repair(
    problem: RoutingProblem, vehicle: VehicleSpec, specs: Sequence[VisitSpec]
) -> tuple[RouteTimeline, list[str]]:
    """Drop stops until the route is feasible, each time the one whose removal helps most."""
    order = list(specs)
    removed: list[str] = []
    timeline = time_route(problem, vehicle, order)
    while not timeline.feasible:
        best_key: tuple[int, int, int, int] | None = None
        best_i = 0
        best_tl = timeline
        for i in range(len(order)):
            trial = order[:i] + order[i + 1 :]
            tl = time_route(problem, vehicle, trial)
            v = order[i]
            key = (
                len(tl.violations),
                1 if v.penalty is None else 0,
                v.penalty or 0,
                tl.cost(problem.objective),
            )
            if best_key is None or key < best_key:
                best_key, best_i, best_tl = key, i, tl
        if best_key is None:  # an empty route that is infeasible: nothing left to remove
            break
        removed.append(order.pop(best_i).visit_id)
        timeline = best_tl
    return timeline, removed


def _score(problem: RoutingProblem, routes: dict[str, RouteTimeline]) -> tuple[int, int]:
    placed = {s.visit_id for r in routes.values() for s in r.stops}
    fixed = {v.vehicle_id: v.fixed_cost for v in problem.vehicles}
    cost = sum(r.cost(problem.objective) + fixed[vid] for vid, r in routes.items())
    dropped_required = 0
    for v in problem.visits:
        if v.visit_id not in placed:
            if v.penalty is None:
                dropped_required += 1
            else:
                cost += v.penalty
    return dropped_required, cost


def _finish(problem: RoutingProblem, best: _Candidate, log: list[str]) -> Solution:
    order = {v.vehicle_id: k for k, v in enumerate(problem.vehicles)}
    routes = tuple(sorted(best.routes.values(), key=lambda r: order[r.vehicle_id]))
    if not all(r.feasible for r in routes):
        msg = f"{best.engine} produced an infeasible route after repair"
        raise InternalError(msg)
    placed = {s.visit_id for r in routes for s in r.stops}
    missing = [v.visit_id for v in problem.visits if v.visit_id not in placed]
    dropped = explain_dropped(problem, best.routes, missing)
    penalty = sum(v.penalty or 0 for v in problem.visits if v.visit_id not in placed)
    return Solution(
        routes=routes,
        dropped=tuple(dropped),
        cost=best.score[1] - penalty,
        penalty=penalty,
        dropped_required=best.score[0],
        engine=best.engine,
        log=tuple(log),
    )
