"""One rep's day, from domain objects to an ordered, timed route (and back to plan objects).

Choices made here, once, for every caller:

* Opening hours become start-of-service windows ``[open, close - visit length]`` per opening
  interval of the weekday (a visit must *finish* before closing); intervals shorter than the
  visit are left out. The shift is not cut into the windows: the vehicle's shift already bounds
  the route, and keeping the two apart lets the reason say which one excluded a visit.
* Accounts that cannot be visited that weekday at all (closed, forbidden weekday) never reach
  the solver; they come back as unassigned with their reason straight away.
* Every visit of a day is optional, with a penalty by value class (A > B > C), so an over-full
  day drops the least valuable visits first and never fails. Penalties are in seconds of travel:
  a C visit is kept while its detour is under ~2.8 h, which is any detour in one day; between
  classes one A outweighs three B, one B three C.
* The lunch break ``[window start, window end]`` of ``duration`` becomes a break that starts in
  ``[window start, window end - duration]``.
* Locations: 0 = where the day starts (home, or a given point), 1 = where it ends (home, or a
  given point), then the routable accounts in input order. Points are snapped first: accounts
  too far from any road (or all of them, when the rep's start or end point is) are excluded as
  unreachable before the matrix is asked for, because a road provider refuses such points. Any
  negative or huge matrix value (no path between snapped points) becomes ``UNREACHABLE_S``, so
  the router reports those visits as unreachable too.
* Rush hours (optional) become time slots: a drive departing in one takes its slot's matrix,
  computed with the road classes slowed by the slot's factors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from routeplanner.model.account import Account
from routeplanner.model.calendar import WEEKDAYS, TimeWindow
from routeplanner.model.geo import GeoPoint
from routeplanner.model.plan import DayRoute, Stop, Unassigned, UnassignedReason
from routeplanner.model.rep import Rep
from routeplanner.routing.eta import RouteTimeline, compute_etas
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import (
    UNREACHABLE_S,
    BreakSpec,
    RoutingProblem,
    TimeSlot,
    VehicleSpec,
    VisitSpec,
)
from routeplanner.routing.solve import Solution, solve
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.timeofday import TimeOfDayProfile, travel_in
from routeplanner.units import format_hhmm

VALUE_PENALTY_S = {"A": 100_000, "B": 30_000, "C": 10_000}
"""Cost of dropping a visit by account value class (unknown classes count as B)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DayProblem:
    """A rep-day as a routing problem plus what is needed to turn the answer back into a plan.

    Visit ids are account ids (one visit per account per day); the vehicle id is ``rep_id``.
    ``excluded`` lists accounts that cannot be visited on this day at all.
    """

    problem: RoutingProblem
    rep: Rep
    day: date
    account_of_visit: dict[str, str]
    excluded: tuple[Unassigned, ...]


def start_windows(
    account: Account, weekday: int, *, service_s: int | None = None
) -> tuple[tuple[int, int], ...]:
    """Start-of-service windows of ``account`` on ``weekday``: ``[open, close - visit length]``."""
    length = account.visit_duration_s if service_s is None else service_s
    return tuple(
        (w.start_s, w.end_s - length)
        for w in account.opening_hours.on(weekday)
        if w.end_s - w.start_s >= length
    )


def rep_day_vehicle(
    rep: Rep,
    shift: TimeWindow,
    *,
    vehicle_id: str,
    start_location: int,
    end_location: int,
    day_offset_s: int = 0,
) -> VehicleSpec:
    """The vehicle for one rep-day: shift, lunch to place inside its window, daily limits.

    ``day_offset_s`` shifts every time onto a multi-day axis (0 for a single-day problem).
    """
    lunch = None
    if rep.lunch is not None and rep.lunch.duration_s > 0:
        lunch = BreakSpec(
            earliest_start=day_offset_s + rep.lunch.window.start_s,
            latest_start=day_offset_s + rep.lunch.window.end_s - rep.lunch.duration_s,
            duration_s=rep.lunch.duration_s,
        )
    return VehicleSpec(
        vehicle_id=vehicle_id,
        start_location=start_location,
        end_location=end_location,
        shift_start=day_offset_s + shift.start_s,
        shift_end=day_offset_s + shift.end_s,
        lunch=lunch,
        max_drive_s=rep.max_drive_s,
        max_visits=rep.max_visits_per_day,
        rep_id=rep.rep_id,
    )


def build_day_problem(
    rep: Rep,
    day: date,
    accounts: Sequence[Account],
    travel: TravelTimeProvider,
    *,
    start: GeoPoint | None = None,
    end: GeoPoint | None = None,
    rush_hours: TimeOfDayProfile | None = None,
) -> DayProblem:
    """Build the routing problem for ``rep`` on ``day`` over ``accounts``.

    Parameters
    ----------
    start, end
        Where the rep starts and ends the day (a hotel, an office); home when ``None``.
    rush_hours
        Departure-dependent travel: each rush slot of the day's weekday becomes a time slot
        with its own matrices (``travel`` slowed per road class); ``None``: the same all day.
    """
    shift = rep.shift(day)
    routable, excluded = _visitable(rep, day, accounts)
    origin = start if start is not None else rep.home
    finish = end if end is not None else rep.home
    if routable:
        routable, unreachable = _reachable(travel, origin, finish, routable, day)
        excluded.extend(unreachable)
    durations, distances = _day_matrices(travel, origin, finish, routable)
    slots = _rush_slots(travel, origin, finish, routable, day, rush_hours)
    vehicles: tuple[VehicleSpec, ...] = ()
    if shift is not None:
        vehicles = (
            rep_day_vehicle(rep, shift, vehicle_id=rep.rep_id, start_location=0, end_location=1),
        )
    visits = tuple(
        VisitSpec(
            visit_id=acc.account_id,
            location=2 + k,
            service_s=acc.visit_duration_s,
            windows=windows,
            penalty=VALUE_PENALTY_S.get(acc.value_class.upper(), VALUE_PENALTY_S["B"]),
            account_id=acc.account_id,
        )
        for k, (acc, windows) in enumerate(routable)
    )
    problem = RoutingProblem(
        visits=visits,
        vehicles=vehicles,
        durations_s=durations,
        distances_m=distances,
        objective="duration",
        source=f"{rep.rep_id} {day}",
        time_slots=slots,
    )
    return DayProblem(
        problem=problem,
        rep=rep,
        day=day,
        account_of_visit={v.visit_id: v.account_id for v in visits},
        excluded=tuple(excluded),
    )


_Routable = list[tuple[Account, tuple[tuple[int, int], ...]]]


def _left_out(account: Account, day: date, reason: UnassignedReason, detail: str) -> Unassigned:
    return Unassigned(
        visit_id=account.account_id,
        account_id=account.account_id,
        reason=reason,
        detail=detail,
        day=day,
    )


def _visitable(
    rep: Rep, day: date, accounts: Sequence[Account]
) -> tuple[_Routable, list[Unassigned]]:
    """Accounts with start windows on ``day``; the others with the reason they cannot be seen."""
    weekday = day.weekday()
    off = rep.shift(day) is None
    routable: _Routable = []
    excluded: list[Unassigned] = []
    for acc in accounts:
        windows = () if off else start_windows(acc, weekday)
        if off:
            why = (UnassignedReason.NO_ALLOWED_DAY, f"{rep.name or rep.rep_id} is off on {day}")
        elif weekday in acc.forbidden_weekdays:
            why = (
                UnassignedReason.NO_ALLOWED_DAY,
                f"visits are not allowed on {WEEKDAYS[weekday]}",
            )
        elif windows:
            routable.append((acc, windows))
            continue
        elif acc.opening_hours.is_open(weekday):
            why = (
                UnassignedReason.OUTSIDE_OPENING_HOURS,
                f"open {', '.join(str(w) for w in acc.opening_hours.on(weekday))}, "
                f"too short for a {acc.visit_duration_s // 60}-min visit",
            )
        else:
            why = (UnassignedReason.OUTSIDE_OPENING_HOURS, f"closed on {WEEKDAYS[weekday]}")
        excluded.append(_left_out(acc, day, *why))
    return routable, excluded


def _reachable(
    travel: TravelTimeProvider,
    origin: GeoPoint,
    finish: GeoPoint,
    routable: _Routable,
    day: date,
) -> tuple[_Routable, list[Unassigned]]:
    """Snap first: a road provider refuses to route points far from any road, so those
    accounts (all of them, when the day's start or end is far) leave with their reason."""
    ids = ["start", "end", *(acc.account_id for acc, _ in routable)]
    points = [origin, finish, *(acc.location for acc, _ in routable)]
    report = travel.snap(list(zip(ids, points, strict=True)))
    snaps = report.snaps
    limit = f"(limit {report.max_snap_m:.0f} m)"
    ends_far = [s for s in snaps[:2] if not s.reachable]
    kept: _Routable = []
    excluded: list[Unassigned] = []
    for (acc, windows), snap in zip(routable, snaps[2:], strict=True):
        if ends_far or not snap.reachable:
            far = ends_far[0] if ends_far else snap
            what = "this account" if far is snap else f"the rep's {far.point_id} point"
            detail = f"{what} is {far.distance_m:.0f} m from the nearest road {limit}"
            excluded.append(_left_out(acc, day, UnassignedReason.UNREACHABLE, detail))
        else:
            kept.append((acc, windows))
    return kept, excluded


def _day_matrices(
    travel: TravelTimeProvider, origin: GeoPoint, finish: GeoPoint, routable: _Routable
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Durations and distances between start, end and the routable accounts."""
    if not routable:
        durations = np.zeros((2, 2), dtype=np.int64)
        return durations, durations.copy()
    matrix = travel.matrix([origin, finish, *(acc.location for acc, _ in routable)])
    durations = matrix.durations_s.astype(np.int64).copy()
    distances = matrix.distances_m.astype(np.int64).copy()
    # Whatever a provider writes for "no path" (negative, huge), the router sees one value.
    durations[(durations < 0) | (durations >= UNREACHABLE_S)] = UNREACHABLE_S
    return durations, distances


def _rush_slots(
    travel: TravelTimeProvider,
    origin: GeoPoint,
    finish: GeoPoint,
    routable: _Routable,
    day: date,
    rush_hours: TimeOfDayProfile | None,
) -> tuple[TimeSlot, ...]:
    """One time slot per rush period of the day, with the matrices of ``travel`` slowed then."""
    if rush_hours is None or not routable:
        return ()
    slots = []
    for slot in rush_hours.slots(day.weekday()):
        if slot.free:
            continue
        durations, distances = _day_matrices(travel_in(travel, slot), origin, finish, routable)
        slots.append(
            TimeSlot(
                start_s=slot.start_s,
                end_s=slot.end_s,
                durations_s=durations,
                distances_m=distances,
            )
        )
    return tuple(slots)


def to_day_route(
    timeline: RouteTimeline | None,
    *,
    rep_id: str,
    day: date,
    account_of_visit: dict[str, str],
    shift_start: int = 0,
    day_offset_s: int = 0,
) -> DayRoute:
    """Turn a checked timeline into a :class:`DayRoute`; ``None`` gives an empty day.

    ``day_offset_s`` is subtracted from every time, so a multi-day problem (whose axis starts at
    midnight of its first day) yields times after local midnight of ``day``.
    """
    if timeline is None:
        return DayRoute(rep_id=rep_id, day=day, start_s=shift_start, end_s=shift_start)
    off = day_offset_s
    stops = tuple(
        Stop(
            visit_id=s.visit_id,
            account_id=account_of_visit.get(s.visit_id, s.visit_id),
            arrival_s=s.arrival_s - off,
            start_s=s.start_s - off,
            departure_s=s.departure_s - off,
            travel_s=s.travel_s,
            distance_m=s.distance_m,
            wait_s=s.wait_s,
            violations=s.violations,
        )
        for s in timeline.stops
    )
    # A lunch the checker put after the return home is not part of the route.
    in_route = timeline.break_start_s is not None and timeline.break_start_s < timeline.end_s
    return DayRoute(
        rep_id=rep_id,
        day=day,
        start_s=timeline.start_s - off,
        end_s=timeline.end_s - off,
        stops=stops,
        travel_s=timeline.travel_s,
        distance_m=timeline.distance_m,
        break_start_s=timeline.break_start_s - off
        if in_route and timeline.break_start_s is not None
        else None,
        break_duration_s=timeline.break_duration_s if in_route else 0,
    )


def day_result(day_problem: DayProblem, solution: Solution) -> tuple[DayRoute, list[Unassigned]]:
    """Plan objects for a solved :class:`DayProblem`: the route and every visit left out."""
    rep = day_problem.rep
    shift = rep.shift(day_problem.day)
    route = to_day_route(
        solution.route_of(rep.rep_id),
        rep_id=rep.rep_id,
        day=day_problem.day,
        account_of_visit=day_problem.account_of_visit,
        shift_start=shift.start_s if shift is not None else 0,
    )
    unassigned = list(day_problem.excluded)
    unassigned.extend(
        Unassigned(
            visit_id=d.visit_id,
            account_id=day_problem.account_of_visit.get(d.visit_id, d.visit_id),
            reason=d.reason,
            detail=d.detail,
            day=day_problem.day,
        )
        for d in solution.dropped
    )
    return route, unassigned


def optimise_day(
    rep: Rep,
    day: date,
    accounts: Sequence[Account],
    travel: TravelTimeProvider,
    *,
    start: GeoPoint | None = None,
    end: GeoPoint | None = None,
    params: SolveParams | None = None,
    initial_order: Sequence[str] | None = None,
    rush_hours: TimeOfDayProfile | None = None,
) -> tuple[DayRoute, list[Unassigned]]:
    """Best order for ``rep``'s visits to ``accounts`` on ``day``, and why any were left out.

    ``initial_order`` (account ids, e.g. a scheduler's own sequence or yesterday's order) is a
    floor: it is checked, repaired if needed, and the result is never worse than it. Ids of
    accounts that cannot be visited that day at all are ignored in it. With ``rush_hours``,
    each drive takes as long as it does when it departs (:func:`build_day_problem`).
    """
    day_problem = build_day_problem(
        rep, day, accounts, travel, start=start, end=end, rush_hours=rush_hours
    )
    initial = None
    if initial_order is not None and day_problem.problem.vehicles:
        routable = {v.visit_id for v in day_problem.problem.visits}
        initial = {rep.rep_id: [a for a in initial_order if a in routable]}
    solution = solve(day_problem.problem, params or SolveParams(), initial_routes=initial)
    return day_result(day_problem, solution)


def retime_day(
    day_problem: DayProblem, account_ids: Sequence[str], *, break_start: int | None = None
) -> tuple[DayRoute, tuple[str, ...]]:
    """Recompute a day after the rep reorders it: ETAs in the given order, violations named.

    Returns the route (each stop carries its violation codes) and the route's violation
    messages; an empty tuple means the new order is feasible. ``break_start`` fixes the lunch
    start the rep chose; ``None`` places it as well as possible.

    Raises
    ------
    InputError
        An account that is not part of this day's problem, or listed twice.
    """
    rep = day_problem.rep
    timeline = compute_etas(
        day_problem.problem, rep.rep_id, list(account_ids), break_start=break_start
    )
    route = to_day_route(
        timeline,
        rep_id=rep.rep_id,
        day=day_problem.day,
        account_of_visit=day_problem.account_of_visit,
    )
    return route, tuple(v.message for v in timeline.violations)


def describe_route(route: DayRoute, names: Mapping[str, str] | None = None) -> list[str]:
    """Plain-text lines of a day (CLI, logs): one per stop with arrival, start and departure.

    ``names`` maps account ids to display names; a rep reads names, not ids.
    """
    lines = [f"{route.rep_id} {route.day}: leave {format_hhmm(route.start_s)}"]
    for k, s in enumerate(route.stops, start=1):
        wait = f" (wait {s.wait_s // 60} min)" if s.wait_s >= 60 else ""
        lines.append(
            f"{k:3}. {_label(s.account_id, names):32} arrive {format_hhmm(s.arrival_s)}{wait} "
            f"start {format_hhmm(s.start_s)} leave {format_hhmm(s.departure_s)} "
            f"({s.travel_s // 60} min, {s.distance_m / 1000:.1f} km)"
        )
    if route.break_start_s is not None and route.break_duration_s:
        lines.append(
            f"     lunch {format_hhmm(route.break_start_s)}-"
            f"{format_hhmm(route.break_start_s + route.break_duration_s)}"
        )
    lines.append(
        f"     back {format_hhmm(route.end_s)}: {len(route.stops)} visits, "
        f"{route.travel_s // 60} min driving, {route.distance_m / 1000:.1f} km"
    )
    return lines


def _label(account_id: str, names: Mapping[str, str] | None) -> str:
    name = (names or {}).get(account_id)
    return f"{name[:24]} ({account_id})" if name else account_id
