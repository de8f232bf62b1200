"""ETA checker: one satisfied and one violated case per constraint, times worked out by hand.

Road: location i at km 0, 10, 20, 30, 40, 50; one minute per km (routing_factories).
"""

from __future__ import annotations

import pytest
from routing_factories import H, M, problem, vehicle, visit

from routeplanner.errors import InputError
from routeplanner.routing import eta
from routeplanner.routing.eta import compute_etas
from routeplanner.routing.problem import UNREACHABLE_S, BreakSpec


def codes(tl: eta.RouteTimeline) -> set[str]:
    return {v.code for v in tl.violations}


def test_plain_route_times() -> None:
    p = problem([visit("a", 1), visit("b", 2)])
    tl = compute_etas(p, "v", ["a", "b"])
    # leave 08:00, 10 min to a -> 08:10, serve 10 min -> 08:20, 10 min to b -> 08:30,
    # serve -> 08:40, 20 min home -> 09:00; 40 km driven in 40 min.
    assert [(s.arrival_s, s.start_s, s.departure_s) for s in tl.stops] == [
        (8 * H + 10 * M, 8 * H + 10 * M, 8 * H + 20 * M),
        (8 * H + 30 * M, 8 * H + 30 * M, 8 * H + 40 * M),
    ]
    assert tl.end_s == 9 * H
    assert tl.travel_s == 40 * M
    assert tl.distance_m == 40_000
    assert tl.feasible


def test_time_window_satisfied_with_waiting_and_late_departure() -> None:
    # b opens 09:00. a done 08:20, at b 08:30, waits 30 min, serves 09:00-09:10.
    p = problem([visit("a", 1), visit("b", 2, windows=((9 * H, 10 * H),))])
    tl = compute_etas(p, "v", ["a", "b"])
    assert tl.stops[1].wait_s == 30 * M
    assert tl.stops[1].start_s == 9 * H
    assert tl.feasible


def test_first_stop_wait_moves_departure_later() -> None:
    # a opens 09:00, 10 min away: leave 08:50 instead of waiting 50 min on site.
    p = problem([visit("a", 1, windows=((9 * H, 10 * H),))])
    tl = compute_etas(p, "v", ["a"])
    assert tl.start_s == 8 * H + 50 * M
    assert tl.stops[0].arrival_s == 9 * H
    assert tl.stops[0].wait_s == 0


def test_time_window_violated() -> None:
    # b must start by 08:25 but the rep gets there at 08:30 (after a).
    p = problem([visit("a", 1), visit("b", 2, windows=((8 * H, 8 * H + 25 * M),))])
    tl = compute_etas(p, "v", ["a", "b"])
    assert codes(tl) == {eta.TIME_WINDOW}
    assert tl.stops[1].violations == (eta.TIME_WINDOW,)
    assert tl.violations[0].message == (
        "visit b can start at 08:30 at the earliest, after its last window closes (08:25)"
    )


def test_multiple_windows_uses_the_next_open_one() -> None:
    # Arrive at b 08:30: first window 08:00-08:20 is closed, the second opens 10:00.
    wins = ((8 * H, 8 * H + 20 * M), (10 * H, 11 * H))
    p = problem([visit("a", 1), visit("b", 2, windows=wins)])
    tl = compute_etas(p, "v", ["a", "b"])
    assert tl.stops[1].start_s == 10 * H
    assert tl.feasible


def test_multiple_windows_all_closed() -> None:
    wins = ((8 * H, 8 * H + 20 * M), (8 * H + 25 * M, 8 * H + 29 * M))
    p = problem([visit("a", 1), visit("b", 2, windows=wins)])
    assert codes(compute_etas(p, "v", ["a", "b"])) == {eta.TIME_WINDOW}


def test_lunch_break_placed_between_services() -> None:
    # a is served 08:10-10:10 (120 min); b opens 13:00. Lunch: 30 min starting 10:00-12:00.
    # It cannot start during a, so the earliest placement that keeps a at 08:10 is 10:10 on the
    # way to b: the drive pauses, b is reached 10:10 + 10 + 30 = 10:50 and waits 130 min to
    # 13:00. (Lunch before a would push a to 10:30: same return, later services; lunch after
    # the return at 13:30 is past 12:00.)
    lunch = BreakSpec(earliest_start=10 * H, latest_start=12 * H, duration_s=30 * M)
    visits = [visit("a", 1, 120), visit("b", 2, windows=((13 * H, 14 * H),))]
    tl = compute_etas(problem(visits, [vehicle(lunch=lunch)]), "v", ["a", "b"])
    assert tl.feasible
    assert tl.break_start_s == 10 * H + 10 * M
    assert tl.stops[1].arrival_s == 10 * H + 50 * M
    assert tl.stops[1].wait_s == 130 * M
    assert tl.end_s == 13 * H + 30 * M


def test_lunch_after_the_day_when_the_route_ends_early() -> None:
    # Back home at 08:40 (a, b, home), before the lunch window even opens: no break in the route.
    lunch = BreakSpec(earliest_start=12 * H, latest_start=13 * H, duration_s=30 * M)
    tl = compute_etas(
        problem([visit("a", 1), visit("b", 2)], [vehicle(lunch=lunch)]), "v", ["a", "b"]
    )
    assert tl.feasible
    assert tl.end_s == 9 * H
    assert tl.break_start_s == 12 * H


def test_lunch_break_impossible_when_a_service_covers_its_window() -> None:
    # a must start by 09:00 and runs 240 min (08:10-12:10); b opens 13:00 so the day goes on.
    # The lunch must start 11:00-12:00: during a is forbidden, after a (12:10) is too late,
    # before a makes a start at 11:30, after its window.
    lunch = BreakSpec(earliest_start=11 * H, latest_start=12 * H, duration_s=30 * M)
    visits = [
        visit("a", 1, 240, windows=((8 * H, 9 * H),)),
        visit("b", 2, windows=((13 * H, 14 * H),)),
    ]
    tl = compute_etas(problem(visits, [vehicle(lunch=lunch)]), "v", ["a", "b"])
    assert codes(tl) == {eta.BREAK}


def test_fixed_break_start_overlapping_a_service_is_named() -> None:
    lunch = BreakSpec(earliest_start=8 * H, latest_start=12 * H, duration_s=30 * M)
    p = problem([visit("a", 1, 60), visit("b", 2)], [vehicle(lunch=lunch)])
    # a is served 08:10-09:10; a break fixed at 08:30 overlaps it.
    tl = compute_etas(p, "v", ["a", "b"], break_start=8 * H + 30 * M)
    assert codes(tl) == {eta.BREAK}
    assert "overlaps the visit a" in tl.violations[0].message


def test_shift_end() -> None:
    # a (km 50) takes 50 min each way + 60 min service: back 08:00 + 160 min = 10:40.
    ok = problem([visit("a", 5, 60)], [vehicle(end=10 * H + 40 * M)])
    late = problem([visit("a", 5, 60)], [vehicle(end=10 * H + 39 * M)])
    assert compute_etas(ok, "v", ["a"]).feasible
    tl = compute_etas(late, "v", ["a"])
    assert codes(tl) == {eta.SHIFT_END}
    assert tl.violations[0].message == "back at 10:40, after the shift ends at 10:39"


def test_max_visits() -> None:
    visits = [visit("a", 1), visit("b", 2), visit("c", 3)]
    assert compute_etas(problem(visits, [vehicle(max_visits=3)]), "v", ["a", "b", "c"]).feasible
    tl = compute_etas(problem(visits, [vehicle(max_visits=2)]), "v", ["a", "b", "c"])
    assert codes(tl) == {eta.MAX_VISITS}


def test_max_drive() -> None:
    # a, b then home: 10 + 10 + 20 = 40 min of driving.
    visits = [visit("a", 1), visit("b", 2)]
    assert compute_etas(problem(visits, [vehicle(max_drive_s=40 * M)]), "v", ["a", "b"]).feasible
    tl = compute_etas(problem(visits, [vehicle(max_drive_s=39 * M)]), "v", ["a", "b"])
    assert codes(tl) == {eta.MAX_DRIVE}


def test_capacity() -> None:
    visits = [visit("a", 1, demand=3), visit("b", 2, demand=4)]
    assert compute_etas(problem(visits, [vehicle(capacity=7)]), "v", ["a", "b"]).feasible
    assert codes(compute_etas(problem(visits, [vehicle(capacity=6)]), "v", ["a", "b"])) == {
        eta.CAPACITY
    }


def test_allowed_vehicles() -> None:
    visits = [visit("a", 1, allowed_vehicles=frozenset({"mon"}))]
    vehicles = [vehicle("mon"), vehicle("tue")]
    assert compute_etas(problem(visits, vehicles), "mon", ["a"]).feasible
    assert codes(compute_etas(problem(visits, vehicles), "tue", ["a"])) == {eta.NOT_ALLOWED}


def test_unreachable_location() -> None:
    p = problem([visit("a", 1), visit("b", 2)])
    p.durations_s[:, 2] = UNREACHABLE_S
    p.durations_s[2, 2] = 0
    assert compute_etas(p, "v", ["a"]).feasible
    assert eta.UNREACHABLE in codes(compute_etas(p, "v", ["a", "b"]))


def test_unknown_ids_and_duplicates_raise() -> None:
    p = problem([visit("a", 1)])
    with pytest.raises(InputError) as err:
        compute_etas(p, "x", ["a", "zz", "a"])
    assert [str(x) for x in err.value.problems] == [
        "test: vehicle: unknown vehicle x",
        "test: visit: unknown visit zz",
        "test: visit: visit a listed twice",
    ]
