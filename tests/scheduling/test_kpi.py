"""Coverage KPIs on a hand-made plan; every expected value is worked out in the comments."""

from __future__ import annotations

import math
from datetime import date

import pytest

from routeplanner.model import (
    Account,
    DayRoute,
    GeoPoint,
    Horizon,
    Plan,
    Stop,
    Territory,
    Unassigned,
    UnassignedReason,
    VisitRule,
)
from routeplanner.scheduling.kpi import coverage_kpis, territory_kpis
from tests.scheduling.factories import make_rep

H = 3600
HORIZON = Horizon(start=date(2026, 3, 2), weeks=2)  # Mon 2 Mar .. Sun 15 Mar
HOLIDAY = date(2026, 3, 6)  # Friday: 10 weekdays - 1 = 9 working days


def _acc(aid: str, rule: str, last: date | None) -> Account:
    return Account(
        account_id=aid,
        name=aid,
        location=GeoPoint(49.4, 8.7),
        visit_rule=VisitRule.parse(rule),
        visit_duration_s=1800,
        last_visit=last,
    )


def _route(day: date, hours: int, travel_s: int, account: str) -> DayRoute:
    stop = Stop(
        visit_id=f"{account}@{day}",
        account_id=account,
        arrival_s=9 * H,
        start_s=9 * H,
        departure_s=9 * H + 1800,
        travel_s=travel_s // 2,
        distance_m=1000,
    )
    return DayRoute(
        rep_id="r1", day=day, start_s=8 * H, end_s=(8 + hours) * H, stops=(stop,), travel_s=travel_s
    )


# A weekly (gaps 5-9), last visit Thu 26 Feb: due targets 5 and 12 Mar -> 2 required.
#   Planned 4 and 13 Mar: gaps 26 Feb->4 Mar = 6 and 4->13 Mar = 9, both within; 13 + 9 = 22 Mar
#   is after the horizon end, so not overdue.
# B biweekly (gaps 10-18), last visit 10 Feb: 10 Feb + 18 = 28 Feb < 2 Mar -> overdue; 1 required
#   (target 2 Mar; the next, 16 Mar, is after the end). Planned 3 Mar: gap 21 > 18 -> outside,
#   and B counts as overdue.
# C monthly, never visited: first target 2 Mar + 13 = 15 Mar -> 1 required; not planned ->
#   overdue, and reported unassigned.
ACCOUNTS = [
    _acc("A", "weekly", date(2026, 2, 26)),
    _acc("B", "biweekly", date(2026, 2, 10)),
    _acc("C", "monthly", None),
]
PLAN = Plan(
    routes=(
        _route(date(2026, 3, 3), 2, 1800, "B"),
        _route(date(2026, 3, 4), 3, 3600, "A"),
        _route(date(2026, 3, 13), 1, 1200, "A"),
    ),
    unassigned=(Unassigned(visit_id="C@x", account_id="C", reason=UnassignedReason.DAY_FULL_TIME),),
)


def test_coverage_kpis_by_hand() -> None:
    k = coverage_kpis(PLAN, ACCOUNTS, make_rep(), HORIZON, holidays=frozenset({HOLIDAY}))
    assert (k.required_visits, k.scheduled_visits, k.unassigned_visits) == (4, 3, 1)
    assert k.overdue_accounts == 2  # B and C
    # Gaps: A 6 (in), A 9 (in), B 21 (out) -> 2 of 3.
    assert (k.gaps_within, k.gaps_total) == (2, 3)
    assert k.adherence == pytest.approx(2 / 3)
    # Drive 1800 + 3600 + 1200 = 6600 s over 2 + 3 + 1 = 6 h of routes = 21600 s.
    assert k.drive_share == pytest.approx(6600 / 21600)
    # Workload over 9 working days: 7200, 10800, 3600 and six zeros; mean 21600 / 9 = 2400.
    assert len(k.workload_s) == 9
    assert k.workload_mean_s == pytest.approx(2400)
    # Squared deviations: 4800^2 + 8400^2 + 1200^2 + 6 * 2400^2 = 129.6e6; / 9 = 14.4e6.
    assert k.workload_std_s == pytest.approx(math.sqrt(14.4e6))
    assert k.workload_range_s == 10800


def test_territory_kpis_select_accounts_and_skip_unstaffed() -> None:
    terr = [
        Territory(territory_id="t1", name="North", rep_id="r1", account_ids=("A",)),
        Territory(territory_id="t2", name="Vacant", rep_id=None, account_ids=("B",)),
    ]
    out = territory_kpis(PLAN, ACCOUNTS, [make_rep()], terr, HORIZON)
    assert list(out) == ["t1"]
    k = out["t1"]
    assert (k.scope, k.required_visits, k.scheduled_visits, k.overdue_accounts) == ("t1", 2, 2, 0)
    assert k.adherence == 1.0
