"""Plan repair: record what really happened and change as few visits as possible.

The repair is lexicographic. First it places what must be placed, each with the fewest
changed visits: a visit missed on a frozen or past day is made up within its original due
window (or as soon as possible once that has passed), visits on days the rep can no longer
work (an absence, a holiday) move within the gaps their rule allows, ad-hoc visits go on
their day. Each is inserted where it adds the least driving into a day that still holds all
its visits in their order (one changed visit); failing that one other visit makes room by
moving within its own window (two); an ad-hoc visit may finally push out the least valuable
visit of its day. What cannot be placed is listed with the days it could have gone to and
why each failed. Only then is travel improved, by re-ordering at most ``move_budget`` visits
of the days already changed, each saving at least five minutes.

The past and the next ``frozen_days`` working days are the previous plan's very route
objects; so is every later day the repair did not touch. A rep with nothing new (no report,
absence or ad-hoc visit that affects the future) gets the previous plan back unchanged.
Every changed visit is in the :class:`~routeplanner.scheduling.changes.ChangeSet` with the
reason for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum

from routeplanner.model import Account, Horizon, Plan, Rep, Unassigned, UnassignedReason
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.model.history import VisitStatus
from routeplanner.scheduling.calendar import (
    ABSENT,
    HOLIDAY,
    NOT_WORKING,
    day_off_cause,
    day_spans,
    short_day,
    visit_windows,
    working_days,
)
from routeplanner.scheduling.changes import (
    ChangeKind,
    ChangeSet,
    Move,
    VisitChange,
    change_set,
    plan_changes,
)
from routeplanner.scheduling.day_router import visit_id
from routeplanner.scheduling.repair_days import FutureDays, Insertion
from routeplanner.travel.provider import TravelTimeProvider

__all__ = [
    "Absence",
    "AdHocVisit",
    "ChangeSet",
    "Move",
    "RepairResult",
    "VisitOutcome",
    "diff_plans",
    "frozen_until",
    "repair_plan",
]

HANDLED = "missed_handled"
"""Plan note listing the missed visits a repair has handled (ids, comma-separated)."""
MOVE_BUDGET = 1
"""Visits a repair may re-order for travel alone, after placing what had to be placed."""
DEVIATION_COST_S = 120
"""Driving seconds one day away from a visit's target day is worth when choosing its day."""
VALUE_RANK = {"A": 0, "B": 1, "C": 2}
"""An ad-hoc visit that finds no room pushes out a visit of the lowest value class first."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitOutcome:
    """A reported outcome of one planned visit; ``actual_day`` defaults to the planned day.

    The repair's view of a stored :class:`~routeplanner.model.history.VisitRecord`, keyed by
    planned visit id (the latest report of a visit wins). ``cancelled`` waives the occurrence
    (the customer declined): it counts as served for spacing and is not rescheduled;
    ``missed`` means the rep did not go: the account is due again, urgently; ``checked_in``
    counts like ``done``.
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


# ---------------------------------------------------------------------------- what happened


@dataclass(slots=True)
class _Happened:
    """What the reports and the frozen days say: each account's last real visit, the days
    it was missed (on frozen or past days), and planned later visits reported off (missed
    or cancelled ahead of time)."""

    last: dict[str, date] = field(default_factory=dict)
    missed: dict[str, list[tuple[date, str]]] = field(default_factory=dict)
    called_off: dict[tuple[str, date], VisitStatus] = field(default_factory=dict)

    def seen(self, account_id: str, day: date) -> None:
        if account_id not in self.last or day > self.last[account_id]:
            self.last[account_id] = day


def _what_happened(
    previous: Plan, rep_id: str, records: Sequence[VisitOutcome], cut: date
) -> _Happened:
    latest = {r.visit_id: r for r in records}  # in reporting order: the latest report wins
    planned: dict[str, tuple[str, date]] = {}
    for route in previous.routes_of(rep_id):
        for stop in route.stops:
            planned[stop.visit_id] = (stop.account_id, route.day)
    happened = _Happened()
    for rec in latest.values():
        account_id, day = planned.get(rec.visit_id, (rec.visit_id.split("@", 1)[0], None))
        actual = rec.actual_day or day
        if day is not None and day > cut and rec.status in (VisitStatus.MISSED, _CANCELLED):
            happened.called_off[(account_id, day)] = rec.status
        elif rec.status is VisitStatus.MISSED:
            if actual is not None:
                happened.missed.setdefault(account_id, []).append((actual, rec.visit_id))
        elif actual is not None:
            happened.seen(account_id, actual)
    for route in previous.routes_of(rep_id):
        if route.day > cut:
            continue
        for stop in route.stops:
            got = latest.get(stop.visit_id)
            # Unreported frozen visits are assumed to happen as planned (the common case).
            if got is None or got.status is not VisitStatus.MISSED:
                happened.seen(stop.account_id, route.day)
    return happened


_CANCELLED = VisitStatus.CANCELLED


# ---------------------------------------------------------------------------- what to place


class _Kind(StrEnum):
    AD_HOC = "ad-hoc"
    MAKE_UP = "make-up"
    DISPLACED = "displaced"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Task:
    """A visit the repair must place: on a day in ``lo``..``hi``, ideally ``target``."""

    kind: _Kind
    account: Account
    lo: date
    hi: date
    target: date
    why: str
    old_day: date | None = None  # displaced: the day it had
    missed_on: date | None = None  # make-up: the day missed
    next_day: date | None = None  # make-up: the next planned visit, which may come forward
    optional: bool = False  # a make-up not reported when it does not fit (see _make_up)
    late: float = float("inf")  # how late its account gets without it, in intervals

    @property
    def unplaced_day(self) -> date:
        """The day that names the visit when it cannot be placed: the day it had, else the
        day it was due (a make-up's id then differs from the missed visit's, still planned)."""
        return self.old_day or self.target


@dataclass(slots=True)
class _Repair:
    """One repair in progress: the days, what is known, and what changed so far."""

    rep: Rep
    horizon: Horizon
    cut: date
    holidays: frozenset[date]
    happened: _Happened
    days: FutureDays
    deadline: float
    changes: list[VisitChange] = field(default_factory=list)
    unplaced: list[Unassigned] = field(default_factory=list)
    placed: set[tuple[str, date]] = field(default_factory=set)

    def last_real(self, account: Account) -> date | None:
        seen = self.happened.last.get(account.account_id)
        known = [d for d in (seen, account.last_visit) if d is not None]
        return max(known) if known else None

    def change(
        self, kind: ChangeKind, account: Account, old: date | None, new: date | None, why: str
    ) -> None:
        self.changes.append(
            VisitChange(kind=kind, account_id=account.account_id, old_day=old, new_day=new, why=why)
        )
        if new is not None:
            self.placed.add((account.account_id, new))

    def lateness(self, account: Account, day: date) -> float:
        """How late the account's visits get, in intervals, without its visit on ``day``:
        the days the gap around it exceeds the max gap, over the nominal gap."""
        rule = account.visit_rule
        others = [d for d in self.days.days_of(account.account_id) if d != day]
        before = [d for d in others if d < day]
        prev = max(before) if before else self.last_real(account)
        if prev is None:
            prev = day - timedelta(days=rule.nominal_gap_days)
        after = [d for d in others if d > day]
        nxt = after[0] if after else self.horizon.end + timedelta(days=1)
        return max(0, (nxt - prev).days - rule.max_gap_days) / rule.nominal_gap_days

    def window(self, account: Account, day: date) -> tuple[date, date]:
        """Where the visit of ``account`` on ``day`` may move: near its day, within the gap
        bounds to the visits before and after it, after the frozen days."""
        rule = account.visit_rule
        n = rule.nominal_gap_days
        lo = day - timedelta(days=n - rule.min_gap_days)
        hi = day + timedelta(days=rule.max_gap_days - n)
        others = [d for d in self.days.days_of(account.account_id) if d != day]
        before = [d for d in others if d < day]
        prev = max(before) if before else self.last_real(account)
        after = [d for d in others if d > day]
        # A gap the visit already breaks may stay as it is, not get worse.
        if prev is not None:
            lo = max(lo, min(day, prev + timedelta(days=rule.min_gap_days)))
            hi = min(hi, max(day, prev + timedelta(days=rule.max_gap_days)))
        if after:
            lo = max(lo, min(day, after[0] - timedelta(days=rule.max_gap_days)))
            hi = min(hi, max(day, after[0] - timedelta(days=rule.min_gap_days)))
        return max(lo, self.cut + timedelta(days=1)), min(hi, self.horizon.end)


def _days_between(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def _called_off(repair: _Repair, accounts: Mapping[str, Account]) -> list[_Task]:
    """Later visits reported cancelled leave the plan; reported missed ones move."""
    tasks: list[_Task] = []
    for (account_id, day), status in sorted(repair.happened.called_off.items()):
        account = accounts.get(account_id)
        if account is None or account_id not in {a.account_id for a in repair.days.visits_on(day)}:
            continue
        if status is VisitStatus.CANCELLED:
            repair.days.remove(account_id, day)
            why = "cancelled: the customer declined the visit"
            repair.change(ChangeKind.DROPPED, account, day, None, why)
            continue
        lo, hi = repair.window(account, day)
        repair.days.remove(account_id, day)
        why = f"reported missed ahead of {short_day(day)}"
        tasks.append(_displaced(repair, account, day, lo, hi, why))
    return tasks


def _displaced(repair: _Repair, account: Account, day: date, lo: date, hi: date, why: str) -> _Task:
    return _Task(
        kind=_Kind.DISPLACED,
        account=account,
        lo=lo,
        hi=hi,
        target=min(max(day, lo), hi) if lo <= hi else day,
        why=why,
        old_day=day,
        late=repair.lateness(account, day),
    )


def _lost_days(repair: _Repair) -> list[_Task]:
    """Visits on days the rep can no longer work move; the days are emptied."""
    tasks: list[_Task] = []
    for day in sorted(repair.days.days):
        visits = repair.days.visits_on(day)
        if day in repair.days.available or not visits:
            continue
        cause = day_off_cause(repair.rep, day, repair.holidays) or NOT_WORKING
        why = {
            ABSENT: f"the rep is absent on {short_day(day)}",
            HOLIDAY: f"{short_day(day)} is a public holiday",
        }.get(cause, f"the rep does not work on {short_day(day)}")
        windows = [repair.window(a, day) for a in visits]
        repair.days.clear(day)
        tasks.extend(
            _displaced(repair, a, day, lo, hi, why)
            for a, (lo, hi) in zip(visits, windows, strict=True)
        )
    return tasks


def _make_ups(repair: _Repair, accounts: Sequence[Account], handled: set[str]) -> list[_Task]:
    """One make-up visit per account whose spacing a missed visit broke: from its last real
    visit to its next planned one is longer than the rule's max gap. A missed visit is
    handled once: its id joins ``handled`` (kept with the plan), so a later repair leaves
    what this one decided (made up, followed up or unplaced) alone."""
    tasks: list[_Task] = []
    for account in accounts:
        last = repair.last_real(account)
        reported = repair.happened.missed.get(account.account_id, [])
        missed = sorted(d for d, _ in reported if last is None or d > last)
        news = {v for _, v in reported} - handled
        handled.update(news)
        if not missed or not news:
            continue
        task = _make_up(repair, account, last, missed)
        if task is not None:
            tasks.append(task)
    return tasks


def _make_up(
    repair: _Repair, account: Account, last: date | None, missed: list[date]
) -> _Task | None:
    """The make-up visit's window: the missed visit's original one (as soon as possible once
    that has passed), ending the min gap before the next planned visit. When the next visit
    comes sooner, it is the follow-up: it may only come forward (no report if it cannot)."""
    rule = account.visit_rule
    base = last if last is not None else missed[0] - timedelta(days=rule.nominal_gap_days)
    coming = [d for d in repair.days.days_of(account.account_id) if d > repair.cut]
    nxt = coming[0] if coming else None
    if nxt is not None and (nxt - base).days <= rule.max_gap_days:
        return None  # the next planned visit comes in time: nothing to make up
    first = repair.cut + timedelta(days=1)
    lo = max(first, base + timedelta(days=rule.min_gap_days))
    hi = base + timedelta(days=rule.max_gap_days)
    if hi < first:
        lo, hi = first, first + timedelta(days=rule.nominal_gap_days - 1)
    follow_up = nxt is not None and nxt - timedelta(days=rule.min_gap_days) < lo
    if nxt is not None:
        hi = min(hi, nxt - timedelta(days=rule.min_gap_days))
    after_horizon = nxt is None and base + timedelta(days=rule.max_gap_days) > repair.horizon.end
    until = nxt or repair.horizon.end + timedelta(days=1)
    return _Task(
        kind=_Kind.MAKE_UP,
        account=account,
        lo=lo,
        hi=min(hi, repair.horizon.end),
        target=max(lo, base + timedelta(days=rule.nominal_gap_days)),
        why=f"makes up for the visit missed on {short_day(missed[-1])}",
        missed_on=missed[-1],
        next_day=nxt,
        optional=follow_up or after_horizon,
        late=max(0, (until - base).days - rule.max_gap_days) / rule.nominal_gap_days,
    )


def _ad_hoc(
    repair: _Repair, visits: Sequence[AdHocVisit], accounts: Mapping[str, Account]
) -> list[_Task]:
    tasks: list[_Task] = []
    for extra in visits:
        account = accounts.get(extra.account_id)
        if account is None or extra.day <= repair.cut or extra.day > repair.horizon.end:
            continue
        if extra.day in repair.days.days_of(extra.account_id):
            continue
        tasks.append(
            _Task(
                kind=_Kind.AD_HOC,
                account=account,
                lo=extra.day,
                hi=extra.day,
                target=extra.day,
                why=f"ad-hoc visit requested for {short_day(extra.day)}",
            )
        )
    return tasks


# ---------------------------------------------------------------------------- placing


@dataclass(frozen=True, slots=True)
class _Option:
    """One way to place a task: its changed visits, then its cost (driving plus distance
    from the target day), and the steps that carry it out."""

    changed: int
    cost: float
    steps: tuple[tuple[str, Account, date | None, Insertion | None, str], ...]


def _cost(task: _Task, at: Insertion) -> float:
    return at.added_drive_s + DEVIATION_COST_S * abs((at.day - task.target).days)


def _insertions(repair: _Repair, task: _Task, *, without: str | None = None) -> list[Insertion]:
    """Feasible insertions of the task's visit on each open day of its window."""
    found: list[Insertion] = []
    for day in _days_between(task.lo, task.hi):
        if not repair.days.can_visit(task.account, day) or day == task.old_day:
            continue
        got = repair.days.best_insertion(task.account, day, without=without)
        if isinstance(got, Insertion):
            found.append(got)
    return found


def _direct(repair: _Repair, task: _Task) -> _Option | None:
    """Insert the visit itself: one changed visit."""
    found = _insertions(repair, task)
    if not found:
        return None
    best = min(found, key=lambda at: _cost(task, at))
    return _Option(1, _cost(task, best), (("insert", task.account, None, best, ""),))


def _bring_forward(repair: _Repair, task: _Task) -> _Option | None:
    """A make-up whose window holds no day: move the next planned visit earlier instead, if
    the visit after it stays within the max gap. One changed visit."""
    if task.kind is not _Kind.MAKE_UP or task.next_day is None:
        return None
    account, nxt = task.account, task.next_day
    lo, hi = repair.window(account, nxt)
    lo = max(lo, repair.cut + timedelta(days=1))
    hi = min(hi, nxt - timedelta(days=1))
    early = replace(task, lo=lo, hi=hi, target=lo)
    found = [at for at in _insertions(repair, early) if at.day != nxt]
    if not found:
        return None
    best = min(found, key=lambda at: _cost(early, at))
    why = f"brought forward to make up for the visit missed on {short_day(task.missed_on or nxt)}"
    return _Option(1, _cost(early, best), (("move", account, nxt, best, why),))


def _with_room_made(repair: _Repair, task: _Task) -> _Option | None:
    """Insert the visit on a day of its window after moving one of that day's visits within
    its own window: two changed visits."""
    best: _Option | None = None
    for day in _days_between(task.lo, task.hi):
        if time.monotonic() > repair.deadline:
            break
        if not repair.days.can_visit(task.account, day) or day == task.old_day:
            continue
        for other in repair.days.visits_on(day):
            if (other.account_id, day) in repair.placed:
                continue
            option = _swap(repair, task, day, other)
            if option is not None and (best is None or option.cost < best.cost):
                best = option
    return best


def _swap(repair: _Repair, task: _Task, day: date, other: Account) -> _Option | None:
    here = repair.days.best_insertion(task.account, day, without=other.account_id)
    if not isinstance(here, Insertion):
        return None
    lo, hi = repair.window(other, day)
    moved = _Task(
        kind=_Kind.DISPLACED, account=other, lo=lo, hi=hi, target=day, why="", old_day=day
    )
    there = [at for at in _insertions(repair, moved) if at.day != day]
    if not there:
        return None
    best = min(there, key=lambda at: _cost(moved, at))
    why = f"moved to make room for {task.account.name or task.account.account_id} ({task.why})"
    steps = (
        ("remove", other, day, None, ""),
        ("insert", task.account, None, here, ""),
        ("move", other, day, best, why),
    )
    return _Option(2, _cost(task, here) + _cost(moved, best), steps)


def _push_out(repair: _Repair, task: _Task) -> _Option | None:
    """No room anywhere: leave out a visit of a day in the window whose account gets less
    late without it than the task's account does (an ad-hoc visit outranks every visit).
    Chosen by the least lateness in all (the visit left out, plus the task's own delay past
    its target day), then the lowest value class. Two changed visits."""
    nominal = task.account.visit_rule.nominal_gap_days
    best: tuple[tuple[float, int, float], _Option] | None = None
    for day in _days_between(task.lo, task.hi):
        if time.monotonic() > repair.deadline:
            break
        if not repair.days.can_visit(task.account, day) or day == task.old_day:
            continue
        for other in repair.days.visits_on(day):
            if (other.account_id, day) in repair.placed:
                continue
            late = repair.lateness(other, day)
            if late >= task.late:
                continue
            here = repair.days.best_insertion(task.account, day, without=other.account_id)
            if not isinstance(here, Insertion):
                continue
            delay = max(0, (day - task.target).days) / nominal
            key = (late + delay, -VALUE_RANK.get(other.value_class, 1), _cost(task, here))
            if best is None or key < best[0]:
                name = task.account.name or task.account.account_id
                why = f"left out in favour of {name} ({task.why})"
                steps = (("drop", other, day, None, why), ("insert", task.account, None, here, ""))
                best = (key, _Option(2, key[2], steps))
    return best[1] if best is not None else None


def _apply(repair: _Repair, task: _Task, option: _Option) -> None:
    for action, account, old, at, why in option.steps:
        if action == "remove" and old is not None:
            repair.days.remove(account.account_id, old)
        elif action == "drop" and old is not None:
            repair.days.remove(account.account_id, old)
            repair.change(ChangeKind.DROPPED, account, old, None, why)
            repair.unplaced.append(
                Unassigned(
                    visit_id=visit_id(account.account_id, old),
                    account_id=account.account_id,
                    reason=UnassignedReason.DROPPED_LOW_PRIORITY,
                    detail=why,
                    day=old,
                )
            )
        elif action == "move" and old is not None and at is not None:
            if account.account_id in {a.account_id for a in repair.days.visits_on(old)}:
                repair.days.remove(account.account_id, old)
            repair.days.insert(account, at)
            repair.change(ChangeKind.MOVED, account, old, at.day, why)
        elif action == "insert" and at is not None:
            repair.days.insert(account, at)
            if task.old_day is not None:
                repair.change(ChangeKind.MOVED, account, task.old_day, at.day, task.why)
            else:
                repair.change(ChangeKind.ADDED, account, None, at.day, task.why)


def _place(repair: _Repair, task: _Task) -> None:
    """The option with the fewest changed visits, then the cheapest; else say why not."""
    for search in (_direct, _bring_forward, _with_room_made, _push_out):
        option = search(repair, task)
        if option is not None:
            _apply(repair, task, option)
            return
    if task.old_day is not None or not task.optional:
        _give_up(repair, task, *_why_not(repair, task))


def _give_up(repair: _Repair, task: _Task, reason: UnassignedReason, detail: str) -> None:
    """List the task's visit as unplaced; a visit that was planned is dropped."""
    why = f"{task.why}; {detail}"
    if task.old_day is not None:
        repair.change(ChangeKind.DROPPED, task.account, task.old_day, None, why)
    repair.unplaced.append(_unplaced(task, reason, why))


def _unplaced(task: _Task, reason: UnassignedReason, detail: str) -> Unassigned:
    day = task.unplaced_day
    return Unassigned(
        visit_id=visit_id(task.account.account_id, day),
        account_id=task.account.account_id,
        reason=reason,
        detail=detail,
        day=day,
    )


_FULL = (
    UnassignedReason.DAY_FULL_TIME,
    UnassignedReason.DAY_FULL_VISITS,
    UnassignedReason.DAY_FULL_DRIVE,
)


def _why_not(repair: _Repair, task: _Task) -> tuple[UnassignedReason, str]:
    """The true cause, day by day over the task's window: absent, holiday, closed, already
    visited, or full (and how: hours, visits, driving)."""
    if task.lo > task.hi:
        return (
            UnassignedReason.FREQUENCY_IMPOSSIBLE,
            "no day keeps the gaps of its rule to the visits before and after it",
        )
    causes: dict[str, list[date]] = {}
    full: list[UnassignedReason] = []
    for day in _days_between(task.lo, task.hi):
        off = day_off_cause(repair.rep, day, repair.holidays)
        if off is not None:
            cause = {ABSENT: "the rep is absent", HOLIDAY: "public holiday"}.get(off, "")
        elif not visit_windows(task.account, repair.rep, day):
            cause = "closed"
        elif day in repair.days.days_of(task.account.account_id) or day == task.old_day:
            cause = "visited that day already"
        else:
            got = repair.days.best_insertion(task.account, day)
            reason = got if isinstance(got, UnassignedReason) else UnassignedReason.DAY_FULL_TIME
            full.append(reason)
            cause = f"full ({reason.label.removeprefix('the day is full: ')})"
        if cause:
            causes.setdefault(cause, []).append(day)
    parts = [f"{cause} {day_spans(days)}" for cause, days in causes.items()]
    span = f"{short_day(task.lo)}–{short_day(task.hi)}" if task.lo < task.hi else ""
    detail = f"no day {span or short_day(task.lo)} has room: " + "; ".join(parts)
    if full:
        return max(set(full), key=full.count), detail
    if "the rep is absent" in causes:
        return UnassignedReason.REP_ABSENT, detail
    if "public holiday" in causes:
        return UnassignedReason.PUBLIC_HOLIDAY, detail
    if "closed" in causes:
        return UnassignedReason.OUTSIDE_OPENING_HOURS, detail
    return UnassignedReason.NO_ALLOWED_DAY, detail


def _improve(repair: _Repair, budget: int) -> None:
    """Re-order visits of the changed days for travel, at most ``budget`` visits."""
    changed = sorted({c.new_day for c in repair.changes if c.new_day is not None})
    fixed = {a for a, _ in repair.placed}
    while budget > 0 and time.monotonic() < repair.deadline:
        best: tuple[date, Account, int] | None = None
        for day in changed:
            probe = repair.days.improve_order(day, fixed, apply=False)
            if probe is not None and (best is None or probe[1] > best[2]):
                best = (day, probe[0], probe[1])
        if best is None:
            return
        day, account, saved = best
        repair.days.improve_order(day, fixed, apply=True)
        why = f"re-ordered to save {round(saved / 60)} min of driving on {short_day(day)}"
        repair.change(ChangeKind.REORDERED, account, day, day, why)
        fixed.add(account.account_id)
        budget -= 1


# ---------------------------------------------------------------------------- the repair


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
    move_budget: int = MOVE_BUDGET,
    time_limit_s: float = 10.0,
) -> RepairResult:
    """Repair ``rep``'s part of ``previous`` after what happened (see the module docstring).

    ``accounts`` are the rep's territory; ``records`` the reports of the rep's visits (all
    of the horizon: what earlier repairs already handled changes nothing again). Visits are
    only inserted, moved or left out, so ``time_limit_s`` bounds only the search for room
    (moving another visit aside) and the re-ordering for travel.
    """
    cut = frozen_until(rep, today, frozen_days, horizon)
    by_id = {a.account_id: a for a in accounts}
    mine = previous.routes_of(rep.rep_id)
    worker = replace(rep, days_off=rep.days_off.union(*(a.days() for a in absences)))
    available = [d for d in working_days(worker, horizon, holidays) if d > cut]
    repair = _Repair(
        rep=worker,
        horizon=horizon,
        cut=cut,
        holidays=holidays,
        happened=_what_happened(previous, rep.rep_id, records, cut),
        days=FutureDays.of(worker, travel, [r for r in mine if r.day > cut], by_id, available),
        deadline=time.monotonic(),
    )
    before = [u for u in previous.unassigned if u.account_id in by_id]
    meta = _meta(previous, rep, cut, by_id)
    handled = {v for v in meta.get(HANDLED, "").split(",") if v}
    tasks = _called_off(repair, by_id) + _lost_days(repair) + _make_ups(repair, accounts, handled)
    tasks.sort(key=lambda t: (t.hi, t.hi - t.lo, t.account.account_id))
    tasks = _ad_hoc(repair, ad_hoc, by_id) + tasks
    if tasks or repair.changes:
        off = {a.account_id for a in repair.days.prepare([t.account for t in tasks])}
        repair.deadline = time.monotonic() + time_limit_s  # the search, not the matrix
        for task in tasks:
            if task.account.account_id in off:
                detail = "the account is too far from any road"
                _give_up(repair, task, UnassignedReason.UNREACHABLE, detail)
            else:
                _place(repair, task)
        _improve(repair, move_budget)
    timed, lost = repair.days.routes()
    for gone in lost:
        why = f"no longer fits on {short_day(gone.day or cut)}: {gone.reason.label}"
        repair.change(ChangeKind.DROPPED, by_id[gone.account_id], gone.day, None, why)
        repair.unplaced.append(replace(gone, detail=why))
    routes = tuple(r for r in mine if r.day <= cut) + tuple(timed)
    fresh = {u.visit_id for u in repair.unplaced}
    unassigned = tuple(u for u in before if u.visit_id not in fresh) + tuple(repair.unplaced)
    meta[HANDLED] = ",".join(sorted(handled))
    plan = Plan(routes=routes, unassigned=unassigned, meta=meta)
    return RepairResult(plan=plan, changes=change_set(repair.changes), frozen_until=cut)


def _meta(previous: Plan, rep: Rep, cut: date, accounts: Mapping[str, Account]) -> dict[str, str]:
    """The rep's part of the previous plan's notes (search statistics, frequency issues, the
    missed visits handled): prefixed by the rep's id in a merged plan, plain in a rep's own."""
    prefix = f"{rep.rep_id}."
    meta = {k.removeprefix(prefix): v for k, v in previous.meta.items() if k.startswith(prefix)}
    if previous.meta.get("rep_id") == rep.rep_id:
        meta = {**previous.meta, **meta}
    issues = [a for a in previous.meta.get("frequency_issues", "").split(",") if a in accounts]
    meta.update(rep_id=rep.rep_id, frozen_until=cut.isoformat())
    meta["frequency_issues"] = ",".join(issues)
    return meta


def diff_plans(old: Plan, new: Plan, rep_id: str, *, after: date) -> ChangeSet:
    """The changed visits of ``rep_id`` after ``after`` between two stored plans, for a repair
    whose own change list was not kept: a dropped visit takes its reason from the new plan's
    unplaced list, other changes say only that a repair made them."""
    reasons = {u.visit_id: u.message for u in new.unassigned}
    found = plan_changes(old, new, rep_id, first=after + timedelta(days=1))
    generic = {
        ChangeKind.ADDED: "added by a plan repair",
        ChangeKind.MOVED: "moved by a plan repair",
        ChangeKind.REORDERED: "re-ordered by a plan repair",
        ChangeKind.DROPPED: "left out by a plan repair",
    }
    return ChangeSet(
        tuple(replace(c, why=reasons.get(c.visit_id, generic[c.kind])) for c in found.changes)
    )
