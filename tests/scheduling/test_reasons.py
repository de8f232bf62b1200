"""Why a stop is on the day: due / overdue by N days / early / follow-up of a missed visit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routeplanner.model import DayRoute, Plan, Stop, VisitRule
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.scheduling.day_router import visit_id
from routeplanner.scheduling.reasons import ReasonKind, route_reasons, visit_reason
from tests.scheduling.factories import make_accounts

WEEKLY = VisitRule.parse("weekly")  # nominal 7 days, gap bounds 5..9
TUESDAY = date(2026, 11, 24)


def test_weekly_gap_bounds_are_what_the_reasons_assume() -> None:
    assert (WEEKLY.min_gap_days, WEEKLY.max_gap_days) == (5, 9)


@pytest.mark.parametrize(
    ("gap", "kind", "late", "label"),
    [
        (4, ReasonKind.EARLY, 0, "early (due from Wed 25.11.)"),
        (5, ReasonKind.DUE, 0, "due (by Sat 28.11.)"),
        (9, ReasonKind.DUE, 0, "due (by Tue 24.11.)"),
        (10, ReasonKind.OVERDUE, 1, "overdue by 1 day"),
        (16, ReasonKind.OVERDUE, 7, "overdue by 7 days"),
    ],
)
def test_gap_to_the_previous_visit_decides(
    gap: int, kind: ReasonKind, late: int, label: str
) -> None:
    previous = TUESDAY - timedelta(days=gap)
    reason = visit_reason(WEEKLY, TUESDAY, previous)
    assert reason.kind is kind
    assert reason.days_overdue == late
    assert reason.label == label
    assert reason.previous == previous
    assert reason.due_from == previous + timedelta(days=5)
    assert reason.due_by == previous + timedelta(days=9)


def test_no_history_is_a_first_visit() -> None:
    reason = visit_reason(WEEKLY, TUESDAY, None)
    assert reason.kind is ReasonKind.FIRST
    assert reason.label == "due (first visit)"
    assert reason.days_overdue == 0


def test_a_miss_after_the_previous_visit_makes_a_follow_up() -> None:
    reason = visit_reason(
        WEEKLY, TUESDAY, TUESDAY - timedelta(days=12), missed_on=TUESDAY - timedelta(days=5)
    )
    assert reason.kind is ReasonKind.FOLLOW_UP
    assert reason.days_overdue == 3
    assert reason.label == "follow-up (missed Thu 19.11., overdue by 3 days)"
    on_time = visit_reason(WEEKLY, TUESDAY, TUESDAY - timedelta(days=6), missed_on=TUESDAY)
    assert on_time.kind is ReasonKind.DUE  # a miss on the day itself is not a follow-up
    seen_since = visit_reason(
        WEEKLY, TUESDAY, TUESDAY - timedelta(days=2), missed_on=TUESDAY - timedelta(days=3)
    )
    assert seen_since.kind is ReasonKind.EARLY  # visited after the miss: nothing to follow up
    no_history = visit_reason(WEEKLY, TUESDAY, None, missed_on=TUESDAY - timedelta(days=1))
    assert no_history.kind is ReasonKind.FOLLOW_UP
    assert no_history.label == "follow-up (missed Mon 23.11.)"


@given(
    gap=st.integers(min_value=1, max_value=400),
    interval=st.integers(min_value=1, max_value=90),
)
def test_overdue_days_count_past_the_max_gap(gap: int, interval: int) -> None:
    rule = VisitRule.parse(f"every {interval} days")
    reason = visit_reason(rule, TUESDAY, TUESDAY - timedelta(days=gap))
    assert reason.days_overdue == max(0, gap - rule.max_gap_days)
    assert (reason.kind is ReasonKind.OVERDUE) == (gap > rule.max_gap_days)
    assert (reason.kind is ReasonKind.EARLY) == (gap < rule.min_gap_days)


def _stop(account_id: str, day: date) -> Stop:
    return Stop(
        visit_id=visit_id(account_id, day),
        account_id=account_id,
        arrival_s=9 * 3600,
        start_s=9 * 3600,
        departure_s=9 * 3600 + 1800,
        travel_s=600,
        distance_m=5000,
    )


def _route(day: date, *account_ids: str) -> DayRoute:
    stops = tuple(_stop(a, day) for a in account_ids)
    return DayRoute(rep_id="r1", day=day, start_s=8 * 3600, end_s=17 * 3600, stops=stops)


def _record(account_id: str, day: date, status: VisitStatus) -> VisitRecord:
    return VisitRecord(
        account_id=account_id,
        rep_id="r1",
        day=day,
        status=status,
        visit_id=visit_id(account_id, day),
    )


def test_route_reasons_from_history_and_the_plan() -> None:
    base = make_accounts(1, 4)
    weekly = [replace(a, visit_rule=WEEKLY, last_visit=None) for a in base]
    a, b, c, d = weekly
    a = replace(a, last_visit=TUESDAY - timedelta(days=30))  # imported history only
    accounts = {x.account_id: x for x in (a, b, c, d)}
    monday = TUESDAY - timedelta(days=1)
    next_tuesday = TUESDAY + timedelta(days=7)
    day = _route(TUESDAY, a.account_id, b.account_id, c.account_id, d.account_id)
    later = _route(next_tuesday, a.account_id, b.account_id)
    plan = Plan(routes=(day, later))
    records = [
        # b: done 6 days ago -> due; c: done 20 days ago, then missed last week -> follow-up
        _record(b.account_id, TUESDAY - timedelta(days=6), VisitStatus.DONE),
        _record(c.account_id, TUESDAY - timedelta(days=20), VisitStatus.DONE),
        _record(c.account_id, TUESDAY - timedelta(days=7), VisitStatus.MISSED),
        # records on or after the route's day do not explain it
        _record(d.account_id, TUESDAY, VisitStatus.DONE),
    ]
    reasons = route_reasons(day, plan, accounts, records, today=monday)
    assert reasons[visit_id(a.account_id, TUESDAY)].label == "overdue by 21 days"
    assert reasons[visit_id(b.account_id, TUESDAY)].kind is ReasonKind.DUE
    follow = reasons[visit_id(c.account_id, TUESDAY)]
    assert follow.kind is ReasonKind.FOLLOW_UP
    assert follow.days_overdue == 11
    assert reasons[visit_id(d.account_id, TUESDAY)].kind is ReasonKind.FIRST
    # next week's visits follow this week's planned ones (expected to happen) ...
    ahead = route_reasons(later, plan, accounts, records, today=monday)
    assert ahead[visit_id(a.account_id, next_tuesday)].label == "due (by Thu 03.12.)"
    # ... unless this week's was reported missed: then it is a follow-up of that miss
    missed = [*records, _record(a.account_id, TUESDAY, VisitStatus.MISSED)]
    ahead = route_reasons(later, plan, accounts, missed, today=monday)
    reason = ahead[visit_id(a.account_id, next_tuesday)]
    assert reason.kind is ReasonKind.FOLLOW_UP
    assert reason.missed_on == TUESDAY
    assert reason.days_overdue == 28
    # planned visits already in the past count only when reported: seen from Wednesday, this
    # Tuesday's unreported visit of b is no evidence, the done one 6 days before it is
    wednesday = TUESDAY + timedelta(days=1)
    ahead = route_reasons(later, plan, accounts, records, today=wednesday)
    assert ahead[visit_id(b.account_id, next_tuesday)].label == "overdue by 4 days"
    # a cancellation (the customer declined) counts as served, like plan repair counts it
    cancelled = [*records, _record(b.account_id, TUESDAY, VisitStatus.CANCELLED)]
    ahead = route_reasons(later, plan, accounts, cancelled, today=wednesday)
    assert ahead[visit_id(b.account_id, next_tuesday)].kind is ReasonKind.DUE


def test_deleted_accounts_get_no_reason() -> None:
    (a,) = make_accounts(2, 1)
    route = _route(TUESDAY, a.account_id, "gone")
    reasons = route_reasons(route, Plan(routes=(route,)), {a.account_id: a}, [], today=TUESDAY)
    assert set(reasons) == {visit_id(a.account_id, TUESDAY)}
