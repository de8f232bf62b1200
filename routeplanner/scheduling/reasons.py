"""Why a rep goes to an account on a given day: due, overdue, early, or a follow-up of a miss.

The rep's phone shows one short reason per stop, so the rep can tell the customer why they are
there and can judge which stops matter most when the day goes wrong. The reason is derived, not
stored: it follows from the account's gap bounds and the visit *before* the stop, which is the
latest of

- a visit reported done, checked in or cancelled before the stop's day (a cancellation is the
  customer declining: like plan repair, it counts as served for the spacing), or the
  account's imported ``last_visit``;
- a visit planned for the same account between ``today`` and the stop's day that has not been
  reported missed (it is expected to happen, as plan repair assumes too).

Planned visits already in the past without a report are not counted: nothing says they
happened, and the accounts page judges "overdue" by done visits alone as well. A visit reported
*missed* after the previous visit makes the stop a follow-up: the plan repair put it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from routeplanner.model import Account, DayRoute, Plan, VisitRule
from routeplanner.model.history import VisitRecord, VisitStatus

SERVED = frozenset({VisitStatus.DONE, VisitStatus.CHECKED_IN, VisitStatus.CANCELLED})


class ReasonKind(StrEnum):
    """The value is stable: it is sent over the API."""

    FIRST = "first"  # no earlier visit known
    EARLY = "early"  # before the rule's minimum gap (an extra, pinned visit)
    DUE = "due"  # within the rule's gap bounds
    OVERDUE = "overdue"  # later than the rule's maximum gap
    FOLLOW_UP = "follow-up"  # rescheduled after a visit reported missed


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitReason:
    """The reason for one visit; ``days_overdue`` is > 0 only past the maximum gap."""

    kind: ReasonKind
    days_overdue: int = 0
    previous: date | None = None  # the visit this one follows (done or expected)
    due_from: date | None = None  # previous + min gap
    due_by: date | None = None  # previous + max gap
    missed_on: date | None = None  # the missed visit a follow-up replaces

    @property
    def label(self) -> str:
        """A few words for a phone: ``overdue by 3 days``, ``follow-up (missed Tue 24.11.)``."""
        late = f"overdue by {_days(self.days_overdue)}" if self.days_overdue > 0 else ""
        if self.kind is ReasonKind.FOLLOW_UP:
            missed = f"missed {self.missed_on:%a %d.%m.}" if self.missed_on else "missed"
            return f"follow-up ({missed}{', ' + late if late else ''})"
        if self.kind is ReasonKind.OVERDUE:
            return late
        if self.kind is ReasonKind.EARLY:
            return f"early (due from {self.due_from:%a %d.%m.})" if self.due_from else "early"
        if self.kind is ReasonKind.FIRST:
            return "due (first visit)"
        return f"due (by {self.due_by:%a %d.%m.})" if self.due_by else "due"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def visit_reason(
    rule: VisitRule, day: date, previous: date | None, *, missed_on: date | None = None
) -> VisitReason:
    """The reason for a visit on ``day`` that follows a visit on ``previous`` (None: no history).

    ``missed_on`` is a missed visit of the same account between ``previous`` and ``day``; it
    turns the visit into a follow-up (which may be overdue as well).
    """
    if missed_on is not None and (previous is not None and missed_on <= previous):
        missed_on = None  # the account was seen after the miss: nothing to follow up
    if missed_on is not None and missed_on >= day:
        missed_on = None
    if previous is None:
        kind = ReasonKind.FOLLOW_UP if missed_on is not None else ReasonKind.FIRST
        return VisitReason(kind=kind, missed_on=missed_on)
    due_from = previous + timedelta(days=rule.min_gap_days)
    due_by = previous + timedelta(days=rule.max_gap_days)
    late = max(0, (day - due_by).days)
    if missed_on is not None:
        kind = ReasonKind.FOLLOW_UP
    elif late > 0:
        kind = ReasonKind.OVERDUE
    elif day < due_from:
        kind = ReasonKind.EARLY
    else:
        kind = ReasonKind.DUE
    return VisitReason(
        kind=kind,
        days_overdue=late,
        previous=previous,
        due_from=due_from,
        due_by=due_by,
        missed_on=missed_on,
    )


def route_reasons(
    route: DayRoute,
    plan: Plan,
    accounts: Mapping[str, Account],
    records: Iterable[VisitRecord],
    *,
    today: date,
) -> dict[str, VisitReason]:
    """Reasons for every stop of ``route``, keyed by visit id (see the module docstring).

    ``records`` is the visit history of (at least) the route's accounts up to the route's day;
    ``plan`` is the plan the route belongs to, for visits expected between today and that day.
    """
    wanted = {s.account_id for s in route.stops}
    done: dict[str, date] = {}
    missed: dict[str, date] = {}
    reported: dict[str, VisitStatus] = {}
    for r in records:
        if r.account_id not in wanted or r.day >= route.day:
            continue
        if r.visit_id:
            reported[r.visit_id] = r.status  # in recording order: the latest report wins
        if r.status in SERVED:
            done[r.account_id] = max(r.day, done.get(r.account_id, r.day))
        elif r.status is VisitStatus.MISSED:
            missed[r.account_id] = max(r.day, missed.get(r.account_id, r.day))
    expected: dict[str, date] = {}
    for other in plan.routes:
        if not today <= other.day < route.day:
            continue
        for s in other.stops:
            if s.account_id in wanted and reported.get(s.visit_id) is not VisitStatus.MISSED:
                expected[s.account_id] = max(other.day, expected.get(s.account_id, other.day))
    reasons: dict[str, VisitReason] = {}
    for stop in route.stops:
        account = accounts.get(stop.account_id)
        if account is None:
            continue
        known = (account.last_visit, done.get(stop.account_id), expected.get(stop.account_id))
        seen = [d for d in known if d is not None and d < route.day]
        reasons[stop.visit_id] = visit_reason(
            account.visit_rule,
            route.day,
            max(seen) if seen else None,
            missed_on=missed.get(stop.account_id),
        )
    return reasons
