"""The plan repair before the lexicographic one (commit 8b267be), kept as a baseline only.

It re-planned a rep's whole future with the periodic scheduler, the previous days as
preferences (each move costing two hours of driving) and missed accounts made urgent, and
kept the previous route object of days whose visits did not change. ``benchmarks.repair_churn``
measures it beside :func:`routeplanner.scheduling.repair.repair_plan` on the same reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from routeplanner.model import Account, DayRoute, Horizon, Plan, Rep
from routeplanner.model.history import VisitStatus
from routeplanner.scheduling.periodic import solve_periodic
from routeplanner.scheduling.repair import VisitOutcome, frozen_until
from routeplanner.scheduling.scheduler import schedule_visits
from routeplanner.travel.provider import TravelTimeProvider


@dataclass(frozen=True, slots=True)
class _Happened:
    last: dict[str, date]
    missed: set[str]
    missed_on: dict[str, date | None]


def _what_happened(
    previous: Plan, rep_id: str, records: Sequence[VisitOutcome], cut: date
) -> _Happened:
    by_id = {r.visit_id: r for r in records}
    planned: dict[str, tuple[str, date]] = {}
    for r in previous.routes_of(rep_id):
        for s in r.stops:
            planned[s.visit_id] = (s.account_id, r.day)
    happened = _Happened(last={}, missed=set(), missed_on={})
    for rec in records:
        account_id, day0 = planned.get(rec.visit_id, (rec.visit_id.split("@", 1)[0], None))
        day = rec.actual_day or day0
        if rec.status is VisitStatus.MISSED:
            happened.missed.add(rec.visit_id)
            first = happened.missed_on.get(account_id)
            if day is not None and (first is None or day < first):
                first = day
            happened.missed_on[account_id] = first
        elif day is not None and day > happened.last.get(account_id, date.min):
            happened.last[account_id] = day
    for r in previous.routes_of(rep_id):
        if r.day > cut:
            continue
        for s in r.stops:
            got = by_id.get(s.visit_id)
            if got is not None and got.status is VisitStatus.MISSED:
                continue
            if r.day > happened.last.get(s.account_id, date.min):
                happened.last[s.account_id] = r.day
    return happened


def _updated_accounts(
    accounts: Sequence[Account], happened: _Happened, today: date
) -> tuple[list[Account], dict[str, float]]:
    updated: list[Account] = []
    urgency: dict[str, float] = {}
    for acc in accounts:
        seen = happened.last.get(acc.account_id)
        new_last = acc.last_visit
        if seen is not None and (new_last is None or seen > new_last):
            new_last = seen
        gone = happened.missed_on.get(acc.account_id)
        if gone is not None:
            due_from = gone - timedelta(days=acc.visit_rule.nominal_gap_days)
            if new_last is None or new_last < due_from:
                new_last = due_from
        updated.append(replace(acc, last_visit=new_last) if new_last != acc.last_visit else acc)
        if acc.account_id in happened.missed_on:
            rule = acc.visit_rule
            since = (today - new_last).days if new_last is not None else rule.max_gap_days
            urgency[acc.account_id] = 1.0 + max(0, since) / rule.nominal_gap_days
    return updated, urgency


def baseline_repair(
    previous: Plan,
    accounts: Sequence[Account],
    rep: Rep,
    horizon: Horizon,
    travel: TravelTimeProvider,
    *,
    today: date,
    records: Sequence[VisitOutcome] = (),
    frozen_days: int = 1,
    holidays: frozenset[date] = frozenset(),
    time_limit_s: float = 3.0,
) -> Plan:
    """The rep's repaired plan as the old repair made it."""
    cut = frozen_until(rep, today, frozen_days, horizon)
    happened = _what_happened(previous, rep.rep_id, records, cut)
    updated, urgency = _updated_accounts(accounts, happened, today)
    plan = schedule_visits(
        updated,
        rep,
        horizon,
        travel,
        holidays=holidays,
        time_limit_s=time_limit_s,
        frozen_until=cut,
        previous=previous,
        urgency=urgency,
        exclude_visits=frozenset(happened.missed),
        search=solve_periodic,  # the search the old repair ran with, so the baseline stays put
    )
    before = {r.day: r for r in previous.routes_of(rep.rep_id) if r.day > cut}
    routes: list[DayRoute] = []
    for r in plan.routes:
        old = before.get(r.day)
        same = old is not None and {s.visit_id for s in old.stops} == {s.visit_id for s in r.stops}
        routes.append(old if same and old is not None else r)
    return replace(plan, routes=tuple(routes))
