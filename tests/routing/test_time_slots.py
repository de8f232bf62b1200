"""Departure-dependent travel: a drive takes its departure slot's matrix, in the ETA checker
and in what the engines are given, and OR-Tools' own timing agrees with the checker's."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from routeplanner.errors import InputError
from routeplanner.model.geo import GeoPoint
from routeplanner.routing.eta import compute_etas, time_route
from routeplanner.routing.ortools_vrptw import solve_ortools
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import RoutingProblem, TimeSlot, VehicleSpec, VisitSpec
from routeplanner.routing.solve import solve
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.timeofday import RushWindow, TimeOfDayProfile

H = 3600
PEAK = (7 * H, 9 * H)


def _line_problem(
    n: int = 6,
    *,
    shift: tuple[int, int] = (7 * H, 18 * H),
    service_s: int = 900,
    peak_factor: int = 2,
    windows: dict[int, tuple[int, int]] | None = None,
) -> RoutingProblem:
    """Depot 0 and visits 1..n on a line, 300 s apart; twice as slow departing 07:00-09:00."""
    pos = np.arange(n + 1)
    base = (np.abs(pos[:, None] - pos[None, :]) * 300).astype(np.int64)
    opening = windows or {}
    visits = tuple(
        VisitSpec(
            visit_id=f"v{i}",
            location=i,
            service_s=service_s,
            windows=(opening[i],) if i in opening else (),
            penalty=100_000,
        )
        for i in range(1, n + 1)
    )
    vehicle = VehicleSpec(
        vehicle_id="R1", start_location=0, end_location=0, shift_start=shift[0], shift_end=shift[1]
    )
    return RoutingProblem(
        visits=visits,
        vehicles=(vehicle,),
        durations_s=base,
        distances_m=base * 10,
        time_slots=(
            TimeSlot(
                start_s=PEAK[0],
                end_s=PEAK[1],
                durations_s=base * peak_factor,
                distances_m=base * 10,
            ),
        ),
    )


def test_a_drive_takes_the_matrix_of_the_slot_it_departs_in() -> None:
    problem = _line_problem()
    assert problem.leg(0, 3, 7 * H) == (1800, 9000)  # 900 s x 2 in the peak
    assert problem.leg(0, 3, 9 * H) == (900, 9000)  # the slot is half-open
    assert problem.leg(0, 3, 6 * H) == (900, 9000)
    assert problem.slot_of(8 * H) == 0
    assert problem.slot_of(9 * H) == -1
    assert problem.slot_end(8 * H) == 9 * H
    assert problem.slot_end(6 * H) == 7 * H
    # Engines get fixed travel: row i priced in the slot of its assumed departure.
    fixed = problem.assuming(np.array([8 * H, -1, 8 * H, 10 * H, -1, -1, -1]))
    assert not fixed.time_slots
    np.testing.assert_array_equal(fixed.durations_s[0], problem.time_slots[0].durations_s[0])
    np.testing.assert_array_equal(fixed.durations_s[1], problem.durations_s[1])
    np.testing.assert_array_equal(fixed.durations_s[3], problem.durations_s[3])


def test_an_eight_oclock_start_is_slower_than_a_ten_oclock_one() -> None:
    early = _line_problem(shift=(8 * H, 18 * H))
    late = _line_problem(shift=(10 * H, 18 * H))
    order = ["v1", "v2", "v3"]
    at_eight = compute_etas(early, "R1", order)
    at_ten = compute_etas(late, "R1", order)
    # 08:00 -> v1 departs in the peak (600 s), v1 -> v2 at 08:25 too (600 s), v2 -> v3 at
    # 08:50 (600 s); from 10:00 every leg takes 300 s.
    assert [s.travel_s for s in at_eight.stops] == [600, 600, 600]
    assert [s.travel_s for s in at_ten.stops] == [300, 300, 300]
    assert at_eight.travel_s > at_ten.travel_s
    # The drive home leaves after 09:00: off-peak, 900 s.
    assert at_eight.end_s - at_eight.stops[-1].departure_s == 900


def test_leaving_later_stays_in_the_slot_it_was_timed_in() -> None:
    # v1 opens at 09:10: leaving at 07:00 the rep would wait; the delay stops just before 09:00
    # (leaving at 09:00 would be an off-peak drive, not the one timed).
    problem = _line_problem(windows={1: (9 * H + 600, 12 * H)})
    timeline = compute_etas(problem, "R1", ["v1"])
    first = timeline.stops[0]
    assert first.travel_s == 600
    assert timeline.start_s == 9 * H - 1
    assert first.arrival_s == 9 * H - 1 + 600
    assert first.wait_s == first.start_s - first.arrival_s == 1


def test_bad_time_slots_are_refused() -> None:
    problem = _line_problem()
    slot = problem.time_slots[0]
    bad = RoutingProblem(
        visits=problem.visits,
        vehicles=problem.vehicles,
        durations_s=problem.durations_s,
        time_slots=(
            TimeSlot(start_s=9 * H, end_s=8 * H, durations_s=slot.durations_s),
            TimeSlot(start_s=7 * H, end_s=10 * H, durations_s=slot.durations_s[:2, :2]),
        ),
    )
    with pytest.raises(InputError) as info:
        bad.check()
    assert [p.message for p in info.value.problems] == [
        "ends before it starts",
        "matrix shape differs",
        "overlaps the slot before",
    ]


def test_ortools_timing_agrees_with_the_checker_under_rush_hours() -> None:
    # No window makes the rep wait: OR-Tools' finalizer then has no slack to move starts by, so
    # its cumuls are the earliest starts, which is what the checker computes.
    problem = _line_problem(n=7, windows={2: (7 * H, 8 * H), 6: (7 * H, 12 * H)})
    params = SolveParams(engines=("ortools",), time_limit_s=10.0, solution_limit=50)
    solution = solve(problem, params)
    assert any("engines and timing agree" in line for line in solution.log), solution.log
    route = solution.route_of("R1")
    assert route is not None
    # The fixed matrix the engine saw last prices every leg as the checker does.
    departures = np.full(problem.durations_s.shape[0], -1, dtype=np.int64)
    departures[0] = route.start_s
    for stop in route.stops:
        departures[stop.location] = stop.departure_s
    fixed = problem.assuming(departures)
    visits = {v.visit_id: v for v in problem.visits}
    specs = [visits[v] for v in route.visit_ids]
    static = time_route(fixed, problem.vehicles[0], specs)
    assert [(s.travel_s, s.start_s) for s in static.stops] == [
        (s.travel_s, s.start_s) for s in route.stops
    ]
    # And OR-Tools, given that matrix and this order, times every start as the checker does.
    again = solve_ortools(
        fixed, time_limit_s=5.0, solution_limit=1, initial_routes={"R1": route.visit_ids}
    )
    assert again.routes["R1"] == route.visit_ids
    assert again.starts == {s.visit_id: s.start_s for s in route.stops}
    # The peak is real: the morning legs cost more than the same legs off-peak.
    off_peak = problem.assuming(np.full_like(departures, -1))
    assert route.travel_s > time_route(off_peak, problem.vehicles[0], specs).travel_s


def test_day_router_with_rush_hours_builds_slots_per_weekday() -> None:
    from routeplanner.model import Account, Rep, TimeWindow, VisitRule, WeeklyHours
    from routeplanner.routing.day import build_day_problem, optimise_day

    hours = WeeklyHours.uniform(TimeWindow(7 * H, 18 * H), weekdays=range(7))
    accounts = [
        Account(
            account_id=f"A{k}",
            name=f"A{k}",
            location=GeoPoint(49.40 + 0.01 * k, 8.69),
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=1200,
            opening_hours=hours,
        )
        for k in range(4)
    ]
    rep = Rep(
        rep_id="R1",
        name="R",
        home=GeoPoint(49.39, 8.69),
        working_hours=WeeklyHours.uniform(TimeWindow(7 * H, 17 * H), weekdays=range(7)),
    )
    profile = TimeOfDayProfile(
        windows=[RushWindow(days="Mo-Fr", start="07:00", end="09:00", factors={"primary": 2.0})]
    )
    monday, sunday = date(2027, 1, 4), date(2027, 1, 10)
    travel = HaversineTravel()
    weekday = build_day_problem(rep, monday, accounts, travel, rush_hours=profile).problem
    assert [(s.start_s, s.end_s) for s in weekday.time_slots] == [PEAK]
    # Straight lines have no road classes: one factor, the median class's (1.0 here, as only
    # primary roads slow down), so the slot's matrix is the day's own.
    np.testing.assert_array_equal(weekday.time_slots[0].durations_s, weekday.durations_s)
    sunday_problem = build_day_problem(rep, sunday, accounts, travel, rush_hours=profile)
    assert sunday_problem.problem.time_slots == ()
    busy = TimeOfDayProfile(
        windows=[
            RushWindow(
                days="Mo", start="07:00", end="09:00", factors={k: 1.5 for k in _all_classes()}
            )
        ]
    )
    quick = SolveParams(time_limit_s=5.0, solution_limit=10, iteration_limit=50)
    slow, _ = optimise_day(rep, monday, accounts, travel, rush_hours=busy, params=quick)
    calm, _ = optimise_day(rep, monday, accounts, travel, params=quick)
    assert slow.travel_s > calm.travel_s


def _all_classes() -> tuple[str, ...]:
    from routeplanner.roads.model import ROAD_CLASSES

    return ROAD_CLASSES
