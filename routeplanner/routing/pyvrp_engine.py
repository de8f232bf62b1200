"""PyVRP engine: the stronger search on time windows (benchmarks/results/routing.md), where it fits.

What maps exactly onto PyVRP 0.14:

* one PyVRP location per client copy, plus the vehicles' start/end locations as depots; matrices
  are cut out of the problem's with numpy (no Python loop per edge);
* several windows per visit: one client per window in a mutually exclusive client group, so
  PyVRP serves exactly (or, when optional, at most) one copy;
* optional visits: ``required=False`` with ``prize = penalty``: leaving the visit out costs the
  prize it would have collected, the same trade-off as the OR-Tools disjunction;
* shift: vehicle type ``tw_early``/``tw_late``; max visits: an extra load dimension with one unit
  per visit; capacity: the first load dimension;
* allowed vehicles: one routing profile per distinct set of forbidden visits, whose matrices make
  the forbidden clients unreachable (too slow and too costly for PyVRP to use);
* max drive with objective ``duration``: the "distance" PyVRP sees is travel time, so
  ``max_distance`` caps driving exactly.

Many windows per visit (a visit allowed on every day of a multi-day horizon) mean many copies,
which crowd PyVRP's granular neighbourhoods; above :data:`MAX_COPIES_PER_VISIT` the problem is
left to OR-Tools, which keeps several windows as one multi-interval domain.

What does not map, and how it is handled: lunch breaks are approximated by shortening the shift
by the break's length, and max drive under objective ``distance`` is ignored. Results from such
relaxed models are only candidates: the router re-times every route with eta.py (which places the
break) and repairs or discards routes that break a constraint. :func:`pyvrp_fit` says which case
applies, or why PyVRP is not used at all (too many profiles to hold in memory).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from routeplanner.routing.problem import UNREACHABLE_S, RoutingProblem, VehicleSpec
from routeplanner.routing.result import EngineResult

MAX_MATRIX_ENTRIES = 40_000_000
"""Above this many matrix cells over all profiles PyVRP is skipped (about 640 MB of int64)."""
MAX_COPIES_PER_VISIT = 2.5
"""Above this many windows per visit on average PyVRP is skipped: the copies crowd its
neighbourhoods and OR-Tools does better (measured in benchmarks/results/routing.md)."""
_FORBIDDEN = UNREACHABLE_S


@dataclass(frozen=True, slots=True)
class PyVRPFit:
    """Whether PyVRP can take the problem, and whether its answer is exact or a relaxation."""

    usable: bool
    exact: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _Layout:
    """Client copies (visit, window) worth offering, and vehicles grouped into profiles."""

    copies: list[tuple[int, tuple[int, int]]]
    profile_of_vehicle: list[int]
    forbidden: list[npt.NDArray[np.bool_]]  # per profile: copies it must not serve


def _layout(problem: RoutingProblem) -> _Layout:
    """Prune useless window copies and merge vehicles into as few profiles as is exact.

    A copy whose window overlaps no allowed vehicle's shift can never be served and is left
    out. A vehicle ``v`` must be kept off the copies it is not allowed to serve but could reach
    in time (``F_v``); copies outside its shift are "don't care" for it. Vehicles share a profile
    when no member is allowed (and in time) for a copy another member must avoid; for rep-days
    that means one profile per rep instead of one per rep-day.
    """
    big = int(np.iinfo(np.int64).max)
    copies: list[tuple[int, tuple[int, int]]] = []
    vehicles = problem.vehicles
    starts = np.array([v.shift_start for v in vehicles], dtype=np.int64)
    ends = np.array([v.shift_end for v in vehicles], dtype=np.int64)
    ids = [v.vehicle_id for v in vehicles]
    overlap_rows: list[npt.NDArray[np.bool_]] = []
    allowed_rows: list[npt.NDArray[np.bool_]] = []
    for i, visit in enumerate(problem.visits):
        if visit.allowed_vehicles is None:
            allowed = np.ones(len(vehicles), dtype=bool)
        else:
            allowed = np.array([vid in visit.allowed_vehicles for vid in ids], dtype=bool)
        for lo, hi in sorted(visit.windows) or [(0, big)]:
            overlap = (lo <= ends - visit.service_s) & (hi >= starts)
            if (overlap & allowed).any():
                copies.append((i, (lo, hi)))
                overlap_rows.append(overlap)
                allowed_rows.append(allowed)
    n = len(copies)
    o_mat = np.array(overlap_rows, dtype=bool).reshape(n, len(vehicles)).T  # vehicle x copy
    a_mat = np.array(allowed_rows, dtype=bool).reshape(n, len(vehicles)).T
    profile_of: list[int] = []
    forbidden: list[npt.NDArray[np.bool_]] = []
    needs: list[npt.NDArray[np.bool_]] = []
    for k in range(len(vehicles)):
        f_v = ~a_mat[k] & o_mat[k]
        s_v = a_mat[k] & o_mat[k]
        for p, (f_p, s_p) in enumerate(zip(forbidden, needs, strict=True)):
            if not (f_p & s_v).any() and not (f_v & s_p).any():
                forbidden[p] = f_p | f_v
                needs[p] = s_p | s_v
                profile_of.append(p)
                break
        else:
            profile_of.append(len(forbidden))
            forbidden.append(f_v)
            needs.append(s_v)
    return _Layout(copies, profile_of, forbidden)


def pyvrp_fit(problem: RoutingProblem, layout: _Layout | None = None) -> PyVRPFit:
    """Decide before solving, so a caller can split the time budget up front."""
    if not problem.vehicles or not problem.visits:
        return PyVRPFit(usable=False, exact=False, reason="nothing to route")
    layout = layout or _layout(problem)
    if not layout.copies:
        return PyVRPFit(usable=False, exact=False, reason="no visit fits any shift")
    visits_offered = len({i for i, _ in layout.copies})
    per_visit = len(layout.copies) / visits_offered
    if per_visit > MAX_COPIES_PER_VISIT:
        return PyVRPFit(
            usable=False,
            exact=False,
            reason=f"{per_visit:.1f} windows per visit; OR-Tools takes them natively",
        )
    size = len(layout.copies) + len(problem.vehicles) * 2
    profiles = len(layout.forbidden)
    if profiles * size * size * 2 > MAX_MATRIX_ENTRIES:
        return PyVRPFit(usable=False, exact=False, reason=f"{profiles} profiles too large")
    relaxed = []
    if any(v.lunch is not None for v in problem.vehicles):
        relaxed.append("lunch breaks")
    if problem.objective == "distance" and any(v.max_drive_s is not None for v in problem.vehicles):
        relaxed.append("max drive under a distance objective")
    if relaxed:
        return PyVRPFit(usable=True, exact=False, reason="relaxed: " + ", ".join(relaxed))
    return PyVRPFit(usable=True, exact=True, reason="exact")


def solve_pyvrp(
    problem: RoutingProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    iteration_limit: int | None = None,
) -> EngineResult:
    """Solve with PyVRP's iterated local search; see the module docstring for the mapping."""
    began = time.perf_counter()
    layout = _layout(problem)
    fit = pyvrp_fit(problem, layout)
    if not fit.usable:
        return EngineResult(engine="pyvrp", status="not_applicable", detail=fit.reason)
    vehicles = problem.vehicles
    depot_locs = sorted({v.start_location for v in vehicles} | {v.end_location for v in vehicles})
    clients = _clients(problem, layout, len(depot_locs))
    dist, dur = _matrices(problem, depot_locs + clients.location)
    dist_mats, dur_mats = _profile_matrices(layout, clients, len(depot_locs), dist, dur)
    types = _vehicle_types(problem, layout, {loc: i for i, loc in enumerate(depot_locs)})
    data = pyvrp.ProblemData(
        [pyvrp.Location(0.0, 0.0) for _ in range(len(depot_locs) + len(clients.clients))],
        clients.clients,
        [pyvrp.Depot(location=i) for i in range(len(depot_locs))],
        types.types,
        dist_mats,  # type: ignore[arg-type]  # pyvrp's stub spells the shape type oddly
        dur_mats,  # type: ignore[arg-type]
        groups=clients.groups,
    )
    criteria: list[StoppingCriterion] = [MaxRuntime(max(0.01, time_limit_s))]
    if iteration_limit is not None:
        criteria.append(MaxIterations(iteration_limit))
    stop = MultipleCriteria(criteria) if len(criteria) > 1 else criteria[0]
    best = pyvrp.solve(data, stop, seed=seed, collect_stats=False, display=False).best
    routes: dict[str, tuple[str, ...]] = {}
    used = [0] * len(types.types)
    for route in best.routes():
        t = route.vehicle_type()
        vid = types.vehicle_ids[t][used[t]]
        used[t] += 1
        order = tuple(problem.visits[clients.visit[a.idx]].visit_id for a in route if a.is_client())
        if order:
            routes[vid] = order
    return EngineResult(
        engine="pyvrp",
        routes=routes,
        status="ok" if best.is_feasible() else "infeasible",
        seconds=time.perf_counter() - began,
        detail=fit.reason,
    )


@dataclass(frozen=True, slots=True)
class _Clients:
    """PyVRP clients, one per window copy, grouped by visit (in first-copy order)."""

    clients: list[pyvrp.Client]
    groups: list[pyvrp.ClientGroup]
    visit: list[int]  # client index -> visit index
    location: list[int]  # client index -> problem location
    by_visit: dict[int, list[tuple[int, int]]]  # visit index -> its windows, in client order


def _clients(problem: RoutingProblem, layout: _Layout, n_depots: int) -> _Clients:
    """One client per copy; a visit with several copies is a mutually exclusive group."""
    visits = problem.visits
    use_demand = any(v.demand for v in visits)
    use_count = any(v.max_visits is not None for v in problem.vehicles)
    out = _Clients(clients=[], groups=[], visit=[], location=[], by_visit={})
    for i, window in layout.copies:
        out.by_visit.setdefault(i, []).append(window)
    for i, wins in out.by_visit.items():
        visit = visits[i]
        group = len(out.groups) if len(wins) > 1 else None
        members = []
        load = ([visit.demand] if use_demand else []) + ([1] if use_count else [])
        for lo, hi in wins:
            members.append(len(out.clients))
            out.clients.append(
                pyvrp.Client(
                    location=n_depots + len(out.clients),
                    delivery=load,
                    service_duration=visit.service_s,
                    tw_early=max(0, lo),
                    tw_late=hi,
                    prize=0 if visit.penalty is None else visit.penalty,
                    required=visit.penalty is None and group is None,
                    group=group,
                    name=visit.visit_id,
                )
            )
            out.visit.append(i)
            out.location.append(visit.location)
        if group is not None:
            out.groups.append(pyvrp.ClientGroup(members, required=visit.penalty is None))
    return out


def _matrices(
    problem: RoutingProblem, locations: list[int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distance and duration between PyVRP locations; the distance is travel time unless the
    objective is distance, so ``max_distance`` can cap driving."""
    locs = np.array(locations, dtype=np.int64)
    dur = np.minimum(problem.durations_s[np.ix_(locs, locs)], _FORBIDDEN).astype(np.int64)
    if problem.objective == "distance":
        assert problem.distances_m is not None
        dist = problem.distances_m[np.ix_(locs, locs)].astype(np.int64)
        dist = np.where(dur >= _FORBIDDEN, _FORBIDDEN, np.minimum(dist, _FORBIDDEN))
    else:
        dist = dur.copy()
    return dist, dur


def _profile_matrices(
    layout: _Layout,
    clients: _Clients,
    n_depots: int,
    dist: npt.NDArray[np.int64],
    dur: npt.NDArray[np.int64],
) -> tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.int64]]]:
    """Per profile, the matrices with its forbidden clients made unreachable."""
    # Clients follow ``by_visit`` order, so layout copies are mapped to client indices first.
    copy_client = {
        copy: c
        for c, copy in enumerate((i, w) for i, wins in clients.by_visit.items() for w in wins)
    }
    layout_cols = np.array([n_depots + copy_client[copy] for copy in layout.copies], dtype=np.int64)
    dist_mats: list[npt.NDArray[np.int64]] = []
    dur_mats: list[npt.NDArray[np.int64]] = []
    for mask in layout.forbidden:
        cols = layout_cols[mask]
        d1, d2 = dist.copy(), dur.copy()
        if cols.size:
            d1[:, cols] = _FORBIDDEN
            d2[:, cols] = _FORBIDDEN
            d1[cols, cols] = 0
            d2[cols, cols] = 0
        dist_mats.append(d1)
        dur_mats.append(d2)
    return dist_mats, dur_mats


@dataclass(frozen=True, slots=True)
class _VehicleTypes:
    types: list[pyvrp.VehicleType]
    vehicle_ids: list[list[str]]  # per type, the vehicles it stands for, in problem order


def _vehicle_types(
    problem: RoutingProblem, layout: _Layout, depot_index: dict[int, int]
) -> _VehicleTypes:
    """One vehicle type per distinct vehicle shape and profile, so identical vehicles (a
    Solomon fleet) become one type with ``num_available > 1``."""
    by_shape: dict[tuple[object, ...], int] = {}
    specs: list[VehicleSpec] = []
    ids: list[list[str]] = []
    profiles: list[int] = []
    for k, veh in enumerate(problem.vehicles):
        profile = layout.profile_of_vehicle[k]
        shape = (
            veh.start_location,
            veh.end_location,
            veh.shift_start,
            veh.shift_end,
            veh.lunch,
            veh.max_drive_s,
            veh.max_visits,
            veh.capacity,
            veh.fixed_cost,
            profile,
        )
        if shape not in by_shape:
            by_shape[shape] = len(specs)
            specs.append(veh)
            ids.append([])
            profiles.append(profile)
        ids[by_shape[shape]].append(veh.vehicle_id)
    types = [
        _vehicle_type(problem, veh, len(ids[t]), profiles[t], depot_index)
        for t, veh in enumerate(specs)
    ]
    return _VehicleTypes(types=types, vehicle_ids=ids)


def _vehicle_type(
    problem: RoutingProblem,
    veh: VehicleSpec,
    count: int,
    profile: int,
    depot_index: dict[int, int],
) -> pyvrp.VehicleType:
    """The shift is shortened by the lunch break, the relaxation the module docstring names."""
    visits = problem.visits
    cap: list[int] = []
    if any(v.demand for v in visits):
        total_demand = sum(v.demand for v in visits) + 1
        cap.append(veh.capacity if veh.capacity is not None else total_demand)
    if any(v.max_visits is not None for v in problem.vehicles):
        cap.append(veh.max_visits if veh.max_visits is not None else len(visits))
    tw_late = veh.shift_end - (veh.lunch.duration_s if veh.lunch is not None else 0)
    max_distance = np.iinfo(np.int64).max
    if veh.max_drive_s is not None and problem.objective == "duration":
        max_distance = veh.max_drive_s
    return pyvrp.VehicleType(
        num_available=count,
        capacity=cap,
        start_depot=depot_index[veh.start_location],
        end_depot=depot_index[veh.end_location],
        fixed_cost=veh.fixed_cost,
        tw_early=veh.shift_start,
        tw_late=max(veh.shift_start, tw_late),
        max_distance=int(max_distance),
        profile=profile,
        name=veh.vehicle_id,
    )
