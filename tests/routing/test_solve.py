"""solve(): each constraint honoured by every engine, dropped visits with reasons, bad input.

Runs stop on solution/iteration limits (the time limit is only a safety net). Road: location i
at km 0, 10, 20, 30, 40, 50, one minute per km, depot at km 0 (routing_factories).
"""

from __future__ import annotations

import pytest
from routing_factories import H, M, problem, vehicle, visit

from routeplanner.errors import InputError
from routeplanner.model.plan import UnassignedReason
from routeplanner.routing.eta import compute_etas
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import UNREACHABLE_S, BreakSpec, RoutingProblem
from routeplanner.routing.solve import Solution, solve

ENGINES = [("ortools",), ("pyvrp",), ("pyvrp", "ortools")]


def run(p: RoutingProblem, engines: tuple[str, ...] = ("pyvrp", "ortools")) -> Solution:
    sol = solve(
        p,
        SolveParams(time_limit_s=30, engines=engines, solution_limit=200, iteration_limit=300),
    )
    # Every returned route re-checks clean with the public checker.
    for r in sol.routes:
        assert compute_etas(p, r.vehicle_id, r.visit_ids, break_start=r.break_start_s).feasible
    return sol


def reasons(sol: Solution) -> dict[str, UnassignedReason]:
    return {d.visit_id: d.reason for d in sol.dropped}


@pytest.mark.parametrize("engines", ENGINES)
def test_out_and_back_is_optimal(engines: tuple[str, ...]) -> None:
    # Any route covering km 10, 20, 30 from km 0 and back drives at least 60 min.
    p = problem([visit("b", 2), visit("a", 1), visit("c", 3)])
    sol = run(p, engines)
    assert sol.cost == 60 * M
    assert sol.routes[0].visit_ids in (("a", "b", "c"), ("c", "b", "a"))
    assert not sol.dropped


@pytest.mark.parametrize("engines", ENGINES)
def test_time_windows_force_the_order(engines: tuple[str, ...]) -> None:
    # c (km 30) must start by 08:35 (b first would reach it 08:40) and a (km 10) not before
    # 09:30: c first, then b, then a: 08:30 c, 08:50 b, 09:10 a -> wait to 09:30; 60 min.
    p = problem(
        [
            visit("a", 1, windows=((9 * H + 30 * M, 10 * H),)),
            visit("b", 2),
            visit("c", 3, windows=((8 * H, 8 * H + 35 * M),)),
        ]
    )
    sol = run(p, engines)
    assert sol.routes[0].visit_ids == ("c", "b", "a")
    assert sol.routes[0].stops[2].start_s == 9 * H + 30 * M


@pytest.mark.parametrize("engines", ENGINES)
def test_multiple_windows_pick_the_reachable_one(engines: tuple[str, ...]) -> None:
    # b at km 50 is 50 min away: its 08:00-08:30 window is out of reach, 14:00-15:00 is not.
    wins = ((8 * H, 8 * H + 30 * M), (14 * H, 15 * H))
    p = problem([visit("a", 1), visit("b", 5, windows=wins)])
    sol = run(p, engines)
    b = next(s for s in sol.routes[0].stops if s.visit_id == "b")
    assert b.start_s == 14 * H
    assert not sol.dropped


@pytest.mark.parametrize("engines", ENGINES)
def test_lunch_break_fits_and_is_placed(engines: tuple[str, ...]) -> None:
    # Three 2-hour visits (08:10 ... about 14:30) with a 45-min lunch starting 11:30-12:30: the
    # lunch must sit between two services; every engine's answer is re-checked and repaired.
    lunch = BreakSpec(
        earliest_start=11 * H + 30 * M, latest_start=12 * H + 30 * M, duration_s=45 * M
    )
    p = problem(
        [visit("a", 1, 120), visit("b", 2, 120), visit("c", 3, 120)],
        [vehicle(lunch=lunch)],
    )
    sol = run(p, engines)
    route = sol.routes[0]
    assert len(route.stops) == 3
    assert route.break_start_s is not None
    assert 11 * H + 30 * M <= route.break_start_s <= 12 * H + 30 * M
    for s in route.stops:  # the break never overlaps a service
        assert not (s.start_s < route.break_start_s < s.departure_s)


@pytest.mark.parametrize("engines", ENGINES)
def test_shift_end_drops_the_cheapest_visit(engines: tuple[str, ...]) -> None:
    # Shift 08:00-10:00. All three (60 min driving + 90 min service = 150 min) do not fit;
    # without b (km 20) it is still 60 min driving + 60 min service = 120 min: exactly fits.
    p = problem(
        [
            visit("a", 1, 30, penalty=10_000),
            visit("b", 2, 30, penalty=100),
            visit("c", 3, 30, penalty=10_000),
        ],
        [vehicle(end=10 * H)],
    )
    sol = run(p, engines)
    assert reasons(sol) == {"b": UnassignedReason.DAY_FULL_TIME}
    assert sol.penalty == 100


@pytest.mark.parametrize("engines", ENGINES)
def test_max_visits_drops_the_least_important(engines: tuple[str, ...]) -> None:
    p = problem(
        [visit("a", 1, penalty=5000), visit("b", 2, penalty=50_000), visit("c", 3, penalty=50_000)],
        [vehicle(max_visits=2)],
    )
    sol = run(p, engines)
    assert reasons(sol) == {"a": UnassignedReason.DAY_FULL_VISITS}
    assert sorted(sol.routes[0].visit_ids) == ["b", "c"]


@pytest.mark.parametrize("engines", ENGINES)
def test_max_drive_drops_the_far_visit(engines: tuple[str, ...]) -> None:
    # 50 min driving allowed: km 10 and km 20 fit (40 min), km 40 alone needs 80 min.
    p = problem(
        [visit("a", 1, penalty=5000), visit("b", 2, penalty=5000), visit("far", 4, penalty=5000)],
        [vehicle(max_drive_s=50 * M)],
    )
    sol = run(p, engines)
    assert reasons(sol) == {"far": UnassignedReason.DAY_FULL_DRIVE}


@pytest.mark.parametrize("engines", ENGINES)
def test_allowed_days(engines: tuple[str, ...]) -> None:
    # a only on Monday, b only on Tuesday, c on either: a and b end up on their own days.
    p = problem(
        [
            visit("a", 1, allowed_vehicles=frozenset({"mon"})),
            visit("b", 2, allowed_vehicles=frozenset({"tue"})),
            visit("c", 3),
        ],
        [vehicle("mon"), vehicle("tue", start=32 * H, end=41 * H)],
    )
    sol = run(p, engines)
    mon, tue = sol.route_of("mon"), sol.route_of("tue")
    assert mon is not None
    assert tue is not None
    assert "a" in mon.visit_ids
    assert "b" in tue.visit_ids
    assert not sol.dropped


@pytest.mark.parametrize("engines", ENGINES)
def test_reasons_for_visits_that_cannot_be_placed(engines: tuple[str, ...]) -> None:
    p = problem(
        [
            visit("ok", 1),
            visit("night", 2, windows=((20 * H, 21 * H),), penalty=1000),
            visit("nowhere", 3, penalty=1000),
            visit("never", 4, allowed_vehicles=frozenset(), penalty=1000),
            visit("cheap", 5, penalty=1),
        ]
    )
    p.durations_s[:, 3] = UNREACHABLE_S
    p.durations_s[3, :] = UNREACHABLE_S
    p.durations_s[3, 3] = 0
    sol = run(p, engines)
    assert [r.visit_ids for r in sol.routes] == [("ok",)]
    assert reasons(sol) == {
        "night": UnassignedReason.OUTSIDE_OPENING_HOURS,
        "nowhere": UnassignedReason.UNREACHABLE,
        "never": UnassignedReason.NO_ALLOWED_DAY,
        "cheap": UnassignedReason.DROPPED_LOW_PRIORITY,
    }
    night = next(d for d in sol.dropped if d.visit_id == "night")
    assert night.detail == "visit can start 20:00-21:00; working hours 08:00-17:00"


def test_required_visits_that_cannot_fit_are_dropped_not_fatal() -> None:
    # Required (no penalty) but 4 h of service in a 3-hour shift: one must go.
    p = problem([visit("a", 1, 120), visit("b", 2, 120)], [vehicle(end=11 * H)])
    sol = run(p)
    assert sol.dropped_required == 1
    assert len(sol.routes[0].stops) == 1
    assert sol.dropped[0].reason is UnassignedReason.DAY_FULL_TIME


def test_no_vehicles_means_everything_dropped() -> None:
    p = problem([visit("a", 1)], [])
    sol = run(p)
    assert sol.routes == ()
    assert reasons(sol) == {"a": UnassignedReason.NO_ALLOWED_DAY}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            visit("a", 1, windows=((10 * H, 9 * H),)),
            "test: visit a: time window ends (32400) before it starts (36000)",
        ),
        (visit("a", 1, -1), "test: visit a: service time is negative"),
        (visit("a", 9), "test: visit a: unknown location 9"),
    ],
)
def test_invalid_input_raises_clear_errors(bad: object, message: str) -> None:
    p = problem([bad])  # type: ignore[list-item]
    with pytest.raises(InputError) as err:
        solve(p, SolveParams(time_limit_s=1))
    assert [str(x) for x in err.value.problems] == [message]


def test_invalid_input_lists_every_problem() -> None:
    p = problem([visit("a", 9), visit("b", 1, -1)], [vehicle(start=10 * H, end=9 * H)])
    with pytest.raises(InputError) as err:
        p.check()
    assert [str(x) for x in err.value.problems] == [
        "test: visit a: unknown location 9",
        "test: visit b: service time is negative",
        "test: vehicle v: shift ends before it starts",
    ]


def test_initial_routes_are_a_floor_and_are_repaired() -> None:
    # Given plan: c, b, a on the line (60 min, optimal). Only OR-Tools with a 1-solution limit
    # runs, so the answer can only match the given plan, never be worse.
    p = problem([visit("a", 1), visit("b", 2), visit("c", 3)])
    params = SolveParams(time_limit_s=30, engines=("ortools",), solution_limit=1)
    sol = solve(p, params, initial_routes={"v": ["c", "b", "a"]})
    assert sol.cost == 60 * M
    assert not sol.dropped
    # A given order that breaks a window (a must start by 08:10; after b it starts 08:40) is
    # repaired, not fatal: repair drops b (the costlier half), the search puts it back after a.
    late = problem([visit("a", 1, windows=((8 * H, 8 * H + 10 * M),)), visit("b", 2)])
    more = SolveParams(time_limit_s=30, engines=("ortools",), solution_limit=50)
    sol = solve(late, more, initial_routes={"v": ["b", "a"]})
    assert sol.routes[0].visit_ids == ("a", "b")
    assert any(line.startswith("initial: ") and "1 removed by repair" in line for line in sol.log)


def test_initial_routes_with_unknown_ids_raise() -> None:
    p = problem([visit("a", 1)])
    with pytest.raises(InputError) as err:
        solve(p, SolveParams(time_limit_s=1), initial_routes={"x": ["a", "zz", "a"]})
    assert [str(x) for x in err.value.problems] == [
        "test: initial_routes: unknown vehicle x",
        "test: initial_routes: unknown visit zz",
        "test: initial_routes: visit a appears twice",
    ]
