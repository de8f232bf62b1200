"""Engine details: PyVRP profile merging, reasons on an empty day, and invariants on random days.

Random instances stop on solution/iteration limits, never on the clock.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from routing_factories import H, M, problem, vehicle, visit

from routeplanner.model.plan import UnassignedReason
from routeplanner.routing.params import SolveParams
from routeplanner.routing.problem import BreakSpec, RoutingProblem, VehicleSpec, VisitSpec
from routeplanner.routing.pyvrp_engine import _layout, pyvrp_fit
from routeplanner.routing.solve import solve

D = 86400


def test_rep_days_share_one_profile_per_rep() -> None:
    # 2 reps x 2 days; each visit allowed on its rep's days only. Day-1 windows make the
    # day-0 vehicles irrelevant for day-1 copies, so each rep needs one profile, not two.
    vehicles = [
        vehicle(f"r{r}d{d}", start=d * D + 8 * H, end=d * D + 17 * H)
        for r in range(2)
        for d in range(2)
    ]
    visits = [
        visit(
            f"v{i}",
            1 + i % 4,
            windows=((8 * H, 17 * H), (D + 8 * H, D + 17 * H)),
            allowed_vehicles=frozenset({f"r{i % 2}d0", f"r{i % 2}d1"}),
        )
        for i in range(6)
    ]
    layout = _layout(problem(visits, vehicles))
    assert len(layout.forbidden) == 2
    assert layout.profile_of_vehicle == [0, 0, 1, 1]
    assert len(layout.copies) == 12


def test_copies_outside_every_shift_are_pruned() -> None:
    # The 20:00 window overlaps no shift: only the morning copy is offered to PyVRP.
    v = visit("a", 1, windows=((9 * H, 10 * H), (20 * H, 21 * H)))
    assert _layout(problem([v])).copies == [(0, (9 * H, 10 * H))]
    night = visit("n", 1, windows=((20 * H, 21 * H),))
    assert not pyvrp_fit(problem([night])).usable


def test_window_out_of_reach_from_home_is_outside_opening_hours() -> None:
    # Opens 08:00-08:20 at km 50: 50 min from home, so even leaving at 08:00 the rep is late.
    p = problem([visit("far", 5, windows=((8 * H, 8 * H + 20 * M),), penalty=1000)])
    sol = solve(p, SolveParams(time_limit_s=10))
    assert [d.reason for d in sol.dropped] == [UnassignedReason.OUTSIDE_OPENING_HOURS]
    assert sol.dropped[0].detail.startswith("even on an empty day: visit far can start at 08:50")


def _random_problem(seed: int) -> RoutingProblem:
    rng = random.Random(seed)
    n = 12
    pts = np.array([(rng.uniform(0, 30), rng.uniform(0, 30)) for _ in range(n + 2)])
    km = np.sqrt(((pts[:, None] - pts[None, :]) ** 2).sum(axis=2))
    dur = np.rint(km * 90).astype(np.int64)
    visits = [
        VisitSpec(
            visit_id=f"v{i}",
            location=2 + i,
            service_s=rng.choice([10, 20, 40]) * M,
            windows=rng.choice([(), ((8 * H, 12 * H),), ((8 * H, 9 * H), (13 * H, 15 * H))]),
            penalty=rng.choice([None, 5000, 50_000]),
            allowed_vehicles=rng.choice([None, frozenset({"a"}), frozenset({"b"})]),
        )
        for i in range(n)
    ]
    lunch = BreakSpec(earliest_start=12 * H, latest_start=13 * H, duration_s=30 * M)
    vehicles = [
        VehicleSpec(
            vehicle_id="a",
            start_location=0,
            end_location=0,
            shift_start=8 * H,
            shift_end=13 * H,
            lunch=lunch,
            max_visits=5,
        ),
        VehicleSpec(
            vehicle_id="b",
            start_location=1,
            end_location=0,
            shift_start=9 * H,
            shift_end=16 * H,
            max_drive_s=2 * H,
        ),
    ]
    return RoutingProblem(
        visits=tuple(visits),
        vehicles=tuple(vehicles),
        durations_s=dur,
        distances_m=dur * 10,
        source="random",
    )


@pytest.mark.parametrize("seed", range(6))
def test_every_visit_is_routed_once_or_explained(seed: int) -> None:
    p = _random_problem(seed)
    sol = solve(p, SolveParams(time_limit_s=30, solution_limit=100, iteration_limit=200, seed=seed))
    routed = [s.visit_id for r in sol.routes for s in r.stops]
    dropped = [d.visit_id for d in sol.dropped]
    assert len(routed) == len(set(routed))
    assert sorted(routed + dropped) == sorted(v.visit_id for v in p.visits)
    assert all(r.feasible for r in sol.routes)
    assert all(d.detail for d in sol.dropped)
    # Visits only ride on vehicles they are allowed on.
    allowed = {v.visit_id: v.allowed_vehicles for v in p.visits}
    for r in sol.routes:
        for s in r.stops:
            assert allowed[s.visit_id] is None or r.vehicle_id in allowed[s.visit_id]
