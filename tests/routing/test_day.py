"""One rep-day from domain objects: windows from opening hours, exclusions, value classes, ETAs.

Straight-line travel (HaversineTravel, 40 km/h x 1.3 detour); points around Heidelberg.
"""

from __future__ import annotations

from datetime import date

from routeplanner.model import (
    Account,
    GeoPoint,
    LunchBreak,
    Rep,
    TimeWindow,
    UnassignedReason,
    VisitRule,
    WeeklyHours,
)
from routeplanner.routing.day import build_day_problem, optimise_day, retime_day, start_windows
from routeplanner.routing.eta import compute_etas
from routeplanner.routing.params import SolveParams
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import Snap, SnapReport
from routeplanner.units import HOUR, MINUTE

MONDAY = date(2026, 11, 23)
HOME = GeoPoint(49.40, 8.69)
PARAMS = SolveParams(time_limit_s=30, solution_limit=200, iteration_limit=300)


def account(aid: str, lat: float, lon: float, **kw: object) -> Account:
    base: dict[str, object] = {
        "account_id": aid,
        "name": aid,
        "location": GeoPoint(lat, lon),
        "visit_rule": VisitRule.parse("weekly"),
        "visit_duration_s": 30 * MINUTE,
    }
    base.update(kw)
    return Account(**base)  # type: ignore[arg-type]


def rep(**kw: object) -> Rep:
    base: dict[str, object] = {
        "rep_id": "r1",
        "name": "Anna",
        "home": HOME,
        "working_hours": WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
    }
    base.update(kw)
    return Rep(**base)  # type: ignore[arg-type]


def test_start_windows_subtract_the_visit_length() -> None:
    # Open 08:00-12:00 and 14:00-14:20 on Mondays; a 30-min visit can start 08:00-11:30, and
    # the 20-min afternoon slot is too short for it.
    hours = WeeklyHours(
        (
            (TimeWindow(8 * HOUR, 12 * HOUR), TimeWindow(14 * HOUR, 14 * HOUR + 20 * MINUTE)),
            *((),) * 6,
        )
    )
    acc = account("a", 49.41, 8.70, opening_hours=hours)
    assert start_windows(acc, 0) == ((8 * HOUR, 11 * HOUR + 30 * MINUTE),)
    assert start_windows(acc, 1) == ()


def test_closed_and_forbidden_accounts_are_excluded_with_reasons() -> None:
    closed = account(
        "closed",
        49.41,
        8.70,
        opening_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 12 * HOUR), weekdays=[2]),
    )
    forbidden = account("forbidden", 49.41, 8.70, forbidden_weekdays=frozenset({0}))
    ok = account("ok", 49.41, 8.70, value_class="A")
    dp = build_day_problem(rep(), MONDAY, [closed, forbidden, ok], HaversineTravel())
    assert [v.visit_id for v in dp.problem.visits] == ["ok"]
    assert dp.problem.visits[0].penalty == 100_000
    assert {u.account_id: (u.reason, u.detail) for u in dp.excluded} == {
        "closed": (UnassignedReason.OUTSIDE_OPENING_HOURS, "closed on Mo"),
        "forbidden": (UnassignedReason.NO_ALLOWED_DAY, "visits are not allowed on Mo"),
    }


def test_day_off_excludes_everything() -> None:
    dp = build_day_problem(
        rep(days_off=frozenset({MONDAY})), MONDAY, [account("a", 49.41, 8.7)], HaversineTravel()
    )
    assert dp.problem.vehicles == ()
    assert [u.reason for u in dp.excluded] == [UnassignedReason.NO_ALLOWED_DAY]


def test_optimise_day_honours_lunch_and_returns_plan_objects() -> None:
    lunch = LunchBreak(
        window=TimeWindow(12 * HOUR, 13 * HOUR + 30 * MINUTE), duration_s=30 * MINUTE
    )
    accounts = [
        account(
            f"a{i}", 49.40 + 0.01 * (i % 4), 8.66 + 0.01 * (i // 4), visit_duration_s=45 * MINUTE
        )
        for i in range(10)
    ]
    route, unassigned = optimise_day(
        rep(lunch=lunch), MONDAY, accounts, HaversineTravel(), params=PARAMS
    )
    # 10 visits x 45 min = 7.5 h of service in a 9-hour day with a 30-min lunch: the solver may
    # drop some, each with a reason; the default max of 12 visits does not bind.
    placed = {s.account_id for s in route.stops}
    assert placed | {u.account_id for u in unassigned} == {a.account_id for a in accounts}
    assert len(placed) >= 8
    assert route.break_start_s is not None
    assert 12 * HOUR <= route.break_start_s <= 13 * HOUR
    assert route.start_s >= 8 * HOUR
    assert route.end_s <= 17 * HOUR
    for s in route.stops:
        assert not (s.start_s < route.break_start_s < s.departure_s)
    # Re-timing the same order with the public checker gives the same ETAs.
    dp = build_day_problem(rep(lunch=lunch), MONDAY, accounts, HaversineTravel())
    tl = compute_etas(
        dp.problem, "r1", [s.visit_id for s in route.stops], break_start=route.break_start_s
    )
    assert tl.feasible
    assert [s.start_s for s in tl.stops] == [s.start_s for s in route.stops]


def test_full_day_drops_low_value_visits_first() -> None:
    # Max 3 visits per day, five candidates: the two C accounts go, with the count as reason.
    accounts = [
        account("a1", 49.41, 8.70, value_class="A"),
        account("c1", 49.405, 8.695, value_class="C"),
        account("a2", 49.42, 8.70, value_class="A"),
        account("c2", 49.415, 8.69, value_class="C"),
        account("b1", 49.41, 8.68, value_class="B"),
    ]
    route, unassigned = optimise_day(
        rep(max_visits_per_day=3), MONDAY, accounts, HaversineTravel(), params=PARAMS
    )
    assert sorted(s.account_id for s in route.stops) == ["a1", "a2", "b1"]
    assert {u.account_id: u.reason for u in unassigned} == {
        "c1": UnassignedReason.DAY_FULL_VISITS,
        "c2": UnassignedReason.DAY_FULL_VISITS,
    }
    assert all(u.day == MONDAY for u in unassigned)


def test_start_point_other_than_home() -> None:
    # Starting at a hotel 0.1 degrees north: the first leg starts there, the day ends at home.
    hotel = GeoPoint(49.50, 8.69)
    acc = account("a", 49.45, 8.69)
    route, _ = optimise_day(rep(), MONDAY, [acc], HaversineTravel(), start=hotel, params=PARAMS)
    travel = HaversineTravel().matrix([hotel, acc.location, HOME]).durations_s
    assert route.stops[0].travel_s == travel[0, 1]
    assert route.travel_s == travel[0, 1] + travel[1, 2]


def test_retime_day_after_the_rep_reorders() -> None:
    # a2 opens 08:00-09:00, so a 30-min visit starts by 08:30; a2 first: start about 08:04;
    # a1 first (30 min there + ~5 min driving): a2 would start about 08:35, too late.
    early = WeeklyHours.uniform(TimeWindow(8 * HOUR, 9 * HOUR))
    accounts = [account("a1", 49.41, 8.70), account("a2", 49.42, 8.70, opening_hours=early)]
    dp = build_day_problem(rep(), MONDAY, accounts, HaversineTravel())
    good, problems = retime_day(dp, ["a2", "a1"])
    assert problems == ()
    assert [s.account_id for s in good.stops] == ["a2", "a1"]
    bad, problems = retime_day(dp, ["a1", "a2"])
    assert bad.stops[1].violations == ("time_window",)
    assert len(problems) == 1
    assert problems[0].startswith("visit a2 can start at ")
    assert problems[0].endswith("after its last window closes (08:30)")


def test_unreachable_provider_values_are_normalised() -> None:
    # A provider that writes -1 for "no path" must not produce negative travel times.
    class Broken(HaversineTravel):
        def matrix(self, origins, destinations=None):  # type: ignore[no-untyped-def]
            m = super().matrix(origins, destinations)
            m.durations_s[:, 2] = -1
            return m

    route, unassigned = optimise_day(
        rep(), MONDAY, [account("a", 49.41, 8.70)], Broken(), params=PARAMS
    )
    assert route.stops == ()
    assert [u.reason for u in unassigned] == [UnassignedReason.UNREACHABLE]


def test_accounts_far_from_roads_are_excluded_before_the_matrix() -> None:
    # Like the road provider: snap marks far points, matrix() refuses to see them at all.
    class Roads(HaversineTravel):
        def snap(self, points):  # type: ignore[no-untyped-def]
            snaps = tuple(
                Snap(
                    pid,
                    p,
                    p if pid != "far" else None,
                    0.0 if pid != "far" else 2500.0,
                    pid != "far",
                )
                for pid, p in points
            )
            return SnapReport(snaps, 1000.0)

        def matrix(self, origins, destinations=None):  # type: ignore[no-untyped-def]
            assert far_point not in origins
            return super().matrix(origins, destinations)

    far_point = GeoPoint(49.45, 8.60)
    accounts = [account("near", 49.41, 8.70), account("far", far_point.lat, far_point.lon)]
    route, unassigned = optimise_day(rep(), MONDAY, accounts, Roads(), params=PARAMS)
    assert [s.account_id for s in route.stops] == ["near"]
    assert [(u.account_id, u.reason, u.detail) for u in unassigned] == [
        (
            "far",
            UnassignedReason.UNREACHABLE,
            "this account is 2500 m from the nearest road (limit 1000 m)",
        )
    ]


def test_initial_order_is_a_floor() -> None:
    # OR-Tools only, stopped after its first solution: the given order is what it starts from,
    # so the day keeps all three visits; a closed account in the given order is ignored.
    accounts = [account(f"a{i}", 49.40 + 0.01 * i, 8.69) for i in range(3)]
    closed = account(
        "closed",
        49.41,
        8.70,
        opening_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 12 * HOUR), weekdays=[2]),
    )
    params = SolveParams(time_limit_s=30, engines=("ortools",), solution_limit=1)
    route, unassigned = optimise_day(
        rep(),
        MONDAY,
        [*accounts, closed],
        HaversineTravel(),
        params=params,
        initial_order=["a0", "closed", "a1", "a2"],
    )
    assert sorted(s.account_id for s in route.stops) == ["a0", "a1", "a2"]
    assert [u.account_id for u in unassigned] == ["closed"]
