"""Workload/capacity arithmetic and bad inputs: every problem named, with exact messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pytest
from territory_factories import make_accounts, make_reps

from routeplanner.errors import InputError
from routeplanner.model import GeoPoint, Territory, TimeWindow, VisitRule, WeeklyHours
from routeplanner.territories.design import design_territories
from routeplanner.territories.workload import build_context, rep_capacity_s
from routeplanner.travel import HaversineTravel
from routeplanner.travel.provider import Snap, SnapReport
from routeplanner.units import HOUR, MINUTE

TRAVEL = HaversineTravel()


def test_capacity_is_hours_minus_lunch_minus_days_off() -> None:
    rep = make_reps(1, 0)[0]  # Mon-Fri 08:00-17:00, 30 min lunch
    # 28 days = 20 working days x (9 h - 0.5 h) = 170 h
    assert rep_capacity_s(rep, 28) == 170 * HOUR
    # Starting Monday 2026-03-02 with Wednesday 2026-03-04 off: 19 days x 8.5 h = 161.5 h;
    # a Saturday off changes nothing.
    off = dataclasses.replace(rep, days_off=frozenset({date(2026, 3, 4), date(2026, 3, 7)}))
    assert rep_capacity_s(off, 28, start=date(2026, 3, 2)) == int(161.5 * HOUR)
    # Two intervals a day already contain the break: 08-12 + 13-17 = 8 h x 20 days.
    split = WeeklyHours(
        tuple(
            (TimeWindow(8 * HOUR, 12 * HOUR), TimeWindow(13 * HOUR, 17 * HOUR)) if d < 5 else ()
            for d in range(7)
        )
    )
    assert rep_capacity_s(dataclasses.replace(rep, working_hours=split), 28) == 160 * HOUR


def test_workload_is_visits_times_duration_plus_travel_estimate() -> None:
    base = make_accounts(3, 0)
    # Three accounts on a north-south line, 0.01 degree apart (about 1.11 km).
    accounts = [
        dataclasses.replace(
            a,
            location=GeoPoint(49.40 + 0.01 * i, 8.70),
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=30 * MINUTE,
        )
        for i, a in enumerate(base)
    ]
    ctx = build_context(accounts, make_reps(1, 0, accounts), TRAVEL, horizon_days=28)
    step = float(TRAVEL.matrix([accounts[0].location], [accounts[1].location]).durations_s[0, 0])
    # End accounts: neighbours at 1 and 2 steps -> 1.5 steps; middle: 1 step either side.
    assert ctx.travel_estimate_s[0] == pytest.approx(1.5 * step, abs=1)
    assert ctx.travel_estimate_s[1] == pytest.approx(step, abs=1)
    # 4 weekly visits in 28 days x (1800 s + travel)
    assert ctx.workload_s[1] == pytest.approx(4 * (1800 + ctx.travel_estimate_s[1]))
    assert list(ctx.visits) == [4.0, 4.0, 4.0]


def test_locked_workload_above_capacity_is_refused() -> None:
    accounts = make_accounts(60, 1)
    reps = make_reps(2, 1, accounts)
    part_time = WeeklyHours.uniform(TimeWindow(8 * HOUR, 9 * HOUR), weekdays=[0])
    reps[1] = dataclasses.replace(reps[1], working_hours=part_time, lunch=None)
    locked = {a.account_id: "R1" for a in accounts[:20]}
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL, locked=locked)
    (problem,) = info.value.problems
    assert problem.source == "locked"
    assert problem.field == "rep_id"
    assert problem.message.startswith("rep R1: locked workload ")
    assert problem.message.endswith(" h exceeds capacity 4.0 h in 28 days")


def test_bad_locks_are_all_listed() -> None:
    accounts = make_accounts(20, 2)
    reps = make_reps(2, 2, accounts)
    locked = {"A0001": "R9", "NOPE": "R0"}
    kept = Territory(territory_id="T9", name="x", rep_id="R7", account_ids=("A0002",), locked=True)
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL, locked=locked, locked_territories=[kept])
    assert [str(p) for p in info.value.problems] == [
        "locked territories: rep_id: locked territory T9 has unknown rep R7",
        "locked: rep_id: account A0001 is locked to unknown rep R9",
        "locked: account_id: locked account NOPE is not an account",
    ]


def test_rep_without_home_and_duplicates() -> None:
    accounts = make_accounts(5, 3)
    accounts.append(accounts[0])
    reps = make_reps(2, 3, accounts)
    reps[1] = dataclasses.replace(reps[1], home=None)  # type: ignore[arg-type]
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL)
    assert [str(p) for p in info.value.problems] == [
        "accounts: account_id: account_id A0000 appears more than once",
        "reps: home: rep R1 has no home location",
    ]


@dataclass(frozen=True, slots=True)
class _WestOnlyTravel:
    """Straight-line travel whose 'road network' ends at 8.65 E, so snapping can fail."""

    name: str = "west-only"

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        snaps = tuple(
            Snap(
                pid, p, p if p.lon < 8.65 else None, max(0.0, (p.lon - 8.65) * 72_000), p.lon < 8.65
            )
            for pid, p in points
        )
        return SnapReport(snaps, 1000.0)

    def matrix(self, origins, destinations=None):  # type: ignore[no-untyped-def]
        return TRAVEL.matrix(origins, destinations)

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return [origin, destination]


def test_unreachable_accounts_and_homes_are_named() -> None:
    accounts = make_accounts(4, 4)
    accounts = [
        dataclasses.replace(a, location=GeoPoint(49.4, 8.60 + 0.1 * (i == 3)))
        for i, a in enumerate(accounts)
    ]
    reps = make_reps(1, 4, accounts)
    reps[0] = dataclasses.replace(reps[0], home=GeoPoint(49.4, 8.70))
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, _WestOnlyTravel())
    assert [str(p) for p in info.value.problems] == [
        "accounts: location: account A0003 is not reachable on the road network "
        "(3600 m from the nearest road)",
        "reps: home: rep R0 home is not reachable on the road network "
        "(3600 m from the nearest road)",
    ]


def test_bad_tolerance() -> None:
    accounts = make_accounts(5, 5)
    with pytest.raises(InputError, match="design: tolerance: must be between 0 and 1"):
        design_territories(accounts, make_reps(1, 5, accounts), TRAVEL, tolerance=0)
