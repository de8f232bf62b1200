"""Multi-week scheduling for one rep: which day each due visit happens, and each day's route.

One call is one independent job (one rep / territory): plain data in, a :class:`Plan` out, no
global state, so a caller may run territories in parallel processes. The day choice is a
periodic search (by default the hybrid genetic search of :mod:`routeplanner.scheduling.hgs`)
over the day combinations from :mod:`routeplanner.scheduling.frequency`; the final routes of
each day come from a pluggable ``day_router`` (see :mod:`routeplanner.scheduling.day_router`).

:func:`schedule_visits` is a pipeline of named steps over one :class:`_Run` state; every visit
that cannot be placed, at whichever step, becomes an :class:`Unassigned` entry through
:func:`~routeplanner.scheduling.day_router.unplaced`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Protocol

import numpy as np
import numpy.typing as npt

from routeplanner.model import Account, DayRoute, Horizon, Plan, Rep, Unassigned, UnassignedReason
from routeplanner.scheduling.calendar import (
    blocked_days,
    blocked_text,
    usable_shift_s,
    visitable_days,
    working_days,
)
from routeplanner.scheduling.day_router import (
    DROP_COST_S,
    DayJob,
    DayRouter,
    default_day_router,
    unplaced,
)
from routeplanner.scheduling.frequency import Occurrence, VisitOptions, visit_options
from routeplanner.scheduling.hgs import solve_hgs
from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicSolution,
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
LEFT_OUT_EXTRA_VISITS = 0.5
"""Leaving an account out costs this many visits on top of its own: of two plans that leave
out as many visits, the one that leaves fewer accounts unvisited (overdue) is better."""
BLOCK_WEEKS = 4
"""Longer horizons are scheduled block by block (see :func:`schedule_visits`)."""
OVERTIME_WEIGHT = 2.0
"""Cost per second a day runs over the balanced workload target."""


class PeriodicSearch(Protocol):
    """Chooses day combinations and routes (:func:`~routeplanner.scheduling.hgs.solve_hgs`, or
    the earlier large neighbourhood search :func:`~routeplanner.scheduling.periodic.solve_periodic`
    for comparison)."""

    def __call__(
        self,
        problem: PeriodicProblem,
        *,
        time_limit_s: float,
        max_iterations: int | None,
        seed: int,
        initial: Sequence[int | None] | None,
        progress: Callable[[float, float], None] | None,
    ) -> PeriodicSolution: ...


class DaySearch(StrEnum):
    """A periodic search by name: what a territory job carries, so the choice crosses process
    boundaries as plain data and each worker looks the function up itself."""

    HGS = "hgs"
    """The hybrid genetic search (the default)."""
    LNS = "lns"
    """The large neighbourhood search it replaced, kept for comparison."""


def periodic_search(name: DaySearch) -> PeriodicSearch:
    """The search function ``name`` stands for."""
    searches: dict[DaySearch, PeriodicSearch] = {
        DaySearch.HGS: solve_hgs,
        DaySearch.LNS: solve_periodic,
    }
    return searches[DaySearch(name)]


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
    search: PeriodicSearch = solve_hgs,
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
    ``search`` chooses the days (see :class:`PeriodicSearch`).

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
            search=search,
        )
    report = _reporter(progress)
    run = _start(rep, horizon, travel, holidays, frozen_until, previous, exclude_visits, pinned)
    report(0.0, "building visit options")
    _add_candidates(run, accounts, move_cost_s, urgency or {})
    report(0.05, "computing travel times")
    durations = _drop_cut_off(run)
    found = _search_days(
        run,
        durations,
        search,
        balance=balance,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        seed=seed,
        report=report,
    )
    _unplaced_by_search(run, found.combo)
    report(0.9, "timing the routes")
    routes = _route_days(run, found.orders, router)
    report(1.0, "done")
    meta = {
        "rep_id": rep.rep_id,
        "horizon_start": horizon.start.isoformat(),
        "weeks": str(horizon.weeks),
        "frozen_until": frozen_until.isoformat() if frozen_until else "",
        # Accounts planned with relaxed spacing (their frequency cannot be met as asked).
        "frequency_issues": ",".join(run.issues),
        **{k: f"{v:.3f}" for k, v in found.stats.items()},
    }
    return Plan(routes=tuple(routes), unassigned=tuple(run.unassigned), meta=meta)


Report = Callable[[float, str], None]


def _reporter(progress: Progress | None) -> Report:
    def report(frac: float, msg: str) -> None:
        if progress is not None:
            progress(msg, frac)

    return report


@dataclass(frozen=True, slots=True)
class _Candidate:
    """An account handed to the periodic search, with its day options and search customer."""

    account: Account
    options: VisitOptions
    customer: PeriodicCustomer


@dataclass(slots=True, kw_only=True)
class _Run:
    """What one :func:`schedule_visits` call knows and has decided so far, step by step."""

    rep: Rep
    travel: TravelTimeProvider
    days: list[date]
    plan_start: date
    plan_end: date
    pins: dict[date, Sequence[Account]]
    kept: list[DayRoute]
    last_seen: dict[str, date]
    prev_days: dict[str, set[date]]
    blocked: dict[date, str] = field(default_factory=dict)
    candidates: list[_Candidate] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)

    def unplace(
        self,
        account: Account,
        occurrences: Iterable[Occurrence],
        reason: UnassignedReason,
        detail: str = "",
    ) -> None:
        self.unassigned.extend(
            unplaced(account.account_id, (o.target for o in occurrences), reason, detail)
        )


def _start(
    rep: Rep,
    horizon: Horizon,
    travel: TravelTimeProvider,
    holidays: frozenset[date],
    frozen_until: date | None,
    previous: Plan | None,
    exclude_visits: frozenset[str],
    pinned: Mapping[date, Sequence[Account]] | None,
) -> _Run:
    """The days still to plan, and what the previous plan fixes (frozen) or suggests (later)."""
    kept: list[DayRoute] = []
    last_seen: dict[str, date] = {}
    prev_days: dict[str, set[date]] = {}
    for r in previous.routes_of(rep.rep_id) if previous is not None else ():
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
    return _Run(
        rep=rep,
        travel=travel,
        days=days,
        plan_start=plan_start,
        plan_end=horizon.end,
        pins=dict(pinned or {}),
        kept=kept,
        last_seen=last_seen,
        prev_days=prev_days,
        blocked=blocked_days(rep, (d for d in horizon.days() if d >= plan_start), holidays),
    )


def _add_candidates(
    run: _Run, accounts: Sequence[Account], move_cost_s: float, urgency: Mapping[str, float]
) -> None:
    """Each account's visit options; accounts that cannot take part are unplaced with a reason.

    Points are snapped first: a road provider refuses points far from any road, so they never
    reach a matrix.
    """
    rep = run.rep
    snaps = run.travel.snap(
        [(f"home of {rep.rep_id}", rep.home)] + [(a.account_id, a.location) for a in accounts]
    ).snaps
    home = snaps[0]
    day_index = {d: i for i, d in enumerate(run.days)}
    for acc, snap in zip(accounts, snaps[1:], strict=True):
        acc_eff = _with_last_seen(acc, run.last_seen)
        allowed = visitable_days(acc, rep, run.days)
        opt = visit_options(acc_eff, allowed, run.plan_start, run.plan_end, blocked=run.blocked)
        if not (home.reachable and snap.reachable):
            far = snap if home.reachable else home
            where = "" if home.reachable else f"the home of {rep.rep_id} is "
            detail = f"{where}{far.distance_m:.0f} m from the nearest road"
            run.unplace(acc, opt.occurrences, UnassignedReason.UNREACHABLE, detail)
            continue
        if not opt.occurrences:
            continue
        if not opt.combos:
            run.unplace(acc, opt.occurrences, *_reason_no_day(acc, rep, run.days))
            continue
        if opt.issue is not None:
            run.issues.append(acc.account_id)
            rest = opt.occurrences[len(opt.combos[0]) :]
            run.unplace(acc, rest, opt.issue.reason, opt.issue.detail)
        had = run.prev_days.get(acc.account_id, set())
        if had and opt.strict:
            opt = _with_previous(opt, acc_eff, sorted(had), set(allowed))
        customer = PeriodicCustomer(
            node=len(run.candidates) + 1,
            service=float(acc.visit_duration_s),
            demand=0.0,
            combos=tuple(tuple(day_index[d] for d in combo) for combo in opt.combos),
            combo_costs=_combo_costs(opt, had, move_cost_s),
            drop_penalty=DROP_COST_S
            * urgency.get(acc.account_id, 1.0)
            * (max(len(c) for c in opt.combos) + LEFT_OUT_EXTRA_VISITS),
        )
        run.candidates.append(_Candidate(acc, opt, customer))


def _with_last_seen(account: Account, last_seen: Mapping[str, date]) -> Account:
    """The account with its last visit moved up to the latest frozen visit, if that is later."""
    last = account.last_visit
    seen = last_seen.get(account.account_id)
    if seen is not None and (last is None or seen > last):
        last = seen
    return replace(account, last_visit=last) if last != account.last_visit else account


def _combo_costs(opt: VisitOptions, had: set[date], move_cost_s: float) -> tuple[float, ...]:
    costs = []
    for combo, dev in zip(opt.combos, opt.costs, strict=True):
        # A visit moved, added or dropped relative to the previous plan is one change.
        moved = max(len(set(combo) - had), len(had - set(combo))) if had else 0
        costs.append(dev * DEVIATION_COST_S + moved * move_cost_s)
    return tuple(costs)


def _drop_cut_off(run: _Run) -> npt.NDArray[np.int64]:
    """The home-and-candidates travel matrix; candidates with no path from or to home leave.

    No path (another road component) shows as a negative or huge time. The matrix keeps their
    rows, since the search addresses candidates by their original node.
    """
    points = [run.rep.home] + [c.account.location for c in run.candidates]
    durations = run.travel.matrix(points).durations_s
    out_, back_ = durations[0, 1:], durations[1:, 0]
    cut_off = (out_ < 0) | (out_ >= DAY) | (back_ < 0) | (back_ >= DAY)
    if cut_off.any():
        for i in np.flatnonzero(cut_off):
            c = run.candidates[int(i)]
            detail = "no road connection with the rep's home"
            run.unplace(c.account, c.options.occurrences, UnassignedReason.UNREACHABLE, detail)
        run.candidates = [c for i, c in enumerate(run.candidates) if not cut_off[i]]
    return durations


@dataclass(frozen=True, slots=True)
class _SearchResult:
    combo: tuple[int | None, ...]
    orders: list[list[int]]
    stats: dict[str, float]


def _search_days(
    run: _Run,
    durations: npt.NDArray[np.int64],
    search: PeriodicSearch,
    *,
    balance: bool,
    time_limit_s: float,
    max_iterations: int | None,
    seed: int,
    report: Report,
) -> _SearchResult:
    """Choose each candidate's day combination and each day's visit order."""
    customers = tuple(c.customer for c in run.candidates)
    if not customers or not run.days:
        return _SearchResult(combo=(), orders=[[] for _ in run.days], stats={})
    problem = _leaving_out_never_pays(
        PeriodicProblem(
            travel=durations.astype(np.float64),
            customers=customers,
            days=_day_vehicles(run),
            overtime_weight=OVERTIME_WEIGHT,
        )
    )
    if balance:
        problem = _balanced(problem, seed)

    def on_search(frac: float, best: float) -> None:
        report(0.1 + 0.8 * frac, f"searching visit days (objective {best:.0f})")

    sol = search(
        problem,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        seed=seed,
        initial=_initial_combos(run),
        progress=on_search,
    )
    return _SearchResult(
        combo=sol.combo,
        orders=[list(day[0]) for day in sol.routes],
        stats={"iterations": float(sol.iterations), **sol.stats},
    )


def _leaving_out_never_pays(problem: PeriodicProblem) -> PeriodicProblem:
    """Raise each customer's cost of being left out above the most its visits can cost placed.

    A visit adds at most a whole day to its day, as driving and as overtime, so with that
    bound added a search that weighs leaving a customer out (the hybrid genetic search does)
    never drops a far account that fits only to spare a day's overtime; the order of urgency
    among customers stays as it was."""
    longest = max((v.max_duration for day in problem.days for v in day), default=0.0)
    per_visit = (1.0 + problem.overtime_weight) * longest
    customers = tuple(
        replace(
            c,
            drop_penalty=c.drop_penalty
            + per_visit * max(len(k) for k in c.combos)
            + max(c.combo_costs, default=0.0),
        )
        for c in problem.customers
    )
    return replace(problem, customers=customers)


def _day_vehicles(run: _Run) -> tuple[tuple[PeriodicVehicle, ...], ...]:
    """One vehicle per working day, its soft limit halfway between the mean and a full day."""
    rep = run.rep
    total_service = sum(c.customer.service * len(c.customer.combos[0]) for c in run.candidates)
    per_day = total_service / max(1, len(run.days))
    vehicles = []
    for d in run.days:
        extra = run.pins.get(d, ())
        # Room for pinned visits: their service plus a round trip from home as a safe bound.
        reserved = sum(a.visit_duration_s + 2 * _home_trip(run.travel, rep, a) for a in extra)
        usable = max(0.0, float(usable_shift_s(rep, d)) - reserved)
        soft = per_day + 0.5 * max(0.0, usable - per_day)
        vehicle = PeriodicVehicle(
            depot=0,
            max_duration=usable,
            max_stops=max(0, rep.max_visits_per_day - len(extra)),
            soft_duration=min(usable, soft),
        )
        vehicles.append((vehicle,))
    return tuple(vehicles)


def _initial_combos(run: _Run) -> list[int | None] | None:
    """Warm start for plan repair: each candidate on its previous days, where that is an option."""
    if not run.prev_days:
        return None
    initial: list[int | None] = []
    for c in run.candidates:
        had = run.prev_days.get(c.account.account_id, set())
        exact = [k for k, combo in enumerate(c.options.combos) if set(combo) == had]
        initial.append(exact[0] if exact else None)
    return initial


def _unplaced_by_search(run: _Run, combo: Sequence[int | None]) -> None:
    """Candidates the search left out: every visit due (or placeable, when relaxed) is unplaced."""
    for c, k in zip(run.candidates, combo, strict=False):
        if k is not None:
            continue
        opt = c.options
        due = opt.occurrences if opt.strict else opt.occurrences[: len(opt.combos[0])]
        detail = "no combination of days has room for all its visits"
        # Days lost to an absence or holidays (in the visits' windows, else anywhere in the
        # horizon) are why the other days are full.
        inside = [d for d in run.blocked if any(o.earliest <= d <= o.latest for o in due)]
        lost = {d: run.blocked[d] for d in inside}
        if lost:
            detail += f" ({blocked_text(lost)})"
        elif run.blocked:
            detail += f" (fewer working days: {blocked_text(run.blocked)})"
        run.unplace(c.account, due, UnassignedReason.DAY_FULL_TIME, detail)


def _route_days(run: _Run, orders: Sequence[Sequence[int]], router: DayRouter) -> list[DayRoute]:
    """Time every day in the search's order (pinned visits where they cost least), by day."""
    rep, travel = run.rep, run.travel
    routes: list[DayRoute] = list(run.kept)
    for t, d in enumerate(run.days):
        visits = [run.candidates[c].account for c in orders[t]]
        for pin in run.pins.get(d, ()):
            visits = _cheapest_position(travel, rep, visits, pin)
        if not visits:
            continue
        day_matrix = travel.matrix([rep.home] + [a.location for a in visits])
        job = DayJob(
            rep=rep,
            day=d,
            visits=tuple(visits),
            durations_s=day_matrix.durations_s,
            distances_m=day_matrix.distances_m,
        )
        res = router(job)
        routes.append(res.route)
        run.unassigned.extend(res.unassigned)
    routes.sort(key=lambda r: r.day)
    return routes


def frequency_issues(
    accounts: Sequence[Account], rep: Rep, horizon: Horizon, holidays: frozenset[date] = frozenset()
) -> list[Unassigned]:
    """Accounts whose frequency cannot be met as asked, with a reason, before any search."""
    days = working_days(rep, horizon, holidays)
    blocked = blocked_days(rep, horizon.days(), holidays)
    out: list[Unassigned] = []
    for acc in accounts:
        allowed = visitable_days(acc, rep, days)
        opt = visit_options(acc, allowed, horizon.start, horizon.end, blocked=blocked)
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
    search: PeriodicSearch,
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
            search=search,
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
