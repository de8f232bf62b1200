"""Plan repair: record what really happened and re-plan the future with as few moves as possible.

The past and the next ``frozen_days`` working days are copied from the previous plan as the very
same objects (reps have committed to them). The rest is re-planned by the scheduler with the
previous days as preferences (each move costs), missed visits made urgent (their account is
overdue) and absences as days off. Future days whose visits did not change keep their previous
route object, so calendars only change where the plan changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from routeplanner.model import Account, DayRoute, Horizon, Plan, Rep
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.model.history import VisitStatus
from routeplanner.scheduling.calendar import working_days
from routeplanner.scheduling.day_router import DayRouter, visit_id
from routeplanner.scheduling.scheduler import schedule_visits
from routeplanner.travel.provider import TravelTimeProvider


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitOutcome:
    """A reported outcome of one planned visit; ``actual_day`` defaults to the planned day.

    The repair's view of a stored :class:`~routeplanner.model.history.VisitRecord`, keyed by
    planned visit id. ``cancelled`` waives the occurrence (the customer declined): it counts as
    served for spacing and is not rescheduled; ``missed`` means the rep did not go: the account
    is due again, urgently; ``checked_in`` counts like ``done``.
    """

    visit_id: str
    status: VisitStatus
    actual_day: date | None = None
    actual_start_s: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AdHocVisit:
    """An extra visit the manager pins to a day (e.g. a complaint to handle)."""

    account_id: str
    day: date


@dataclass(frozen=True, slots=True, kw_only=True)
class Absence:
    """The rep cannot work from ``start`` to ``end`` inclusive (illness, training)."""

    start: date
    end: date

    def days(self) -> frozenset[date]:
        n = (self.end - self.start).days
        return frozenset(self.start + timedelta(days=i) for i in range(n + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class Move:
    account_id: str
    old_day: date
    new_day: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSet:
    """What changed in the future part of the plan, for the UI and the calendar feed."""

    moved: tuple[Move, ...] = ()
    added: tuple[str, ...] = ()  # visit ids new in the plan
    dropped: tuple[str, ...] = ()  # visit ids no longer in the plan

    @property
    def size(self) -> int:
        return len(self.moved) + len(self.added) + len(self.dropped)


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairResult:
    plan: Plan
    changes: ChangeSet
    frozen_until: date


def frozen_until(rep: Rep, today: date, frozen_days: int, horizon: Horizon) -> date:
    """The last frozen day: yesterday plus the next ``frozen_days`` working days from today."""
    if frozen_days <= 0:
        return today - timedelta(days=1)
    ahead = Horizon(
        start=today,
        weeks=max(1, min(MAX_HORIZON_WEEKS, frozen_days // 5 + 2)),
        timezone=horizon.timezone,
    )
    days = working_days(rep, ahead)
    if len(days) >= frozen_days:
        return days[frozen_days - 1]
    return today + timedelta(days=frozen_days - 1)


def _future_days(plan: Plan, rep_id: str, after: date) -> dict[str, list[date]]:
    out: dict[str, list[date]] = {}
    for r in plan.routes_of(rep_id):
        if r.day > after:
            for s in r.stops:
                out.setdefault(s.account_id, []).append(r.day)
    return out


def repair_plan(
    previous: Plan,
    accounts: Sequence[Account],
    rep: Rep,
    horizon: Horizon,
    travel: TravelTimeProvider,
    *,
    today: date,
    records: Sequence[VisitOutcome] = (),
    ad_hoc: Sequence[AdHocVisit] = (),
    absences: Sequence[Absence] = (),
    frozen_days: int = 1,
    holidays: frozenset[date] = frozenset(),
    time_limit_s: float = 10.0,
    max_iterations: int | None = None,
    seed: int = 0,
    day_router: DayRouter | None = None,
) -> RepairResult:
    """Re-plan ``previous`` after what happened; see the module docstring for the guarantees.

    Urgency of a missed visit's account grows with the days since its last real visit relative
    to its nominal interval, so when days are full the most overdue accounts are placed first.
    """
    cut = frozen_until(rep, today, frozen_days, horizon)
    happened = _what_happened(previous, rep.rep_id, records, cut)
    updated, urgency = _updated_accounts(accounts, happened, today)
    absent = frozenset(d for a in absences for d in a.days() if d > cut)
    acc_by_id = {a.account_id: a for a in updated}
    pinned: dict[date, list[Account]] = {}
    for extra in ad_hoc:
        if extra.day > cut and extra.account_id in acc_by_id:
            pinned.setdefault(extra.day, []).append(acc_by_id[extra.account_id])
    plan = schedule_visits(
        updated,
        replace(rep, days_off=rep.days_off | absent),
        horizon,
        travel,
        holidays=holidays,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        seed=seed,
        frozen_until=cut,
        previous=previous,
        day_router=day_router,
        urgency=urgency,
        exclude_visits=frozenset(happened.missed),
        pinned=pinned,
    )
    plan = _keep_unchanged_days(plan, previous, rep.rep_id, cut)
    changes = diff_plans(previous, plan, rep.rep_id, after=cut)
    return RepairResult(plan=plan, changes=changes, frozen_until=cut)


@dataclass(frozen=True, slots=True)
class _Happened:
    """What the records and the frozen days say: each account's last real visit, the missed
    visit ids, and per account with a miss the first missed day (``None``: not known)."""

    last: dict[str, date]
    missed: set[str]
    missed_on: dict[str, date | None]


def _what_happened(
    previous: Plan, rep_id: str, records: Sequence[VisitOutcome], cut: date
) -> _Happened:
    by_id = {r.visit_id: r for r in records}
    planned_day: dict[str, date] = {}
    planned_account: dict[str, str] = {}
    for r in previous.routes_of(rep_id):
        for s in r.stops:
            planned_day[s.visit_id] = r.day
            planned_account[s.visit_id] = s.account_id
    last: dict[str, date] = {}
    happened = _Happened(last=last, missed=set(), missed_on={})
    for rec in records:
        day = rec.actual_day or planned_day.get(rec.visit_id)
        account_id = planned_account.get(rec.visit_id, rec.visit_id.split("@", 1)[0])
        if rec.status is VisitStatus.MISSED:
            happened.missed.add(rec.visit_id)
            first = happened.missed_on.get(account_id)
            if day is not None and (first is None or day < first):
                first = day
            happened.missed_on[account_id] = first
        elif day is not None and (account_id not in last or day > last[account_id]):
            last[account_id] = day
    for r in previous.routes_of(rep_id):
        if r.day > cut:
            continue
        for s in r.stops:
            got = by_id.get(s.visit_id)
            if got is not None and got.status is VisitStatus.MISSED:
                continue
            # Unreported frozen visits are assumed to happen as planned (the common case).
            if s.account_id not in last or r.day > last[s.account_id]:
                last[s.account_id] = r.day
    return happened


def _updated_accounts(
    accounts: Sequence[Account], happened: _Happened, today: date
) -> tuple[list[Account], dict[str, float]]:
    """Accounts with their last visit brought up to date, and the urgency of missed ones."""
    updated: list[Account] = []
    urgency: dict[str, float] = {}
    for acc in accounts:
        seen = happened.last.get(acc.account_id)
        new_last = acc.last_visit
        if seen is not None and (new_last is None or seen > new_last):
            new_last = seen
        gone = happened.missed_on.get(acc.account_id)
        if gone is not None:
            # The missed visit was due on its planned day: act as if the previous real visit
            # was one nominal interval before it, so the replacement's due window is the
            # original one (now in the past) and the scheduler places it as soon as it can.
            # Without this, an account with no history would just wait for its next cycle.
            due_from = gone - timedelta(days=acc.visit_rule.nominal_gap_days)
            if new_last is None or new_last < due_from:
                new_last = due_from
        updated.append(replace(acc, last_visit=new_last) if new_last != acc.last_visit else acc)
        if acc.account_id in happened.missed_on:
            since = (today - new_last).days if new_last is not None else acc.visit_rule.max_gap_days
            urgency[acc.account_id] = 1.0 + max(0, since) / acc.visit_rule.nominal_gap_days
    return updated, urgency


def _keep_unchanged_days(plan: Plan, previous: Plan, rep_id: str, cut: date) -> Plan:
    """Future days with the same visits as before keep their previous route object."""
    prev_routes = {r.day: r for r in previous.routes_of(rep_id) if r.day > cut}
    routes: list[DayRoute] = []
    for r in plan.routes:
        old = prev_routes.get(r.day)
        same = old is not None and {s.visit_id for s in old.stops} == {s.visit_id for s in r.stops}
        routes.append(old if same and old is not None else r)
    return replace(plan, routes=tuple(routes))


def diff_plans(old: Plan, new: Plan, rep_id: str, *, after: date) -> ChangeSet:
    """Moves (same account, another day), additions and drops among days after ``after``."""
    before = _future_days(old, rep_id, after)
    now = _future_days(new, rep_id, after)
    moved: list[Move] = []
    added: list[str] = []
    dropped: list[str] = []
    for acc in sorted(set(before) | set(now)):
        a = sorted(set(before.get(acc, [])) - set(now.get(acc, [])))
        b = sorted(set(now.get(acc, [])) - set(before.get(acc, [])))
        for o, n in zip(a, b, strict=False):
            moved.append(Move(account_id=acc, old_day=o, new_day=n))
        dropped.extend(visit_id(acc, d) for d in a[len(b) :])
        added.extend(visit_id(acc, d) for d in b[len(a) :])
    return ChangeSet(moved=tuple(moved), added=tuple(added), dropped=tuple(dropped))
