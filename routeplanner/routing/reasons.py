"""Why a visit is not in any route, in words a sales manager acts on.

The checks run from the most basic cause to the most situational one, and the first that holds
is the reason:

1. no vehicle (rep-day) is allowed for the visit -> ``NO_ALLOWED_DAY``;
2. no allowed vehicle can reach it, or get home from it, on the road network -> ``UNREACHABLE``;
3. none of its windows overlaps any allowed shift, or no allowed rep could start it inside a
   window even with an empty day (travel from home included) -> ``OUTSIDE_OPENING_HOURS``;
   a visit that fits a window but not the way home in time, or alone exceeds the drive limit, is
   ``DAY_FULL_TIME`` / ``DAY_FULL_DRIVE`` ("too far for one day");
4. otherwise it is the planned day that is full: the cheapest insertion into the planned routes
   is tried, and the constraint it breaks names the reason (``DAY_FULL_VISITS`` when the visit
   count limit or load binds, ``DAY_FULL_DRIVE`` for the drive limit, ``DAY_FULL_TIME`` for the
   working hours, windows or lunch); if an insertion is feasible the solver dropped the visit
   because it is worth less than its detour -> ``DROPPED_LOW_PRIORITY``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from routeplanner.model.plan import UnassignedReason
from routeplanner.routing import eta
from routeplanner.routing.eta import RouteTimeline, time_route
from routeplanner.routing.problem import UNREACHABLE_S, RoutingProblem, VehicleSpec, VisitSpec
from routeplanner.units import DAY, format_hhmm


@dataclass(frozen=True, slots=True, kw_only=True)
class DroppedVisit:
    """A visit in no route: reason code plus a sentence with the concrete numbers."""

    visit_id: str
    reason: UnassignedReason
    detail: str = ""


def format_time(seconds: int) -> str:
    """``HH:MM`` on a one-day axis, ``day N HH:MM`` beyond the first day of a multi-day axis."""
    if 0 <= seconds < DAY:
        return format_hhmm(seconds)
    return f"day {seconds // DAY + 1} {format_hhmm(seconds % DAY)}"


def _windows_text(visit: VisitSpec) -> str:
    if not visit.windows:
        return "any time"
    return ", ".join(f"{format_time(lo)}-{format_time(hi)}" for lo, hi in sorted(visit.windows))


def explain_dropped(
    problem: RoutingProblem,
    routes: Mapping[str, RouteTimeline],
    visit_ids: Iterable[str],
) -> list[DroppedVisit]:
    """Classify each dropped visit against the planned ``routes`` (vehicle id -> timeline)."""
    visits = {v.visit_id: v for v in problem.visits}
    return [_explain(problem, routes, visits[vid]) for vid in visit_ids]


def _explain(
    problem: RoutingProblem, routes: Mapping[str, RouteTimeline], visit: VisitSpec
) -> DroppedVisit:
    fitting = _fitting_vehicles(problem, visit)
    if isinstance(fitting, DroppedVisit):
        return fitting
    vehicle_id, tl = _best_insertion(problem, routes, visit, fitting)
    codes = {x.code for x in tl.violations}
    if not codes:
        return DroppedVisit(
            visit_id=visit.visit_id,
            reason=UnassignedReason.DROPPED_LOW_PRIORITY,
            detail=f"it would fit on {vehicle_id}, but its detour costs more than it is worth",
        )
    message = "; ".join(x.message for x in tl.violations)
    if codes & {eta.MAX_VISITS, eta.CAPACITY}:
        reason = UnassignedReason.DAY_FULL_VISITS
    elif eta.MAX_DRIVE in codes:
        reason = UnassignedReason.DAY_FULL_DRIVE
    else:
        reason = UnassignedReason.DAY_FULL_TIME
    return DroppedVisit(
        visit_id=visit.visit_id, reason=reason, detail=f"adding it to {vehicle_id}: {message}"
    )


def _fitting_vehicles(
    problem: RoutingProblem, visit: VisitSpec
) -> DroppedVisit | list[VehicleSpec]:
    """The vehicles on which the visit fits an empty day, or the reason it fits none."""
    vid = visit.visit_id
    allowed = [
        v
        for v in problem.vehicles
        if visit.allowed_vehicles is None or v.vehicle_id in visit.allowed_vehicles
    ]
    if not allowed:
        return DroppedVisit(
            visit_id=vid,
            reason=UnassignedReason.NO_ALLOWED_DAY,
            detail="the visit is allowed on none of the planned rep-days",
        )
    dur = problem.durations_s
    reachable = [
        v
        for v in allowed
        if dur[v.start_location, visit.location] < UNREACHABLE_S
        and dur[visit.location, v.end_location] < UNREACHABLE_S
    ]
    if not reachable:
        return DroppedVisit(
            visit_id=vid,
            reason=UnassignedReason.UNREACHABLE,
            detail="no road path between the rep's start or end point and this location",
        )
    overlapping = [v for v in reachable if _overlaps_shift(visit, v)]
    if not overlapping:
        shifts = sorted({(v.shift_start, v.shift_end) for v in reachable})
        hours = ", ".join(f"{format_time(a)}-{format_time(b)}" for a, b in shifts[:3])
        return DroppedVisit(
            visit_id=vid,
            reason=UnassignedReason.OUTSIDE_OPENING_HOURS,
            detail=f"visit can start {_windows_text(visit)}; working hours {hours}",
        )
    alone = [(v, time_route(problem, v, [visit])) for v in overlapping]
    fitting = [v for v, tl in alone if tl.feasible]
    if fitting:
        return fitting
    codes = {x.code for _, tl in alone for x in tl.violations}
    first = alone[0][1].violations[0].message
    if codes == {eta.MAX_DRIVE}:
        reason = UnassignedReason.DAY_FULL_DRIVE
    elif eta.TIME_WINDOW in codes:
        reason = UnassignedReason.OUTSIDE_OPENING_HOURS
    else:
        reason = UnassignedReason.DAY_FULL_TIME
    return DroppedVisit(visit_id=vid, reason=reason, detail=f"even on an empty day: {first}")


def _best_insertion(
    problem: RoutingProblem,
    routes: Mapping[str, RouteTimeline],
    visit: VisitSpec,
    fitting: Sequence[VehicleSpec],
) -> tuple[str, RouteTimeline]:
    """The vehicle and timeline of the insertion with fewest violations, then least travel
    (per vehicle, positions are tried until one is feasible)."""
    best: tuple[int, int, str, RouteTimeline] | None = None
    for veh in fitting:
        current = routes.get(veh.vehicle_id)
        order = _visits_of(problem, current)
        brk = current.break_start_s if current is not None else None
        for pos in range(len(order) + 1):
            trial = [*order[:pos], visit, *order[pos:]]
            tl = time_route(problem, veh, trial, brk)
            if brk is not None and {x.code for x in tl.violations} == {eta.BREAK}:
                # Only the old lunch slot is in the way: let the checker move it.
                tl = time_route(problem, veh, trial)
            key = (len(tl.violations), tl.travel_s)
            if best is None or key < best[:2]:
                best = (key[0], key[1], veh.vehicle_id, tl)
            if tl.feasible:
                break
    assert best is not None
    return best[2], best[3]


def _overlaps_shift(visit: VisitSpec, vehicle: VehicleSpec) -> bool:
    """Some window lets service start inside the shift and end before it ends (no travel)."""
    latest = vehicle.shift_end - visit.service_s
    if latest < vehicle.shift_start:
        return False
    if not visit.windows:
        return True
    return any(lo <= latest and hi >= vehicle.shift_start for lo, hi in visit.windows)


def _visits_of(problem: RoutingProblem, timeline: RouteTimeline | None) -> list[VisitSpec]:
    if timeline is None:
        return []
    by_id = {v.visit_id: v for v in problem.visits}
    return [by_id[s.visit_id] for s in timeline.stops]
