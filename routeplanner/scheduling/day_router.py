"""One rep-day of a schedule: visit ids, and the routers that time the visits chosen for a day.

The scheduler picks the days; a day router turns each day's visits into a timed route and says
which visits did not fit. :func:`sequence_day_router` times the search's own order;
:func:`default_day_router` also runs the routing core and keeps the better of the two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from routeplanner.model import (
    Account,
    DayRoute,
    LunchBreak,
    Rep,
    Stop,
    TimeWindow,
    Unassigned,
    UnassignedReason,
)
from routeplanner.routing.day import optimise_day, rep_day_vehicle
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import RoutingProblem, VisitSpec
from routeplanner.scheduling.calendar import visit_windows
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.timeofday import TimeOfDayProfile

DROP_COST_S = 36_000.0
"""Objective cost of leaving one required visit out: ten hours of driving, i.e. never cheaper."""
DAY_ROUTE_S = 0.3
"""Routing-core seconds per rep-day for the final routes (the days are small and pre-ordered)."""


def visit_id(account_id: str, day: date) -> str:
    """Stable id of a visit: an account is seen at most once a day; unmoved visits keep it."""
    return f"{account_id}@{day.isoformat()}"


def unplaced(
    account_id: str,
    days: Iterable[date],
    reason: UnassignedReason,
    detail: str = "",
) -> list[Unassigned]:
    """One :class:`Unassigned` entry per visit of ``account_id`` that could not be placed.

    ``days`` are the visits' target days (or the day a router dropped them from); the visit id
    is the one the visit would have had on that day.
    """
    return [
        Unassigned(
            visit_id=visit_id(account_id, day),
            account_id=account_id,
            reason=reason,
            detail=detail,
            day=day,
        )
        for day in days
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class DayJob:
    """One rep-day to route: ``visits`` in the suggested order; index 0 of the matrices = home."""

    rep: Rep
    day: date
    visits: tuple[Account, ...]
    durations_s: npt.NDArray[np.int64]
    distances_m: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class DayResult:
    route: DayRoute
    unassigned: tuple[Unassigned, ...] = ()


DayRouter = Callable[[DayJob], DayResult]


def build_day_problem(job: DayJob) -> RoutingProblem:
    """The routing-core problem for one rep-day: lets ``routing.solve`` act as the day router.

    Times are seconds after local midnight; a window bounds the *start* of a visit, so each
    opening interval's end is reduced by the visit length.
    """
    rep, day = job.rep, job.day
    shift = rep.shift(day)
    assert shift is not None
    visits = []
    for i, acc in enumerate(job.visits, start=1):
        wins = tuple(
            (w.start_s, w.end_s - acc.visit_duration_s) for w in visit_windows(acc, rep, day)
        )
        visits.append(
            VisitSpec(
                visit_id=visit_id(acc.account_id, day),
                location=i,
                service_s=acc.visit_duration_s,
                windows=wins,
                penalty=int(DROP_COST_S),
                account_id=acc.account_id,
                demand=1,
            )
        )
    vehicle = rep_day_vehicle(
        rep, shift, vehicle_id=f"{rep.rep_id}@{day.isoformat()}", start_location=0, end_location=0
    )
    return RoutingProblem(
        visits=tuple(visits),
        vehicles=(vehicle,),
        durations_s=job.durations_s,
        distances_m=job.distances_m,
        source=f"{rep.rep_id} {day.isoformat()}",
    )


def sequence_day_router(job: DayJob) -> DayResult:
    """Time the day: improve the order for opening hours, wait where needed, drop what won't fit.

    The periodic search optimised the order for driving only; here single visits are relocated
    while that places more visits or shortens the day (an account opening at 10:00 goes later
    instead of making the rep wait), then the order is turned into a timetable. The rep leaves
    home just in time for the first visit rather than waiting on the doorstep.
    """
    windows = [
        tuple((w.start_s, w.end_s) for w in visit_windows(acc, job.rep, job.day))
        for acc in job.visits
    ]
    order = list(range(len(job.visits)))
    best = _timetable(job, order, windows)
    budget = ROUTER_EVALUATIONS
    improved = best.needs_work
    while improved and len(order) > 1 and budget > 0:
        improved = False
        for i in range(len(order)):
            for j in range(len(order)):
                if i == j or budget <= 0:
                    continue
                cand = order[:i] + order[i + 1 :]
                cand.insert(j, order[i])
                budget -= 1
                got = _timetable(job, cand, windows)
                if got.key < best.key:
                    order, best, improved = cand, got, True
                    break
    return best.result


def fixed_order_day_router(job: DayJob) -> DayResult:
    """Time the day's visits in exactly the given order (plan repair: a day that gains or
    loses a visit keeps the order of the others); visits that do not fit are dropped."""
    windows = [
        tuple((w.start_s, w.end_s) for w in visit_windows(acc, job.rep, job.day))
        for acc in job.visits
    ]
    return _timetable(job, list(range(len(job.visits))), windows).result


ROUTER_EVALUATIONS = 3000
"""Cap on timetables tried per day by :func:`sequence_day_router` (keeps big days fast)."""


@dataclass(slots=True)
class _Timed:
    key: tuple[int, int]
    result: DayResult
    needs_work: bool


@dataclass(slots=True)
class _Clock:
    """The rep's progress through a day being timed: the time, where they are, what it took."""

    t: int
    here: int = 0
    drive: int = 0
    distance: int = 0
    lunch_at: int | None = None


def _timetable(
    job: DayJob, order: list[int], windows: Sequence[tuple[tuple[int, int], ...]]
) -> _Timed:
    """Time the visits in ``order``; a visit that does not fit is dropped with its reason."""
    rep, day = job.rep, job.day
    shift = rep.shift(day)
    assert shift is not None
    lunch = rep.lunch if rep.lunch is not None and rep.lunch.duration_s > 0 else None
    clock = _Clock(t=shift.start_s)
    stops: list[Stop] = []
    dropped: list[Unassigned] = []
    for k in order:
        got = _next_stop(job, shift, lunch, clock, k, windows[k], len(stops))
        if isinstance(got, Stop):
            stops.append(got)
        else:
            dropped.extend(unplaced(job.visits[k].account_id, [day], *got))
    route = _close_day(job, shift, lunch, clock, stops)
    span = route.end_s - route.start_s if stops else 0
    result = DayResult(route=route, unassigned=tuple(dropped))
    waits = any(s.wait_s > 0 for s in stops)
    return _Timed(key=(len(dropped), span), result=result, needs_work=bool(dropped) or waits)


def _next_stop(
    job: DayJob,
    shift: TimeWindow,
    lunch: LunchBreak | None,
    clock: _Clock,
    k: int,
    windows: tuple[tuple[int, int], ...],
    placed: int,
) -> Stop | tuple[UnassignedReason, str]:
    """Drive to visit ``k`` and serve it (the clock moves on), or say why it does not fit.

    Lunch is taken before the drive once the visit would end after the latest lunch start, even
    if the visit then turns out not to fit: the rep still has lunch at that point of the day.
    """
    acc = job.visits[k]
    i = k + 1
    travel = int(job.durations_s[clock.here, i])
    arrive = clock.t + travel
    if lunch is not None and clock.lunch_at is None:
        latest = lunch.window.end_s - lunch.duration_s
        if arrive + acc.visit_duration_s > latest:
            clock.lunch_at = max(clock.t, lunch.window.start_s)
            clock.t = clock.lunch_at + lunch.duration_s
            arrive = clock.t + travel
    start = next(
        (max(arrive, lo) for lo, hi in windows if max(arrive, lo) + acc.visit_duration_s <= hi),
        None,
    )
    back = int(job.durations_s[i, 0])
    rep = job.rep
    if start is None:
        return (
            UnassignedReason.OUTSIDE_OPENING_HOURS,
            "arrival is after the opening hours of the day",
        )
    if start + acc.visit_duration_s + back > shift.end_s:
        return UnassignedReason.DAY_FULL_TIME, ""
    if rep.max_drive_s is not None and clock.drive + travel + back > rep.max_drive_s:
        return UnassignedReason.DAY_FULL_DRIVE, ""
    if placed >= rep.max_visits_per_day:
        return UnassignedReason.DAY_FULL_VISITS, ""
    metres = int(job.distances_m[clock.here, i])
    clock.drive += travel
    clock.distance += metres
    clock.t = start + acc.visit_duration_s
    clock.here = i
    return Stop(
        visit_id=visit_id(acc.account_id, job.day),
        account_id=acc.account_id,
        arrival_s=arrive,
        start_s=start,
        departure_s=start + acc.visit_duration_s,
        travel_s=travel,
        distance_m=metres,
        wait_s=start - arrive,
    )


def _close_day(
    job: DayJob,
    shift: TimeWindow,
    lunch: LunchBreak | None,
    clock: _Clock,
    stops: list[Stop],
) -> DayRoute:
    """Drive home, place a lunch not yet taken, and leave home late instead of waiting."""
    if stops:
        clock.drive += int(job.durations_s[clock.here, 0])
        clock.distance += int(job.distances_m[clock.here, 0])
        clock.t += int(job.durations_s[clock.here, 0])
    late_lunch = lunch is not None and clock.t > lunch.window.end_s - lunch.duration_s
    if lunch is not None and clock.lunch_at is None and stops and late_lunch:
        # The drive home passed the latest lunch start: the break happened on the way.
        clock.lunch_at = max(shift.start_s, lunch.window.end_s - lunch.duration_s)
        clock.t += lunch.duration_s
    lunch_at = clock.lunch_at
    leave = shift.start_s
    if stops and stops[0].wait_s > 0 and (lunch_at is None or lunch_at > stops[0].start_s):
        first = stops[0]
        leave = first.start_s - first.travel_s
        stops[0] = replace(first, arrival_s=first.start_s, wait_s=0)
    return DayRoute(
        rep_id=job.rep.rep_id,
        day=job.day,
        start_s=leave,
        end_s=clock.t if stops else shift.start_s,
        stops=tuple(stops),
        travel_s=clock.drive,
        distance_m=clock.distance,
        break_start_s=lunch_at,
        break_duration_s=lunch.duration_s if lunch is not None and lunch_at is not None else 0,
    )


DayOptimiser = Callable[
    [Rep, date, Sequence[Account], TravelTimeProvider], tuple[DayRoute, Sequence[Unassigned]]
]
"""The routing core's one-day optimiser, e.g. ``routeplanner.routing.day.optimise_day``."""


def day_router_from(optimise: DayOptimiser, travel: TravelTimeProvider) -> DayRouter:
    """Use the routing core for the final routes of each day the scheduler chose.

    The day optimiser names visits by account; a plan spans weeks, so ids become
    ``account@date`` (:func:`visit_id`), which repair and calendars rely on.
    """

    def route(job: DayJob) -> DayResult:
        day_route, dropped = optimise(job.rep, job.day, job.visits, travel)
        stops = tuple(replace(s, visit_id=visit_id(s.account_id, job.day)) for s in day_route.stops)
        return DayResult(
            route=replace(day_route, stops=stops),
            unassigned=tuple(
                replace(u, visit_id=visit_id(u.account_id, job.day), day=job.day) for u in dropped
            ),
        )

    return route


def default_day_router(
    travel: TravelTimeProvider,
    *,
    time_limit_s: float = DAY_ROUTE_S,
    reproducible: bool = False,
    seed: int = 0,
    rush_hours: TimeOfDayProfile | None = None,
) -> DayRouter:
    """The routing core (OR-Tools/PyVRP with windows and lunch) per day, checked against timing
    the search's own order; the better of the two (fewer dropped visits, then less driving)
    wins, so a short time budget never makes a day worse than the search planned it.

    ``reproducible`` stops the routing core on solution/iteration limits (tests) instead of time.
    With ``rush_hours`` the routing core times drives by their departure and the search's own
    order goes in as its starting point (timed the same way) instead of being compared apart.
    """
    params = SolveParams(
        time_limit_s=time_limit_s if not reproducible else 30.0,
        seed=seed,
        solution_limit=20 if reproducible else None,
        iteration_limit=200 if reproducible else None,
    )

    def optimise(
        rep: Rep, day: date, visits: Sequence[Account], tr: TravelTimeProvider
    ) -> tuple[DayRoute, Sequence[Unassigned]]:
        return optimise_day(rep, day, visits, tr, params=params)

    if rush_hours is not None:
        return _rush_hour_router(travel, params, rush_hours)
    core = day_router_from(optimise, travel)

    def route(job: DayJob) -> DayResult:
        ours = sequence_day_router(job)
        theirs = core(job)
        if (len(theirs.unassigned), theirs.route.travel_s) <= (
            len(ours.unassigned),
            ours.route.travel_s,
        ):
            return theirs
        return ours

    return route


def _rush_hour_router(
    travel: TravelTimeProvider, params: SolveParams, rush_hours: TimeOfDayProfile
) -> DayRouter:
    """The routing core with departure-dependent travel, started from the search's own order
    (its off-peak timing cannot be compared with rush-hour timing, so it competes inside)."""

    def route(job: DayJob) -> DayResult:
        order = [s.account_id for s in sequence_day_router(job).route.stops]

        def optimise(
            rep: Rep, day: date, visits: Sequence[Account], tr: TravelTimeProvider
        ) -> tuple[DayRoute, Sequence[Unassigned]]:
            return optimise_day(
                rep, day, visits, tr, params=params, rush_hours=rush_hours, initial_order=order
            )

        return day_router_from(optimise, travel)(job)

    return route
