"""ETAs and feasibility of one fixed stop order: the referee for every solver's output.

No engine is trusted: :func:`~routeplanner.routing.solve.solve` re-times every route it gets back
with :func:`compute_etas`, and a rep who reorders a day gets the same timeline recomputed here.

Timing rules (the same the OR-Tools adapter models):

* the rep leaves the start location at ``shift_start`` at the earliest; travel ``i -> j`` takes
  ``durations_s[i, j]`` (with time slots: the matrix of the slot the drive departs in, so
  leaving at 08:00 can take longer than leaving at 10:00); waiting is allowed, service starts
  at the earliest instant at or after arrival that lies in one of the visit's windows (windows
  constrain the *start* of service);
* a lunch break of ``duration_s`` starting in ``[earliest_start, latest_start]`` is taken between
  two services (while driving, which then pauses, or while waiting), never during a service; it
  may also fall after the rep is back, when the day ends before the break window; an empty
  route needs no break;
* the rep must be back at ``end_location`` by ``shift_end``; total travel time (breaks excluded)
  is capped by ``max_drive_s``, the number of visits by ``max_visits``, the summed demand by
  ``capacity``.

When no break start is given the checker tries the earliest possible start in every gap and keeps
the placement with the fewest violations and then the earliest return, which is optimal: within
one gap, a later start never lets anything after it happen earlier.

If the first stop would make the rep wait, departure from home is delayed by that wait: the
timeline is the same but the rep does not sit in the car outside a closed shop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from routeplanner.errors import InputError, Problem
from routeplanner.routing.problem import (
    UNREACHABLE_S,
    BreakSpec,
    RoutingProblem,
    VehicleSpec,
    VisitSpec,
)
from routeplanner.units import format_hhmm

# Violation codes: stable names a UI or test can match on.
TIME_WINDOW = "time_window"
SHIFT_END = "shift_end"
MAX_VISITS = "max_visits"
MAX_DRIVE = "max_drive"
CAPACITY = "capacity"
NOT_ALLOWED = "vehicle_not_allowed"
BREAK = "break"
UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken constraint; ``visit_id`` is empty for route-level ones (shift end, max drive)."""

    code: str
    visit_id: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class StopTiming:
    """One visit on the timeline; ``travel_s``/``distance_m`` are for the leg that reaches it."""

    visit_id: str
    location: int
    arrival_s: int
    wait_s: int
    start_s: int
    departure_s: int
    travel_s: int
    distance_m: int
    violations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteTimeline:
    """A fixed stop order timed out: leave at ``start_s``, back at ``end_s``."""

    vehicle_id: str
    start_s: int
    end_s: int
    stops: tuple[StopTiming, ...]
    travel_s: int
    distance_m: int
    break_start_s: int | None
    break_duration_s: int
    violations: tuple[Violation, ...]

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def visit_ids(self) -> tuple[str, ...]:
        return tuple(s.visit_id for s in self.stops)

    def cost(self, objective: str) -> int:
        """The route's share of the objective of :class:`RoutingProblem` (travel s or metres)."""
        return self.distance_m if objective == "distance" else self.travel_s


def compute_etas(
    problem: RoutingProblem,
    vehicle_id: str,
    visit_ids: Sequence[str],
    *,
    break_start: int | None = None,
) -> RouteTimeline:
    """Time ``visit_ids`` in this order on vehicle ``vehicle_id`` and name every violation.

    Parameters
    ----------
    break_start
        Fix the lunch break to start at this time (a rep's own choice); ``None`` lets the checker
        place it as well as possible. Ignored for vehicles without a lunch break.

    Raises
    ------
    InputError
        Unknown vehicle or visit id, or a visit listed twice: those are caller bugs or stale
        edits, not violations of a plan.
    """
    vehicles = {v.vehicle_id: v for v in problem.vehicles}
    visits = {v.visit_id: v for v in problem.visits}
    problems: list[Problem] = []
    if vehicle_id not in vehicles:
        problems.append(Problem(problem.source, None, "vehicle", f"unknown vehicle {vehicle_id}"))
    seen: set[str] = set()
    for vid in visit_ids:
        if vid not in visits:
            problems.append(Problem(problem.source, None, "visit", f"unknown visit {vid}"))
        elif vid in seen:
            problems.append(Problem(problem.source, None, "visit", f"visit {vid} listed twice"))
        seen.add(vid)
    if problems:
        raise InputError(problems)
    return time_route(problem, vehicles[vehicle_id], [visits[v] for v in visit_ids], break_start)


def time_route(
    problem: RoutingProblem,
    vehicle: VehicleSpec,
    visits: Sequence[VisitSpec],
    break_start: int | None = None,
) -> RouteTimeline:
    """:func:`compute_etas` on already-resolved specs (used in hot loops: no id lookups)."""
    lunch = vehicle.lunch
    if lunch is None or not visits:
        return _simulate(problem, vehicle, visits, None, None)
    if break_start is not None:
        return _simulate(problem, vehicle, visits, break_start, None)
    best: RouteTimeline | None = None
    for gap in range(len(visits) + 2):  # gap k: before stop k; len(visits): last leg; +1: after
        cand = _simulate(problem, vehicle, visits, None, gap)
        if best is None or _rank(cand) < _rank(best):
            best = cand
    assert best is not None
    return best


def _rank(timeline: RouteTimeline) -> tuple[int, int, int]:
    """Fewest violations, then earliest return, then services as early as possible."""
    return len(timeline.violations), timeline.end_s, sum(s.start_s for s in timeline.stops)


def _window_start(arrival: int, windows: tuple[tuple[int, int], ...]) -> int | None:
    """Earliest start of service at or after ``arrival`` inside a window; None if all closed."""
    if not windows:
        return arrival
    best: int | None = None
    for lo, hi in windows:
        if arrival <= hi:
            start = max(arrival, lo)
            if best is None or start < best:
                best = start
    return best


@dataclass(slots=True)
class _Walk:
    """Where the forward pass is: the time, the last location, totals, and what it found."""

    t: int
    prev: int
    travel: int = 0
    distance: int = 0
    load: int = 0
    break_at: int | None = None
    stops: list[StopTiming] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)


@dataclass(slots=True)
class _Arrival:
    """One leg driven: where and when the rep arrives, and when service can start at the
    earliest (``ready``: later than arrival when a break was taken on the way or on site)."""

    location: int
    travel: int
    metres: int
    arrival: int
    ready: int
    idle_break: int = 0
    codes: list[str] = field(default_factory=list)


def _simulate(
    problem: RoutingProblem,
    vehicle: VehicleSpec,
    visits: Sequence[VisitSpec],
    fixed_break: int | None,
    gap: int | None,
) -> RouteTimeline:
    """Forward pass. Break: fixed start ``fixed_break``, or earliest start in gap ``gap``."""
    walk = _Walk(t=vehicle.shift_start, prev=vehicle.start_location)
    for k, visit in enumerate(visits):
        arrived = _drive(problem, vehicle, visits, walk, k, fixed_break, gap)
        _serve(walk, vehicle, visit, arrived)
    end = _drive(problem, vehicle, visits, walk, len(visits), fixed_break, gap).ready
    _break_after_return(walk, vehicle, visits, fixed_break, end)
    _check_route_limits(walk, vehicle, len(visits), end)
    lunch = vehicle.lunch
    return RouteTimeline(
        vehicle_id=vehicle.vehicle_id,
        start_s=vehicle.shift_start + _leave_later(walk, problem, vehicle.shift_start),
        end_s=end,
        stops=tuple(walk.stops),
        travel_s=walk.travel,
        distance_m=walk.distance,
        break_start_s=walk.break_at,
        break_duration_s=lunch.duration_s if (lunch is not None and visits) else 0,
        violations=tuple(walk.violations),
    )


def _drive(
    problem: RoutingProblem,
    vehicle: VehicleSpec,
    visits: Sequence[VisitSpec],
    walk: _Walk,
    k: int,
    fixed_break: int | None,
    gap: int | None,
) -> _Arrival:
    """Drive to stop ``k`` (``len(visits)``: the end location), taking the break on the way."""
    visit = visits[k] if k < len(visits) else None
    loc = vehicle.end_location if visit is None else visit.location
    travel, metres = problem.leg(walk.prev, loc, walk.t)
    arrived = _Arrival(loc, travel, metres, walk.t + travel, walk.t + travel)
    if travel >= UNREACHABLE_S:
        what = f"visit {visit.visit_id}" if visit is not None else "the end location"
        walk.violations.append(
            Violation(UNREACHABLE, visit.visit_id if visit else "", f"no road path to {what}")
        )
        arrived.codes.append(UNREACHABLE)
    walk.travel += travel
    walk.distance += metres
    lunch = vehicle.lunch
    if lunch is not None and walk.break_at is None and visits:
        start_b = _break_before(walk, visits, k, arrived.arrival, fixed_break, gap, lunch)
        if start_b is not None:
            _take_break(walk, arrived, lunch, start_b)
    return arrived


def _break_before(
    walk: _Walk,
    visits: Sequence[VisitSpec],
    k: int,
    arrival: int,
    fixed_break: int | None,
    gap: int | None,
    lunch: BreakSpec,
) -> int | None:
    """The start of a break taken before stop ``k``'s service, or ``None`` if not here."""
    if fixed_break is None:
        return max(lunch.earliest_start, walk.t) if gap == k else None
    # The rep's chosen start falls in this gap if it begins before service would.
    ready = arrival
    if k < len(visits):
        opens = _window_start(arrival, visits[k].windows)
        ready = arrival if opens is None else opens
    if fixed_break < walk.t and k > 0:
        prev_id = visits[k - 1].visit_id
        walk.violations.append(
            Violation(
                BREAK, prev_id, f"break at {format_hhmm(fixed_break)} overlaps the visit {prev_id}"
            )
        )
        return walk.t
    if fixed_break < ready:
        return max(fixed_break, walk.t)
    return None


def _take_break(walk: _Walk, arrived: _Arrival, lunch: BreakSpec, start_b: int) -> None:
    if start_b > lunch.latest_start or start_b < lunch.earliest_start:
        walk.violations.append(
            Violation(
                BREAK,
                "",
                f"lunch break starts at {format_hhmm(start_b)}, outside "
                f"{format_hhmm(lunch.earliest_start)}-{format_hhmm(lunch.latest_start)}",
            )
        )
    walk.break_at = start_b
    arrived.ready = max(arrived.arrival + lunch.duration_s, start_b + lunch.duration_s)
    if start_b < arrived.arrival:  # the break pauses the drive: the rep arrives later
        arrived.arrival += lunch.duration_s
    else:  # the break is taken on site, before the service
        arrived.idle_break = lunch.duration_s


def _serve(walk: _Walk, vehicle: VehicleSpec, visit: VisitSpec, arrived: _Arrival) -> None:
    """Start the service as early as its windows allow (late if they are all closed)."""
    start = _window_start(arrived.ready, visit.windows)
    if start is None:
        start = arrived.ready
        closes = max(hi for _, hi in visit.windows)
        walk.violations.append(
            Violation(
                TIME_WINDOW,
                visit.visit_id,
                f"visit {visit.visit_id} can start at {format_hhmm(start)} at the earliest, "
                f"after its last window closes ({format_hhmm(closes)})",
            )
        )
        arrived.codes.append(TIME_WINDOW)
    if visit.allowed_vehicles is not None and vehicle.vehicle_id not in visit.allowed_vehicles:
        walk.violations.append(
            Violation(
                NOT_ALLOWED,
                visit.visit_id,
                f"visit {visit.visit_id} is not allowed on {vehicle.vehicle_id}",
            )
        )
        arrived.codes.append(NOT_ALLOWED)
    walk.load += visit.demand
    departure = start + visit.service_s
    walk.stops.append(
        StopTiming(
            visit_id=visit.visit_id,
            location=arrived.location,
            arrival_s=arrived.arrival,
            wait_s=start - arrived.arrival - arrived.idle_break,
            start_s=start,
            departure_s=departure,
            travel_s=arrived.travel,
            distance_m=arrived.metres,
            violations=tuple(arrived.codes),
        )
    )
    walk.t = departure
    walk.prev = arrived.location


def _break_after_return(
    walk: _Walk,
    vehicle: VehicleSpec,
    visits: Sequence[VisitSpec],
    fixed_break: int | None,
    end: int,
) -> None:
    """A break not yet taken falls after the day's end (gap len+1, or a later fixed start)."""
    lunch = vehicle.lunch
    if lunch is None or not visits or walk.break_at is not None:
        return
    start_b = fixed_break if fixed_break is not None else max(lunch.earliest_start, end)
    if start_b < end or start_b > lunch.latest_start:
        walk.violations.append(
            Violation(
                BREAK,
                "",
                f"no room for the lunch break between {format_hhmm(lunch.earliest_start)} "
                f"and {format_hhmm(lunch.latest_start)}",
            )
        )
    walk.break_at = start_b


def _check_route_limits(walk: _Walk, vehicle: VehicleSpec, visits: int, end: int) -> None:
    found = walk.violations
    if end > vehicle.shift_end:
        found.append(
            Violation(
                SHIFT_END,
                "",
                f"back at {format_hhmm(end)}, after the shift ends at "
                f"{format_hhmm(vehicle.shift_end)}",
            )
        )
    if vehicle.max_visits is not None and visits > vehicle.max_visits:
        found.append(
            Violation(
                MAX_VISITS, "", f"{visits} visits, more than the maximum {vehicle.max_visits}"
            )
        )
    if vehicle.max_drive_s is not None and walk.travel > vehicle.max_drive_s:
        found.append(
            Violation(
                MAX_DRIVE,
                "",
                f"{walk.travel // 60} min driving, more than the maximum "
                f"{vehicle.max_drive_s // 60} min",
            )
        )
    if vehicle.capacity is not None and walk.load > vehicle.capacity:
        found.append(
            Violation(CAPACITY, "", f"load {walk.load} exceeds the capacity {vehicle.capacity}")
        )


def _leave_later(walk: _Walk, problem: RoutingProblem, leave: int) -> int:
    """Leave later instead of waiting at the first stop; returns the delay.

    With time slots the delay stops short of the next slot: leaving in another slot would
    change the drive the timeline was computed with.
    """
    stops = walk.stops
    if not stops or stops[0].wait_s <= 0:
        return 0
    if walk.break_at is not None and walk.break_at < stops[0].start_s:
        return 0
    w = stops[0].wait_s
    if problem.time_slots:
        w = max(0, min(w, problem.slot_end(leave) - 1 - leave))
    stops[0] = replace(stops[0], arrival_s=stops[0].arrival_s + w, wait_s=stops[0].wait_s - w)
    return w
