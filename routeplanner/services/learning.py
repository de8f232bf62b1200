"""Planned against actual times from what reps record, learned values, and applying them.

Reps record a check-in and a done at each visit. Against the plan they were following that
day this gives actual drives (per rep) and actual visit lengths (per account); the fits of
:mod:`routeplanner.learning` turn them into estimates with evidence. A manager confirms an
estimate, which stores it (``store.learned``); the next planning run then plans that rep's
drives with the learned factor and that account's visits with the learned length. With
``RP_LEARNING_APPLY_UNCONFIRMED`` the current estimates apply without confirmation.

A repair keeps the times its plan was made with: changing every visit's length in the middle
of a plan would move visits nobody reported on.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from routeplanner.errors import InputError, NotFoundError, Problem
from routeplanner.learning import (
    Estimate,
    Fit,
    Leg,
    Recorded,
    Stay,
    fit_travel_factors,
    fit_visit_durations,
    observations_from_day,
)
from routeplanner.model import Account, Horizon
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.model.plan import DayRoute, Plan
from routeplanner.services.current import current_plan
from routeplanner.services.params import Params, limited
from routeplanner.services.scope import Scope, scope_for
from routeplanner.services.users import require_manager
from routeplanner.storage import LearnedKind, LearnedValue, PlanStatus, Store, UserRecord

__all__ = [
    "AccountTimes",
    "Estimate",
    "FieldTimes",
    "Learned",
    "LearningParams",
    "RepTimes",
    "confirm_learned",
    "field_times",
    "learned_for_planning",
    "observations",
    "withdraw_learned",
]

MAX_VERSIONS = 12
"""Older plan versions read for past days the current plan no longer holds (a weekly re-plan
keeps about a quarter of history at the default eight weeks)."""
LONGEST_VISIT_S = 8 * 3600
"""A done more than this after its check-in is taken as reported later, not on the spot."""
SHORTEST_VISIT_S = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class LearningParams(Params):
    """How far back to look and how many observations an estimate needs."""

    weeks: int = limited(8, 1, 52)
    min_drives: int = limited(15, 1, 10_000)
    min_visits: int = limited(5, 1, 10_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class RepTimes:
    """One rep's recorded drives against the plan, with the estimate and the value in force."""

    rep_id: str
    name: str
    drives: int
    planned_drive_s: float
    actual_drive_s: float
    visits: int
    planned_visit_s: float
    actual_visit_s: float
    estimate: Estimate | None
    in_force: LearnedValue | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountTimes:
    """One account's recorded visits: median planned and actual length, estimate, value in force."""

    account_id: str
    name: str
    visits: int
    planned_s: float
    actual_s: float
    estimate: Estimate | None
    in_force: LearnedValue | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldTimes:
    """Planned against actual over ``start``..``end`` (days up to today)."""

    start: date
    end: date
    params: LearningParams
    reps: tuple[RepTimes, ...]
    accounts: tuple[AccountTimes, ...]
    recorded_stops: int
    """Planned stops with a recorded check-in in the span."""


@dataclass(frozen=True, slots=True)
class Learned:
    """What planning applies: drive factors by rep, visit seconds by account."""

    travel_factors: Mapping[str, float]
    visit_seconds: Mapping[str, int]

    def accounts(self, accounts: Iterable[Account]) -> list[Account]:
        """``accounts`` with their learned visit lengths."""
        return [
            replace(a, visit_duration_s=self.visit_seconds[a.account_id])
            if a.account_id in self.visit_seconds
            else a
            for a in accounts
        ]


# -- observations ------------------------------------------------------------------------------


def _planned_days(
    store: Store, current: Plan, start: date, end: date
) -> dict[tuple[str, date], DayRoute]:
    """The route each rep followed each day of ``start..end``: the ``current`` plan's, else
    the newest earlier complete version holding that day."""
    routes: dict[tuple[str, date], DayRoute] = {}
    versions = [
        info
        for info in sorted(store.plans.all(), key=lambda i: i.plan_id, reverse=True)
        if info.status is PlanStatus.COMPLETE
        and not info.is_current
        and info.rep_id is None
        and info.horizon.start <= end
        and info.horizon.end >= start
    ]
    plans = [current] + [store.plans.get(info.plan_id) for info in versions[:MAX_VERSIONS]]
    for each in plans:
        for route in each.routes:
            if start <= route.day <= end:
                routes.setdefault((route.rep_id, route.day), route)
    return routes


def _recorded(records: Sequence[VisitRecord], horizon: Horizon) -> dict[str, Recorded]:
    """Check-in and done seconds per visit. The start is the check-in's (a done's own start
    when reported without one); the done time is when the done was recorded, counted only
    after a check-in and within a working day of it, since a done typed in the evening says
    when the rep typed, not when the visit ended."""
    starts: dict[str, int] = {}
    checked_in: set[str] = set()
    done: dict[str, int] = {}
    for r in records:
        if not r.visit_id or r.actual_start is None:
            continue
        day, start_s = horizon.from_datetime(r.actual_start)
        if day != r.day:
            continue
        starts.setdefault(r.visit_id, start_s)
        if r.status is VisitStatus.CHECKED_IN:
            checked_in.add(r.visit_id)
        elif r.status is VisitStatus.DONE and r.recorded_at is not None:
            done_day, done_s = horizon.from_datetime(r.recorded_at)
            length = done_s - starts[r.visit_id]
            if done_day == r.day and SHORTEST_VISIT_S <= length <= LONGEST_VISIT_S:
                done.setdefault(r.visit_id, done_s)
    return {
        v: Recorded(visit_id=v, check_in_s=s, done_s=done.get(v) if v in checked_in else None)
        for v, s in starts.items()
    }


def observations(
    store: Store, current: Plan, horizon: Horizon, start: date, end: date
) -> tuple[list[Leg], list[Stay], int]:
    """Recorded drives and visits of ``start..end`` against the plans (``current`` with its
    ``horizon`` first), and how many planned stops had a recorded check-in."""
    records = store.visits.find(start=start, end=end)
    recorded = _recorded(records, horizon)
    legs: list[Leg] = []
    stays: list[Stay] = []
    stops = 0
    for route in _planned_days(store, current, start, end).values():
        seen = {s.visit_id: recorded[s.visit_id] for s in route.stops if s.visit_id in recorded}
        stops += len(seen)
        if seen:
            day_legs, day_stays = observations_from_day(route, seen)
            legs += day_legs
            stays += day_stays
    return legs, stays, stops


# -- the report --------------------------------------------------------------------------------


def field_times(
    store: Store, params: LearningParams, *, user: UserRecord | None, today: date | None = None
) -> FieldTimes:
    """Planned against actual per rep and per account over the last ``params.weeks`` weeks,
    with estimates where there are enough observations (managers only; a manager scoped to
    regions sees their regions' reps and accounts).

    Raises
    ------
    InputError
        Nothing planned yet.
    """
    scope = Scope.everything()
    if user is not None:
        require_manager(user)
        scope = scope_for(store, user)
    _, plan, horizon = current_plan(store)  # read once: the whole plan of every rep
    end = today or datetime.now(tz=horizon.tz).date()
    start = end - timedelta(weeks=params.weeks) + timedelta(days=1)
    legs, stays, stops = observations(store, plan, horizon, start, end)
    factors = fit_travel_factors(legs, min_legs=params.min_drives)
    lengths = fit_visit_durations(stays, min_visits=params.min_visits)
    in_force = {(v.kind, v.key): v for v in store.learned.all()}
    return FieldTimes(
        start=start,
        end=end,
        params=params,
        reps=tuple(
            r for r in _rep_rows(store, legs, stays, factors, in_force) if scope.sees_rep(r.rep_id)
        ),
        accounts=tuple(
            a
            for a in _account_rows(store, stays, lengths, in_force)
            if scope.sees_account(a.account_id)
        ),
        recorded_stops=stops,
    )


def _rep_rows(
    store: Store,
    legs: Sequence[Leg],
    stays: Sequence[Stay],
    fit: Fit,
    in_force: Mapping[tuple[LearnedKind, str], LearnedValue],
) -> Iterable[RepTimes]:
    legs_of: dict[str, list[Leg]] = {}
    for leg in legs:
        legs_of.setdefault(leg.rep_id, []).append(leg)
    stays_of: dict[str, list[Stay]] = {}
    for stay in stays:
        stays_of.setdefault(stay.rep_id, []).append(stay)
    for rep in store.reps.all():
        mine = legs_of.get(rep.rep_id, [])
        visits = stays_of.get(rep.rep_id, [])
        yield RepTimes(
            rep_id=rep.rep_id,
            name=rep.name,
            drives=len(mine),
            planned_drive_s=sum(leg.planned_s for leg in mine),
            actual_drive_s=sum(leg.actual_s for leg in mine),
            visits=len(visits),
            planned_visit_s=sum(s.planned_s for s in visits),
            actual_visit_s=sum(s.actual_s for s in visits),
            estimate=fit.estimates.get(rep.rep_id),
            in_force=in_force.get((LearnedKind.TRAVEL_FACTOR, rep.rep_id)),
        )


def _account_rows(
    store: Store,
    stays: Sequence[Stay],
    fit: Fit,
    in_force: Mapping[tuple[LearnedKind, str], LearnedValue],
) -> Iterable[AccountTimes]:
    by_account: dict[str, list[Stay]] = {}
    for stay in stays:
        by_account.setdefault(stay.account_id, []).append(stay)
    names = {a.account_id: a.name for a in store.accounts.all()}
    for account_id, visits in sorted(by_account.items()):
        yield AccountTimes(
            account_id=account_id,
            name=names.get(account_id, account_id),
            visits=len(visits),
            planned_s=statistics.median(s.planned_s for s in visits),
            actual_s=statistics.median(s.actual_s for s in visits),
            estimate=fit.estimates.get(account_id),
            in_force=in_force.get((LearnedKind.VISIT_SECONDS, account_id)),
        )


# -- confirming and applying -------------------------------------------------------------------


def confirm_learned(
    store: Store,
    kind: LearnedKind,
    key: str,
    params: LearningParams,
    *,
    user: UserRecord | None,
    today: date | None = None,
) -> LearnedValue:
    """Put the current estimate of ``kind`` for ``key`` in force (managers only).

    Raises
    ------
    NotFoundError
        No such rep or account.
    InputError
        Too few observations for an estimate.
    """
    if user is not None:
        _in_scope(scope_for(store, user), kind, key)
    times = field_times(store, params, user=user, today=today)
    rows: Sequence[RepTimes | AccountTimes]
    rows = times.reps if kind is LearnedKind.TRAVEL_FACTOR else times.accounts
    row = next((r for r in rows if _key(r) == key), None)
    if row is None and _unknown(store, kind, key):
        msg = f"no {'rep' if kind is LearnedKind.TRAVEL_FACTOR else 'account'} {key!r}"
        raise NotFoundError(msg)
    if row is None or row.estimate is None:
        seen = 0 if row is None else (row.drives if isinstance(row, RepTimes) else row.visits)
        need = params.min_drives if kind is LearnedKind.TRAVEL_FACTOR else params.min_visits
        msg = f"{seen} recorded in the last {params.weeks} weeks, {need} needed for an estimate"
        raise InputError(Problem("learning", None, key, msg))
    estimate = row.estimate
    value = LearnedValue(
        kind=kind,
        key=key,
        value=estimate.value,
        low=estimate.low,
        high=estimate.high,
        observations=estimate.n,
        planned=estimate.planned,
        decided_by=user.username if user is not None else "",
    )
    return store.learned.confirm(value)


def withdraw_learned(store: Store, kind: LearnedKind, key: str, *, user: UserRecord | None) -> None:
    """Stop applying a learned value (managers only); NotFoundError when none is in force."""
    if user is not None:
        require_manager(user)
        _in_scope(scope_for(store, user), kind, key)
    if not store.learned.withdraw(kind, key):
        msg = f"no learned {kind.value} in force for {key!r}"
        raise NotFoundError(msg)


def _in_scope(scope: Scope, kind: LearnedKind, key: str) -> None:
    """NotFoundError for a rep or account outside ``scope``, as for one that does not exist."""
    if kind is LearnedKind.TRAVEL_FACTOR:
        scope.rep(key)
    else:
        scope.account(key)


def _key(row: RepTimes | AccountTimes) -> str:
    return row.rep_id if isinstance(row, RepTimes) else row.account_id


def _unknown(store: Store, kind: LearnedKind, key: str) -> bool:
    if kind is LearnedKind.TRAVEL_FACTOR:
        return all(r.rep_id != key for r in store.reps.all())
    return store.accounts.get(key) is None


def learned_for_planning(
    store: Store,
    *,
    apply_unconfirmed: bool = False,
    params: LearningParams | None = None,
    today: date | None = None,
) -> Learned:
    """What the next plan applies: confirmed values, and with ``apply_unconfirmed`` the current
    estimates (over ``params``' weeks and minimums) where nothing was confirmed, never
    overriding a manager's confirmation."""
    factors: dict[str, float] = {}
    seconds: dict[str, int] = {}
    if apply_unconfirmed and store.plans.current() is not None:
        times = field_times(store, params or LearningParams(), user=None, today=today)
        factors |= {r.rep_id: r.estimate.value for r in times.reps if r.estimate is not None}
        seconds |= {
            a.account_id: round(a.estimate.value) for a in times.accounts if a.estimate is not None
        }
    for value in store.learned.all():
        if value.kind is LearnedKind.TRAVEL_FACTOR:
            factors[value.key] = value.value
        else:
            seconds[value.key] = max(SHORTEST_VISIT_S, round(value.value))
    return Learned(factors, seconds)
