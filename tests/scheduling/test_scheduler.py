"""Scheduler invariants over several seeds: frequency, spacing, calendar and opening hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise

import pytest

from routeplanner.model import (
    GeoPoint,
    Horizon,
    Plan,
    TimeWindow,
    UnassignedReason,
    VisitRule,
    WeeklyHours,
)
from routeplanner.model.account import Account
from routeplanner.scheduling.calendar import visit_windows, visitable_days, working_days
from routeplanner.scheduling.day_router import DayJob, build_day_problem, unplaced
from routeplanner.scheduling.frequency import due_occurrences, visit_options
from routeplanner.scheduling.scheduler import (
    DaySearch,
    frequency_issues,
    periodic_search,
    schedule_visits,
)
from routeplanner.travel import HaversineTravel
from routeplanner.units import HOUR
from tests.scheduling.factories import HOME, START, make_accounts, make_rep

HORIZON = Horizon(start=START, weeks=4)
HOLIDAYS = frozenset({date(2026, 3, 19)})  # a Thursday
DAY_OFF = date(2026, 3, 10)  # a Tuesday


def _plan(seed: int) -> tuple[list[Account], Plan]:
    accounts = make_accounts(seed, 30)
    rep = make_rep(days_off=frozenset({DAY_OFF}))
    plan = schedule_visits(
        accounts, rep, HORIZON, HaversineTravel(), holidays=HOLIDAYS, max_iterations=30, seed=seed
    )
    return accounts, plan


@pytest.mark.parametrize("seed", range(8))
def test_invariants(seed: int) -> None:
    accounts, plan = _plan(seed)
    rep = make_rep(days_off=frozenset({DAY_OFF}))
    by_id = {a.account_id: a for a in accounts}
    days_of: dict[str, list[date]] = defaultdict(list)
    for route in plan.routes:
        # Nothing on holidays, days off or weekends (the rep works Mo-Fr).
        assert route.day not in HOLIDAYS
        assert route.day != DAY_OFF
        assert route.day.weekday() < 5
        assert len(route.stops) <= rep.max_visits_per_day
        for stop in route.stops:
            acc = by_id[stop.account_id]
            days_of[acc.account_id].append(route.day)
            # Inside one opening interval that lies inside the shift.
            assert any(
                w.start_s <= stop.start_s and stop.departure_s <= w.end_s
                for w in visit_windows(acc, rep, route.day)
            )
            assert stop.departure_s - stop.start_s == acc.visit_duration_s
    dropped = defaultdict(int)
    for u in plan.unassigned:
        dropped[u.account_id] += 1
    for acc in accounts:
        days = sorted(days_of[acc.account_id])
        assert len(days) == len(set(days)), "an account twice on one day"
        # Due occurrences, plus one when every chain drifts early and would leave a gap open.
        allowed = visitable_days(acc, rep, working_days(rep, HORIZON, HOLIDAYS))
        required = len(visit_options(acc, allowed, START, HORIZON.end).occurrences)
        assert required - len(
            due_occurrences(acc.visit_rule, acc.last_visit, START, HORIZON.end)
        ) in (0, 1)
        # Each required visit is scheduled exactly once or reported.
        assert len(days) + dropped[acc.account_id] == required
        if dropped[acc.account_id] or acc.account_id in plan.meta["frequency_issues"].split(","):
            continue
        chain = ([acc.last_visit] if acc.last_visit else []) + days
        rule = acc.visit_rule
        overdue_start = acc.last_visit is not None and (
            acc.last_visit + timedelta(days=rule.max_gap_days) < START
        )
        gaps = [(b - a).days for a, b in pairwise(chain)]
        if overdue_start:
            gaps = gaps[1:]  # already late before the horizon: only later gaps are ours
        assert all(rule.min_gap_days <= g <= rule.max_gap_days for g in gaps), (acc, days)


def test_weekly_account_open_only_saturday_is_reported_with_reason() -> None:
    rep = make_rep()
    sat_only = Account(
        account_id="sat",
        name="Saturday market",
        location=HOME,
        visit_rule=VisitRule.parse("weekly"),
        visit_duration_s=1800,
        opening_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 14 * HOUR), weekdays=(5,)),
    )
    issues = frequency_issues([sat_only], rep, HORIZON)
    assert [(u.account_id, u.reason) for u in issues] == [("sat", UnassignedReason.NO_ALLOWED_DAY)]
    assert issues[0].detail == "open Sa 08:00-14:00; the rep works Mo-Fr 08:00-17:00"
    plan = schedule_visits([sat_only], rep, HORIZON, HaversineTravel(), max_iterations=5)
    assert plan.routes == ()
    assert len(plan.unassigned) == 4  # four weekly occurrences, none placeable
    assert {u.reason for u in plan.unassigned} == {UnassignedReason.NO_ALLOWED_DAY}


def test_unplaced_visits_keep_the_id_they_would_have_had_that_day() -> None:
    """Every step of the scheduler reports unplaced visits through this one helper."""
    days = [START, START + timedelta(days=7)]
    out = unplaced("a7", days, UnassignedReason.DAY_FULL_TIME, "no room")
    assert [(u.visit_id, u.account_id, u.day) for u in out] == [
        ("a7@2026-03-02", "a7", START),
        ("a7@2026-03-09", "a7", START + timedelta(days=7)),
    ]
    assert {(u.reason, u.detail) for u in out} == {(UnassignedReason.DAY_FULL_TIME, "no room")}
    assert unplaced("a7", [], UnassignedReason.UNREACHABLE) == []


def test_day_problem_for_the_routing_core() -> None:
    accounts = make_accounts(3, 3)
    rep = make_rep()
    matrix = HaversineTravel().matrix([rep.home] + [a.location for a in accounts])
    job = DayJob(
        rep=rep,
        day=START,
        visits=tuple(accounts),
        durations_s=matrix.durations_s,
        distances_m=matrix.distances_m,
    )
    problem = build_day_problem(job)
    problem.check()
    assert [v.location for v in problem.visits] == [1, 2, 3]
    veh = problem.vehicles[0]
    assert (veh.shift_start, veh.shift_end, veh.max_visits) == (8 * HOUR, 17 * HOUR, 12)
    assert veh.lunch is not None
    assert (veh.lunch.earliest_start, veh.lunch.latest_start) == (12 * HOUR, 13 * HOUR + 1800)
    # A window bounds the start of service: closing time minus the visit length.
    acc = accounts[0]
    w = visit_windows(acc, rep, START)[0]
    assert problem.visits[0].windows[0] == (w.start_s, w.end_s - acc.visit_duration_s)


def test_day_router_from_a_day_optimiser_renames_visits_per_day() -> None:
    """The routing core names visits by account; the plan needs account@date ids."""
    from routeplanner.model import DayRoute, Stop, Unassigned
    from routeplanner.scheduling.day_router import day_router_from

    accounts = make_accounts(4, 2)
    rep = make_rep()
    calls: list[tuple[str, date, tuple[str, ...]]] = []

    def optimise(rep_, day, visits, travel):  # the shape of routing.day.optimise_day
        calls.append((rep_.rep_id, day, tuple(a.account_id for a in visits)))
        first, second = visits
        stop = Stop(
            visit_id=first.account_id,
            account_id=first.account_id,
            arrival_s=9 * HOUR,
            start_s=9 * HOUR,
            departure_s=9 * HOUR + first.visit_duration_s,
            travel_s=600,
            distance_m=5000,
        )
        route = DayRoute(
            rep_id=rep_.rep_id, day=day, start_s=8 * HOUR, end_s=10 * HOUR, stops=(stop,)
        )
        dropped = [
            Unassigned(
                visit_id=second.account_id,
                account_id=second.account_id,
                reason=UnassignedReason.DAY_FULL_TIME,
            )
        ]
        return route, dropped

    router = day_router_from(optimise, HaversineTravel())
    matrix = HaversineTravel().matrix([rep.home] + [a.location for a in accounts])
    res = router(
        DayJob(
            rep=rep,
            day=START,
            visits=tuple(accounts),
            durations_s=matrix.durations_s,
            distances_m=matrix.distances_m,
        )
    )
    assert calls == [("r1", START, ("a000", "a001"))]
    assert [s.visit_id for s in res.route.stops] == ["a000@2026-03-02"]
    assert [(u.visit_id, u.day) for u in res.unassigned] == [("a001@2026-03-02", START)]


def test_account_open_only_after_the_shift_is_outside_opening_hours() -> None:
    rep = make_rep()
    evening = Account(
        account_id="bar",
        name="Evening bar",
        location=HOME,
        visit_rule=VisitRule.parse("biweekly"),
        visit_duration_s=1800,
        opening_hours=WeeklyHours.uniform(TimeWindow(18 * HOUR, 23 * HOUR)),
    )
    issues = frequency_issues([evening], rep, HORIZON)
    assert [(u.reason, u.detail) for u in issues] == [
        (
            UnassignedReason.OUTSIDE_OPENING_HOURS,
            "open Mo-Fr 18:00-23:00; no overlap of 30 min with the rep's hours Mo-Fr 08:00-17:00",
        )
    ]


def test_empty_territory_and_rep_without_working_days() -> None:
    assert (
        schedule_visits([], make_rep(), HORIZON, HaversineTravel(), max_iterations=5).routes == ()
    )
    away = make_rep(days_off=frozenset(HORIZON.days()))
    accounts = make_accounts(1, 3)
    plan = schedule_visits(accounts, away, HORIZON, HaversineTravel(), max_iterations=5)
    assert plan.routes == ()
    assert plan.unassigned
    assert {u.detail for u in plan.unassigned} == {"the rep has no working day in the horizon"}


@pytest.mark.parametrize("seed", range(2))
def test_long_horizon_rolls_in_blocks_and_keeps_spacing(seed: int) -> None:
    # Seven weeks = blocks of weeks 1-4 and 5-7; spacing must hold across the block boundary.
    horizon = Horizon(start=START, weeks=7)
    accounts = make_accounts(seed, 20)
    rep = make_rep()
    plan = schedule_visits(accounts, rep, horizon, HaversineTravel(), max_iterations=10, seed=seed)
    assert plan.meta["blocks"] == "2"
    assert max(r.day for r in plan.routes) > START + timedelta(days=28)
    dropped = {u.account_id for u in plan.unassigned}
    issues = set(plan.meta["frequency_issues"].split(","))
    for acc in accounts:
        days = sorted(r.day for r in plan.routes for s in r.stops if s.account_id == acc.account_id)
        assert len(days) == len(set(days))
        if acc.account_id in dropped | issues or not days:
            continue
        rule = acc.visit_rule
        gaps = [(b - a).days for a, b in pairwise(days)]
        assert all(rule.min_gap_days <= g <= rule.max_gap_days for g in gaps), (acc, days)
        # The horizon end is covered: no visit falls due before it without being planned.
        assert days[-1] + timedelta(days=rule.max_gap_days) > horizon.end


@pytest.mark.parametrize("search", list(DaySearch))
def test_a_lone_far_account_that_fits_a_day_is_not_left_out(search: DaySearch) -> None:
    """Its days run far over the balanced soft limit (the mean day is tiny), yet it fits the
    shift: leaving it out must never be the cheaper plan for either search."""
    far = Account(
        account_id="far",
        name="Far away",
        location=GeoPoint(HOME.lat + 0.65, HOME.lon),  # about 2 h 20 min each way
        visit_rule=VisitRule.parse("weekly"),
        visit_duration_s=30 * 60,
        opening_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR)),
    )
    plan = schedule_visits(
        [far],
        make_rep(),
        Horizon(start=START, weeks=2),
        HaversineTravel(),
        max_iterations=30,
        search=periodic_search(search),
    )
    assert plan.unassigned == ()
    assert sorted(s.account_id for r in plan.routes for s in r.stops) == ["far", "far"]


@pytest.mark.parametrize("search", list(DaySearch))
def test_a_full_rep_leaves_out_fewer_accounts_for_the_same_visits(search: DaySearch) -> None:
    """Room for two visits, three accounts due: a weekly one next door (two visits) or two
    monthly ones a drive away (one each). Both choices place two visits; leaving one account
    overdue beats leaving two, even for some more driving."""

    def account(account_id: str, rule: str, last_days_ago: int, lon_offset: float) -> Account:
        return Account(
            account_id=account_id,
            name=account_id,
            location=GeoPoint(HOME.lat, HOME.lon + lon_offset),
            visit_rule=VisitRule.parse(rule),
            visit_duration_s=30 * 60,
            opening_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR)),
            last_visit=START - timedelta(days=last_days_ago),
        )

    accounts = [
        account("weekly", "weekly", 7, 0.002),
        account("monthly-1", "monthly", 28, -0.08),
        account("monthly-2", "monthly", 28, 0.08),
    ]
    mondays_only = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR), weekdays=(0,))
    plan = schedule_visits(
        accounts,
        make_rep(working_hours=mondays_only, max_visits_per_day=1),
        Horizon(start=START, weeks=2),
        HaversineTravel(),
        max_iterations=200,
        search=periodic_search(search),
    )
    placed = sorted(s.account_id for r in plan.routes for s in r.stops)
    assert placed == ["monthly-1", "monthly-2"]
    assert {u.account_id for u in plan.unassigned} == {"weekly"}
