"""Multi-week scheduling for one rep: which day each due visit happens, and each day's route.

One call is one independent job (one rep / territory): plain data in, a :class:`Plan` out, no
global state, so a caller may run territories in parallel processes. The day choice is the
periodic search of :mod:`routeplanner.scheduling.periodic` over the day combinations from
:mod:`routeplanner.scheduling.frequency`; the final routes of each day come from a pluggable
``day_router`` (default: the routing core's ``optimise_day`` with windows and lunch, checked
against timing the search's own order, see :func:`default_day_router`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from routeplanner.model import (
    Account,
    DayRoute,
    Horizon,
    Plan,
    Rep,
    Stop,
    Unassigned,
    UnassignedReason,
)
from routeplanner.routing.day import optimise_day, rep_day_vehicle
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import RoutingProblem, VisitSpec
from routeplanner.scheduling.calendar import (
    usable_shift_s,
    visit_windows,
    visitable_days,
    working_days,
)
from routeplanner.scheduling.frequency import VisitOptions, visit_options
from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicVehicle,
    solve_periodic,
)
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import DAY

Progress = Callable[[str, float], None]
"""``progress(message, fraction_done)``: feeds a CLI progress bar or a web job status (the same
shape as the roads and territories stages)."""

DEVIATION_COST_S = 120.0
"""Objective cost of one day away from a visit's target date, in seconds of driving."""
MOVE_COST_S = 7200.0
"""Objective cost of moving a previously planned visit to another day (plan repair): two hours
of driving, so a committed visit moves only when it must, not for a small travel saving."""
DROP_COST_S = 36_000.0
"""Objective cost of leaving one required visit out: ten hours of driving, i.e. never cheaper."""
BLOCK_WEEKS = 4
"""Longer horizons are scheduled block by block (see :func:`schedule_visits`)."""
DAY_ROUTE_S = 0.3
"""Routing-core seconds per rep-day for the final routes (the days are small and pre-ordered)."""
OVERTIME_WEIGHT = 2.0
"""Cost per second a day runs over the balanced workload target."""


def visit_id(account_id: str, day: date) -> str:
    """Stable id of a visit: an account is seen at most once a day; unmoved visits keep it."""
    return f"{account_id}@{day.isoformat()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DayJob:
    """One rep-day to route: ``order`` is the suggested sequence; index 0 of the matrices = home."""

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


ROUTER_EVALUATIONS = 3000
"""Cap on timetables tried per day by :func:`sequence_day_router` (keeps big days fast)."""


@dataclass(slots=True)
class _Timed:
    key: tuple[int, int]
    result: DayResult
    needs_work: bool


def _timetable(
    job: DayJob, order: list[int], windows: Sequence[tuple[tuple[int, int], ...]]
) -> _Timed:
    rep, day = job.rep, job.day
    shift = rep.shift(day)
    assert shift is not None
    dur, dist = job.durations_s, job.distances_m
    t = shift.start_s
    here = 0
    stops: list[Stop] = []
    dropped: list[Unassigned] = []
    lunch_at: int | None = None
    lunch = rep.lunch if rep.lunch is not None and rep.lunch.duration_s > 0 else None
    drive = 0
    dist_total = 0
    for k in order:
        acc = job.visits[k]
        i = k + 1
        vid = visit_id(acc.account_id, day)
        travel = int(dur[here, i])
        arrive = t + travel
        if lunch is not None and lunch_at is None:
            latest = lunch.window.end_s - lunch.duration_s
            if arrive + acc.visit_duration_s > latest:
                lunch_at = max(t, lunch.window.start_s)
                t = lunch_at + lunch.duration_s
                arrive = t + travel
        start = None
        for w_start, w_end in windows[k]:
            st = max(arrive, w_start)
            if st + acc.visit_duration_s <= w_end:
                start = st
                break
        back = int(dur[i, 0])
        reason: UnassignedReason | None = None
        detail = ""
        if start is None:
            reason = UnassignedReason.OUTSIDE_OPENING_HOURS
            detail = "arrival is after the opening hours of the day"
        elif start + acc.visit_duration_s + back > shift.end_s:
            reason = UnassignedReason.DAY_FULL_TIME
        elif rep.max_drive_s is not None and drive + travel + back > rep.max_drive_s:
            reason = UnassignedReason.DAY_FULL_DRIVE
        elif len(stops) >= rep.max_visits_per_day:
            reason = UnassignedReason.DAY_FULL_VISITS
        if reason is not None or start is None:
            dropped.append(
                Unassigned(
                    visit_id=vid,
                    account_id=acc.account_id,
                    reason=reason or UnassignedReason.DAY_FULL_TIME,
                    detail=detail,
                    day=day,
                )
            )
            continue
        stops.append(
            Stop(
                visit_id=vid,
                account_id=acc.account_id,
                arrival_s=arrive,
                start_s=start,
                departure_s=start + acc.visit_duration_s,
                travel_s=travel,
                distance_m=int(dist[here, i]),
                wait_s=start - arrive,
            )
        )
        drive += travel
        dist_total += int(dist[here, i])
        t = start + acc.visit_duration_s
        here = i
    if stops:
        drive += int(dur[here, 0])
        dist_total += int(dist[here, 0])
        t += int(dur[here, 0])
    late_lunch = lunch is not None and t > lunch.window.end_s - lunch.duration_s
    if lunch is not None and lunch_at is None and stops and late_lunch:
        # The drive home passed the latest lunch start: the break happened on the way.
        lunch_at = max(shift.start_s, lunch.window.end_s - lunch.duration_s)
        t += lunch.duration_s
    taken = lunch_at is not None
    leave = shift.start_s
    if stops and stops[0].wait_s > 0 and (lunch_at is None or lunch_at > stops[0].start_s):
        # Leave home later instead of waiting at the first account.
        first = stops[0]
        leave = first.start_s - first.travel_s
        stops[0] = replace(first, arrival_s=first.start_s, wait_s=0)
    route = DayRoute(
        rep_id=rep.rep_id,
        day=day,
        start_s=leave,
        end_s=t if stops else shift.start_s,
        stops=tuple(stops),
        travel_s=drive,
        distance_m=dist_total,
        break_start_s=lunch_at if taken else None,
        break_duration_s=lunch.duration_s if lunch is not None and taken else 0,
    )
    span = route.end_s - route.start_s if stops else 0
    result = DayResult(route=route, unassigned=tuple(dropped))
    waits = any(s.wait_s > 0 for s in stops)
    return _Timed(key=(len(dropped), span), result=result, needs_work=bool(dropped) or waits)


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
) -> DayRouter:
    """The routing core (OR-Tools/PyVRP with windows and lunch) per day, checked against timing
    the search's own order; the better of the two (fewer dropped visits, then less driving)
    wins, so a short time budget never makes a day worse than the search planned it.

    ``reproducible`` stops the routing core on solution/iteration limits (tests) instead of time.
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


def _reason_no_day(
    account: Account, rep: Rep, days: Sequence[date]
) -> tuple[UnassignedReason, str]:
    works = {d.weekday() for d in days}
    opens = account.opening_hours.open_weekdays() - account.forbidden_weekdays
    if not days:
        return UnassignedReason.NO_ALLOWED_DAY, "the rep has no working day in the horizon"
    if works & opens:
        return (
            UnassignedReason.OUTSIDE_OPENING_HOURS,
            f"open {account.opening_hours}; no overlap of {account.visit_duration_s // 60} min "
            f"with the rep's hours {rep.working_hours}",
        )
    return (
        UnassignedReason.NO_ALLOWED_DAY,
        f"open {account.opening_hours}; the rep works {rep.working_hours}",
    )


def schedule_visits(
    accounts: Sequence[Account],
    rep: Rep,
    horizon: Horizon,
    travel: TravelTimeProvider,
    *,
    holidays: frozenset[date] = frozenset(),
    progress: Progress | None = None,
    time_limit_s: float = 25.0,
    max_iterations: int | None = None,
    seed: int = 0,
    frozen_until: date | None = None,
    previous: Plan | None = None,
    day_router: DayRouter | None = None,
    move_cost_s: float = MOVE_COST_S,
    urgency: Mapping[str, float] | None = None,
    exclude_visits: frozenset[str] = frozenset(),
    pinned: Mapping[date, Sequence[Account]] | None = None,
    balance: bool = True,
) -> Plan:
    """Plan every due visit of ``accounts`` for ``rep`` over ``horizon`` and route each day.

    With ``previous`` and ``frozen_until``, the previous plan's routes up to and including
    ``frozen_until`` are copied unchanged (the same objects) and count as visits already made;
    later visits prefer the days they had in ``previous`` (each move costs ``move_cost_s``).
    ``urgency`` (account id -> factor >= 1) multiplies the cost of leaving that account out, so
    overdue accounts are placed first when days are full. ``exclude_visits`` are frozen stops that
    did not happen (missed): they do not count as the account's last visit. ``pinned`` visits
    (ad-hoc) are added to their day outside the search, which leaves room for them.
    ``balance`` charges overtime above 110 % of the mean working day (measured on a quick first
    construction), so the search spreads the work instead of packing few long days.
    ``max_iterations`` makes the search reproducible (tests); otherwise ``time_limit_s`` bounds it.

    Horizons longer than :data:`BLOCK_WEEKS` are planned as a rolling horizon of blocks of that
    many weeks, each continuing from the visits of the blocks before: a 13-week chain of visits
    per account is too rigid to move as one piece when days fill up.
    """
    router = day_router or default_day_router(
        travel, reproducible=max_iterations is not None, seed=seed
    )
    if horizon.weeks > BLOCK_WEEKS and previous is None and frozen_until is None:
        return _rolling(
            accounts,
            rep,
            horizon,
            travel,
            holidays=holidays,
            progress=progress,
            time_limit_s=time_limit_s,
            max_iterations=max_iterations,
            seed=seed,
            day_router=router,
            pinned=pinned,
            balance=balance,
        )

    def report(frac: float, msg: str) -> None:
        if progress is not None:
            progress(msg, frac)

    kept: list[DayRoute] = []
    last_seen: dict[str, date] = {}
    prev_days: dict[str, set[date]] = {}
    if previous is not None:
        for r in previous.routes_of(rep.rep_id):
            if frozen_until is not None and r.day <= frozen_until:
                kept.append(r)
                for s in r.stops:
                    if s.visit_id in exclude_visits:
                        continue
                    if s.account_id not in last_seen or r.day > last_seen[s.account_id]:
                        last_seen[s.account_id] = r.day
            else:
                for s in r.stops:
                    prev_days.setdefault(s.account_id, set()).add(r.day)
    days = [
        d for d in working_days(rep, horizon, holidays) if frozen_until is None or d > frozen_until
    ]
    plan_start = horizon.start
    if frozen_until is not None:
        plan_start = max(horizon.start, frozen_until + timedelta(days=1))
    day_index = {d: i for i, d in enumerate(days)}
    unassigned: list[Unassigned] = []
    issues: list[str] = []
    customers: list[PeriodicCustomer] = []
    cust_accounts: list[Account] = []
    cust_options: list[VisitOptions] = []
    report(0.0, "building visit options")
    # Snap first: a road provider refuses points far from any road, so they never reach a matrix.
    snaps = travel.snap(
        [(f"home of {rep.rep_id}", rep.home)] + [(a.account_id, a.location) for a in accounts]
    ).snaps
    home_ok = snaps[0].reachable
    for acc, snap in zip(accounts, snaps[1:], strict=True):
        last = acc.last_visit
        if acc.account_id in last_seen and (last is None or last_seen[acc.account_id] > last):
            last = last_seen[acc.account_id]
        acc_eff = replace(acc, last_visit=last) if last != acc.last_visit else acc
        allowed = visitable_days(acc, rep, days)
        opt = visit_options(acc_eff, allowed, plan_start, horizon.end)
        if not (home_ok and snap.reachable):
            far = snap if home_ok else snaps[0]
            where = "" if home_ok else f"the home of {rep.rep_id} is "
            detail = f"{where}{far.distance_m:.0f} m from the nearest road"
            unassigned.extend(
                Unassigned(
                    visit_id=visit_id(acc.account_id, o.target),
                    account_id=acc.account_id,
                    reason=UnassignedReason.UNREACHABLE,
                    detail=detail,
                    day=o.target,
                )
                for o in opt.occurrences
            )
            continue
        if not opt.occurrences:
            continue
        if not opt.combos:
            reason, detail = _reason_no_day(acc, rep, days)
            for o in opt.occurrences:
                unassigned.append(
                    Unassigned(
                        visit_id=visit_id(acc.account_id, o.target),
                        account_id=acc.account_id,
                        reason=reason,
                        detail=detail,
                        day=o.target,
                    )
                )
            continue
        if opt.issue is not None:
            issues.append(acc.account_id)
            placed = len(opt.combos[0])
            for o in opt.occurrences[placed:]:
                unassigned.append(
                    Unassigned(
                        visit_id=visit_id(acc.account_id, o.target),
                        account_id=acc.account_id,
                        reason=opt.issue.reason,
                        detail=opt.issue.detail,
                        day=o.target,
                    )
                )
        had = prev_days.get(acc.account_id, set())
        if had and opt.strict:
            opt = _with_previous(opt, acc_eff, sorted(had), set(allowed))
        costs = []
        for combo, dev in zip(opt.combos, opt.costs, strict=True):
            # A visit moved, added or dropped relative to the previous plan is one change.
            moved = max(len(set(combo) - had), len(had - set(combo))) if had else 0
            costs.append(dev * DEVIATION_COST_S + moved * move_cost_s)
        factor = (urgency or {}).get(acc.account_id, 1.0)
        customers.append(
            PeriodicCustomer(
                node=len(cust_accounts) + 1,
                service=float(acc.visit_duration_s),
                demand=0.0,
                combos=tuple(tuple(day_index[d] for d in combo) for combo in opt.combos),
                combo_costs=tuple(costs),
                drop_penalty=DROP_COST_S * factor * max(len(c) for c in opt.combos),
            )
        )
        cust_accounts.append(acc)
        cust_options.append(opt)
    points = [rep.home] + [a.location for a in cust_accounts]
    report(0.05, "computing travel times")
    matrix = travel.matrix(points)
    durations = matrix.durations_s
    # No path (another road component) shows as a negative or huge time: unreachable too.
    out_, back_ = durations[0, 1:], durations[1:, 0]
    cut_off = (out_ < 0) | (out_ >= DAY) | (back_ < 0) | (back_ >= DAY)
    if cut_off.any():
        keep = [i for i in range(len(cust_accounts)) if not cut_off[i]]
        for i in np.flatnonzero(cut_off):
            acc = cust_accounts[int(i)]
            unassigned.extend(
                Unassigned(
                    visit_id=visit_id(acc.account_id, o.target),
                    account_id=acc.account_id,
                    reason=UnassignedReason.UNREACHABLE,
                    detail="no road connection with the rep's home",
                    day=o.target,
                )
                for o in cust_options[int(i)].occurrences
            )
        customers = [customers[i] for i in keep]
        cust_accounts = [cust_accounts[i] for i in keep]
        cust_options = [cust_options[i] for i in keep]
    total_service = sum(c.service * len(c.combos[0]) for c in customers)
    per_day = total_service / max(1, len(days))
    pins = dict(pinned or {})
    vehicles = []
    for d in days:
        extra = pins.get(d, ())
        # Room for pinned visits: their service plus a round trip from home as a safe bound.
        reserved = sum(a.visit_duration_s + 2 * _home_trip(travel, rep, a) for a in extra)
        usable = max(0.0, float(usable_shift_s(rep, d)) - reserved)
        soft = per_day + 0.5 * max(0.0, usable - per_day)
        vehicles.append(
            (
                PeriodicVehicle(
                    depot=0,
                    max_duration=usable,
                    max_stops=max(0, rep.max_visits_per_day - len(extra)),
                    soft_duration=min(usable, soft),
                ),
            )
        )
    initial: list[int | None] | None = None
    if prev_days:
        initial = []
        for acc, opt in zip(cust_accounts, cust_options, strict=True):
            had = prev_days.get(acc.account_id, set())
            exact = [k for k, combo in enumerate(opt.combos) if set(combo) == had]
            initial.append(exact[0] if exact else None)
    stats: dict[str, float] = {}
    combo_choice: tuple[int | None, ...] = ()
    orders: list[list[int]] = [[] for _ in days]
    if customers and days:
        problem = PeriodicProblem(
            travel=durations.astype(np.float64),
            customers=tuple(customers),
            days=tuple(vehicles),
            overtime_weight=OVERTIME_WEIGHT,
        )
        if balance:
            problem = _balanced(problem, seed)

        def on_search(frac: float, best: float) -> None:
            report(0.1 + 0.8 * frac, f"searching visit days (objective {best:.0f})")

        sol = solve_periodic(
            problem,
            time_limit_s=time_limit_s,
            max_iterations=max_iterations,
            seed=seed,
            initial=initial,
            progress=on_search,
        )
        stats = {"iterations": float(sol.iterations), **sol.stats}
        combo_choice = sol.combo
        orders = [list(day[0]) for day in sol.routes]
    for c, k in enumerate(combo_choice):
        if k is None:
            acc = cust_accounts[c]
            opt = cust_options[c]
            due = opt.occurrences if opt.strict else opt.occurrences[: len(opt.combos[0])]
            for o in due:
                unassigned.append(
                    Unassigned(
                        visit_id=visit_id(acc.account_id, o.target),
                        account_id=acc.account_id,
                        reason=UnassignedReason.DAY_FULL_TIME,
                        detail="no combination of days has room for all its visits",
                        day=o.target,
                    )
                )
    report(0.9, "timing the routes")
    routes: list[DayRoute] = list(kept)
    for t, d in enumerate(days):
        visits = [cust_accounts[c] for c in orders[t]]
        for pin in pins.get(d, ()):
            visits = _cheapest_position(travel, rep, visits, pin)
        if not visits:
            continue
        pts = [rep.home] + [a.location for a in visits]
        day_matrix = travel.matrix(pts)
        job = DayJob(
            rep=rep,
            day=d,
            visits=tuple(visits),
            durations_s=day_matrix.durations_s,
            distances_m=day_matrix.distances_m,
        )
        res = router(job)
        routes.append(res.route)
        unassigned.extend(res.unassigned)
    routes.sort(key=lambda r: r.day)
    report(1.0, "done")
    meta = {
        "rep_id": rep.rep_id,
        "horizon_start": horizon.start.isoformat(),
        "weeks": str(horizon.weeks),
        "frozen_until": frozen_until.isoformat() if frozen_until else "",
        # Accounts planned with relaxed spacing (their frequency cannot be met as asked).
        "frequency_issues": ",".join(issues),
        **{k: f"{v:.3f}" for k, v in stats.items()},
    }
    return Plan(routes=tuple(routes), unassigned=tuple(unassigned), meta=meta)


def frequency_issues(
    accounts: Sequence[Account], rep: Rep, horizon: Horizon, holidays: frozenset[date] = frozenset()
) -> list[Unassigned]:
    """Accounts whose frequency cannot be met as asked, with a reason, before any search."""
    days = working_days(rep, horizon, holidays)
    out: list[Unassigned] = []
    for acc in accounts:
        allowed = visitable_days(acc, rep, days)
        opt = visit_options(acc, allowed, horizon.start, horizon.end)
        if opt.issue is None:
            continue
        if not opt.combos:
            reason, detail = _reason_no_day(acc, rep, days)
        else:
            reason, detail = opt.issue.reason, opt.issue.detail
        out.append(
            Unassigned(
                visit_id=f"{acc.account_id}@*",
                account_id=acc.account_id,
                reason=reason,
                detail=detail,
            )
        )
    return out


def _home_trip(travel: TravelTimeProvider, rep: Rep, account: Account) -> int:
    return int(travel.matrix([rep.home], [account.location]).durations_s[0, 0])


def _cheapest_position(
    travel: TravelTimeProvider, rep: Rep, visits: list[Account], extra: Account
) -> list[Account]:
    """Insert a pinned visit where it adds the least driving to the day's order."""
    pts = [rep.home] + [a.location for a in visits] + [extra.location]
    m = travel.matrix(pts).durations_s
    x = len(pts) - 1
    seq = [0, *range(1, len(visits) + 1), 0]
    best_pos, best = 0, None
    for i in range(len(seq) - 1):
        a, b = seq[i], seq[i + 1]
        delta = int(m[a, x] + m[x, b] - m[a, b])
        if best is None or delta < best:
            best_pos, best = i, delta
    return [*visits[:best_pos], extra, *visits[best_pos:]]


def _with_previous(
    opt: VisitOptions, account: Account, days: list[date], allowed: set[date]
) -> VisitOptions:
    """Put the previous plan's days first among the options when they still keep the rule.

    The beam keeps a limited list; without this, an unchanged account could be forced to move
    only because its old days fell out of the list.
    """
    combo = tuple(days)
    if combo in opt.combos or not opt.occurrences:
        return opt
    # Any count that keeps the gaps and leaves no visit due before the horizon end will do:
    # the previous chain may have drifted a day from the re-derived targets.
    end = opt.occurrences[-1].latest
    if days[-1] + timedelta(days=account.visit_rule.max_gap_days) <= end:
        return opt
    if not all(d in allowed for d in combo):
        return opt
    rule = account.visit_rule
    chain = ([account.last_visit] if account.last_visit is not None else []) + days
    if not all(rule.min_gap_days <= (b - a).days <= rule.max_gap_days for a, b in pairwise(chain)):
        return opt
    cost = sum(abs((d - o.target).days) for d, o in zip(days, opt.occurrences, strict=False))
    return replace(opt, combos=(combo, *opt.combos), costs=(float(cost), *opt.costs))


def _balanced(problem: PeriodicProblem, seed: int) -> PeriodicProblem:
    """Set each day's soft limit to 110 % of the mean day of a quick construction."""
    probe = solve_periodic(problem, max_iterations=0, seed=seed, use_pyvrp=False)
    svc = [c.service for c in problem.customers]
    total = 0.0
    for day in probe.routes:
        for r in day:
            if r:
                seq = [0, *(problem.customers[c].node for c in r), 0]
                total += sum(float(problem.travel[a, b]) for a, b in pairwise(seq))
                total += sum(svc[c] for c in r)
    mean = total / max(1, len(problem.days))
    days = tuple(
        tuple(replace(v, soft_duration=min(v.max_duration, 1.1 * mean)) for v in day)
        for day in problem.days
    )
    return replace(problem, days=days)


def _rolling(
    accounts: Sequence[Account],
    rep: Rep,
    horizon: Horizon,
    travel: TravelTimeProvider,
    *,
    holidays: frozenset[date],
    progress: Progress | None,
    time_limit_s: float,
    max_iterations: int | None,
    seed: int,
    day_router: DayRouter,
    pinned: Mapping[date, Sequence[Account]] | None,
    balance: bool,
) -> Plan:
    """Plan ``horizon`` in blocks; block k keeps blocks < k frozen and continues their chains."""
    plan: Plan | None = None
    carried: list[Unassigned] = []
    issues: set[str] = set()
    starts = list(range(0, horizon.weeks, BLOCK_WEEKS))
    for i, week in enumerate(starts):
        weeks = min(horizon.weeks, week + BLOCK_WEEKS)
        sub = Horizon(start=horizon.start, weeks=weeks, timezone=horizon.timezone)
        cut = horizon.start + timedelta(days=7 * week - 1) if week else None

        def sub_progress(msg: str, frac: float, i: int = i, last: int = weeks) -> None:
            if progress is not None:
                progress(f"weeks {starts[i] + 1}-{last}: {msg}", (i + frac) / len(starts))

        block = schedule_visits(
            accounts,
            rep,
            sub,
            travel,
            holidays=holidays,
            progress=sub_progress,
            time_limit_s=time_limit_s * (weeks - week) / horizon.weeks,
            max_iterations=max_iterations,
            seed=seed,
            frozen_until=cut,
            previous=plan,
            day_router=day_router,
            pinned=pinned,
            balance=balance,
        )
        carried.extend(u for u in block.unassigned if cut is None or u.day is None or u.day > cut)
        issues.update(a for a in block.meta.get("frequency_issues", "").split(",") if a)
        plan = block
    assert plan is not None
    meta = {
        **plan.meta,
        "frozen_until": "",
        "weeks": str(horizon.weeks),
        "blocks": str(len(starts)),
    }
    meta["frequency_issues"] = ",".join(sorted(issues))
    return replace(plan, unassigned=tuple(carried), meta=meta)
