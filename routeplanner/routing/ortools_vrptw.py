"""OR-Tools adapter: the only module that imports ortools; handles everything the model can say.

Modelling choices:

* Nodes are the visits plus one node per distinct vehicle start/end location; all matrices are
  registered natively (``RegisterTransitMatrix`` / ``RegisterUnaryTransitVector``), never as
  Python callbacks, which are 5-10x slower in local search.
* Time and cost are integers on the problem's own scale (seconds; Solomon distances x10). The
  time transit ``i -> j`` is ``service(i) + travel(i, j)``, so a cumul is the start of service.
  Waiting is slack; windows go on the cumul, gaps between several windows are removed from its
  domain.
* Every visit sits in a disjunction: optional visits with their penalty, required ones with a
  penalty larger than any route cost. The search therefore always has a solution (drop
  everything) and an over-full day loses visits instead of failing; the router reports dropped
  required visits with a reason.
* Lunch: a fixed-duration break interval per vehicle with the services as node visit transits,
  so a break never overlaps a service (the same rule as eta.py).
* Max visits, max drive and capacity are vehicle-capacity dimensions; allowed vehicles go through
  ``SetAllowedVehiclesForIndex``.
* Search: SAVINGS then guided local search for a shared depot, LOCAL_CHEAPEST_INSERTION when
  vehicles start or end in different places (savings needs one depot); the comparison of first
  solutions and metaheuristics is in benchmarks/results/routing.md.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routeplanner.routing.problem import UNREACHABLE_S, RoutingProblem
from routeplanner.routing.result import EngineResult

FIRST_SOLUTION = "SAVINGS"
FIRST_SOLUTION_MULTI_DEPOT = "LOCAL_CHEAPEST_INSERTION"
METAHEURISTIC = "GUIDED_LOCAL_SEARCH"


def required_penalty(problem: RoutingProblem) -> int:
    """A penalty above any possible total route cost: dropping a required visit never pays."""
    cost = problem.distances_m if problem.objective == "distance" else problem.durations_s
    assert cost is not None
    finite = np.where(problem.durations_s >= UNREACHABLE_S, 0, cost)
    worst = int(finite.max(initial=0)) + max((v.service_s for v in problem.visits), default=0)
    fixed = sum(v.fixed_cost for v in problem.vehicles)
    return (worst + 1) * (len(problem.visits) + 2 * len(problem.vehicles) + 1) + fixed + 1


def solve_ortools(
    problem: RoutingProblem,
    *,
    time_limit_s: float,
    solution_limit: int | None = None,
    initial_routes: Mapping[str, Sequence[str]] | None = None,
    first_solution: str | None = None,
    metaheuristic: str = METAHEURISTIC,
) -> EngineResult:
    """Solve ``problem`` with OR-Tools; ``initial_routes`` (vehicle id -> visit ids) warm-starts.

    The caller has run :meth:`RoutingProblem.check`; this adapter trusts its input.
    """
    began = time.perf_counter()
    if not problem.vehicles:
        return EngineResult(engine="ortools", status="no_vehicles")
    model = _Model.of(problem)
    _add_costs(model)
    time_dim = _add_time(model)
    _add_breaks(model, time_dim)
    _add_limits(model)
    _add_disjunctions(model)
    if first_solution is None:
        one_depot = model.depots == 1
        first_solution = FIRST_SOLUTION if one_depot else FIRST_SOLUTION_MULTI_DEPOT
    # The budget covers model building too (a few seconds for hundreds of visits with breaks).
    search_s = max(0.1, time_limit_s - (time.perf_counter() - began))
    params = _search_parameters(first_solution, metaheuristic, search_s, solution_limit)
    assignment = _solve(model, params, initial_routes)
    seconds = time.perf_counter() - began
    if assignment is None:
        return EngineResult(engine="ortools", status="no_solution", seconds=seconds)
    routes = _read_routes(model, assignment)
    starts = _read_starts(model, assignment, time_dim)
    return EngineResult(
        engine="ortools", routes=routes, status="ok", seconds=seconds, starts=starts
    )


@dataclass(frozen=True, slots=True)
class _Model:
    """The OR-Tools model under construction and the node arrays it is built from.

    Nodes are the visits (``0..m-1``) followed by one node per distinct depot location.
    """

    problem: RoutingProblem
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    depots: int
    dur: npt.NDArray[np.int64]
    unreachable: npt.NDArray[np.bool_]
    node_loc: npt.NDArray[np.int64]
    service: npt.NDArray[np.int64]

    @staticmethod
    def of(problem: RoutingProblem) -> _Model:
        visits, vehicles = problem.visits, problem.vehicles
        m = len(visits)
        depot_locs = sorted(
            {v.start_location for v in vehicles} | {v.end_location for v in vehicles}
        )
        depot_node = {loc: m + i for i, loc in enumerate(depot_locs)}
        node_loc = np.array([v.location for v in visits] + depot_locs, dtype=np.int64)
        n = len(node_loc)
        starts = [depot_node[v.start_location] for v in vehicles]
        ends = [depot_node[v.end_location] for v in vehicles]
        manager = pywrapcp.RoutingIndexManager(n, len(vehicles), starts, ends)
        dur = problem.durations_s[np.ix_(node_loc, node_loc)].astype(np.int64)
        service = np.zeros(n, dtype=np.int64)
        service[:m] = [v.service_s for v in visits]
        return _Model(
            problem=problem,
            manager=manager,
            routing=pywrapcp.RoutingModel(manager),
            depots=len(depot_locs),
            dur=np.minimum(dur, UNREACHABLE_S),
            unreachable=dur >= UNREACHABLE_S,
            node_loc=node_loc,
            service=service,
        )


def _add_costs(model: _Model) -> None:
    """Arc costs by the objective (unreachable arcs at the cap) and fixed vehicle costs."""
    problem, routing = model.problem, model.routing
    if problem.objective == "distance":
        assert problem.distances_m is not None
        loc = model.node_loc
        cost = problem.distances_m[np.ix_(loc, loc)].astype(np.int64)
        cost = np.where(model.unreachable, UNREACHABLE_S, np.minimum(cost, UNREACHABLE_S))
    else:
        cost = model.dur
    cost_cb = routing.RegisterTransitMatrix(cost.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cost_cb)
    for k, veh in enumerate(problem.vehicles):
        if veh.fixed_cost:
            routing.SetFixedCostOfVehicle(veh.fixed_cost, k)


def _add_time(model: _Model) -> pywrapcp.RoutingDimension:
    """The time dimension: a cumul is the start of service; shifts and windows bound it."""
    problem, routing, manager = model.problem, model.routing, model.manager
    vehicles = problem.vehicles
    horizon = max(v.shift_end for v in vehicles)
    time_cb = routing.RegisterTransitMatrix((model.dur + model.service[:, None]).tolist())
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    for k, veh in enumerate(vehicles):
        time_dim.CumulVar(routing.Start(k)).SetRange(veh.shift_start, veh.shift_end)
        time_dim.CumulVar(routing.End(k)).SetRange(veh.shift_start, veh.shift_end)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
        routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(k)))
    for i, visit in enumerate(problem.visits):
        if not visit.windows:
            continue
        index = manager.NodeToIndex(i)
        # Clip to the time axis [0, horizon]; a window wholly outside it can never be used.
        wins = [
            (max(0, a), min(horizon, b))
            for a, b in sorted(visit.windows)
            if min(horizon, b) >= max(0, a)
        ]
        if not wins:
            routing.solver().Add(routing.ActiveVar(index) == 0)
            continue
        cumul = time_dim.CumulVar(index)
        cumul.SetRange(wins[0][0], max(b for _, b in wins))
        reach = wins[0][1]
        for w_lo, w_hi in wins[1:]:
            if w_lo > reach + 1:  # a gap between two windows: not a valid start
                cumul.RemoveInterval(reach + 1, w_lo - 1)
            reach = max(reach, w_hi)
    return time_dim


def _add_breaks(model: _Model, time_dim: pywrapcp.RoutingDimension) -> None:
    """One lunch interval per vehicle; services are node visit transits it cannot overlap."""
    vehicles = model.problem.vehicles
    if not any(v.lunch is not None for v in vehicles):
        return
    routing, manager = model.routing, model.manager
    visit_transits = [int(model.service[manager.IndexToNode(idx)]) for idx in range(routing.Size())]
    solver = routing.solver()
    for k, veh in enumerate(vehicles):
        if veh.lunch is None:
            continue
        interval = solver.FixedDurationIntervalVar(
            veh.lunch.earliest_start,
            veh.lunch.latest_start,
            veh.lunch.duration_s,
            False,
            f"lunch {veh.vehicle_id}",
        )
        time_dim.SetBreakIntervalsOfVehicle([interval], k, visit_transits)


def _add_limits(model: _Model) -> None:
    """Max visits, max drive and capacity as vehicle-capacity dimensions, where any applies."""
    problem, routing = model.problem, model.routing
    visits, vehicles = problem.visits, problem.vehicles
    m, n = len(visits), len(model.node_loc)
    if any(v.max_visits is not None for v in vehicles):
        ones = [1] * m + [0] * (n - m)
        count_cb = routing.RegisterUnaryTransitVector(ones)
        caps = [v.max_visits if v.max_visits is not None else m for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(count_cb, 0, caps, True, "visits")
    if any(v.max_drive_s is not None for v in vehicles):
        drive_cb = routing.RegisterTransitMatrix(model.dur.tolist())
        big = int(model.dur.sum(dtype=np.int64).clip(max=2**40)) + 1
        caps = [v.max_drive_s if v.max_drive_s is not None else big for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(drive_cb, 0, caps, True, "drive")
    if any(v.demand for v in visits):
        demands = [v.demand for v in visits] + [0] * (n - m)
        load_cb = routing.RegisterUnaryTransitVector(demands)
        total = sum(demands) + 1
        caps = [v.capacity if v.capacity is not None else total for v in vehicles]
        routing.AddDimensionWithVehicleCapacity(load_cb, 0, caps, True, "load")


def _add_disjunctions(model: _Model) -> None:
    """Every visit may be dropped at its penalty; allowed vehicles restrict who serves it."""
    problem, routing, manager = model.problem, model.routing, model.manager
    vehicle_index = {v.vehicle_id: k for k, v in enumerate(problem.vehicles)}
    big_penalty = required_penalty(problem)
    for i, visit in enumerate(problem.visits):
        idx = manager.NodeToIndex(i)
        if visit.allowed_vehicles is not None:
            allowed = sorted(vehicle_index[v] for v in visit.allowed_vehicles)
            if allowed:
                # -1 = unperformed; the SWIG Span signature of SetAllowedVehiclesForIndex
                # rejects Python lists in this OR-Tools version.
                routing.VehicleVar(idx).SetValues([-1, *allowed])
            else:
                routing.solver().Add(routing.ActiveVar(idx) == 0)
        penalty = big_penalty if visit.penalty is None else visit.penalty
        # Arcs missing from the road network cost UNREACHABLE_S > horizon: the time dimension
        # already forbids them, no per-arc constraint needed.
        routing.AddDisjunction([idx], penalty)


def _search_parameters(
    first_solution: str, metaheuristic: str, search_s: float, solution_limit: int | None
) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, first_solution
    )
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic
    )
    params.time_limit.FromMilliseconds(int(search_s * 1000))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    return params


def _solve(model: _Model, params: Any, initial_routes: Mapping[str, Sequence[str]] | None) -> Any:
    """Search from the initial routes when given and readable, else from scratch."""
    routing, manager = model.routing, model.manager
    if initial_routes:
        visit_index = {v.visit_id: i for i, v in enumerate(model.problem.visits)}
        init = [
            [manager.NodeToIndex(visit_index[vid]) for vid in initial_routes.get(v.vehicle_id, ())]
            for v in model.problem.vehicles
        ]
        routing.CloseModelWithParameters(params)
        start_from = routing.ReadAssignmentFromRoutes(init, True)
        if start_from is not None:
            assignment = routing.SolveFromAssignmentWithParameters(start_from, params)
            if assignment is not None:
                return assignment
    return routing.SolveWithParameters(params)


def _read_routes(model: _Model, assignment: Any) -> dict[str, tuple[str, ...]]:
    routing, manager = model.routing, model.manager
    visits = model.problem.visits
    routes: dict[str, tuple[str, ...]] = {}
    for k, veh in enumerate(model.problem.vehicles):
        order: list[str] = []
        idx = assignment.Value(routing.NextVar(routing.Start(k)))
        while not routing.IsEnd(idx):
            order.append(visits[manager.IndexToNode(idx)].visit_id)
            idx = assignment.Value(routing.NextVar(idx))
        if order:
            routes[veh.vehicle_id] = tuple(order)
    return routes


def _read_starts(
    model: _Model, assignment: Any, time_dim: pywrapcp.RoutingDimension
) -> dict[str, int]:
    """Earliest start of service of every routed visit in OR-Tools' own time dimension."""
    routing, manager = model.routing, model.manager
    visits = model.problem.visits
    starts: dict[str, int] = {}
    for k in range(len(model.problem.vehicles)):
        idx = assignment.Value(routing.NextVar(routing.Start(k)))
        while not routing.IsEnd(idx):
            starts[visits[manager.IndexToNode(idx)].visit_id] = assignment.Min(
                time_dim.CumulVar(idx)
            )
            idx = assignment.Value(routing.NextVar(idx))
    return starts
