"""The periodic search engine on instances small enough to know the optimum."""

from __future__ import annotations

import numpy as np

from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicVehicle,
    solve_periodic,
)


def _line_problem(capacity: float) -> PeriodicProblem:
    # Depot at x=0; customers at x = 10, 11 (east) and -10, -11 (west), demand 1 each.
    xs = np.array([0.0, 10.0, 11.0, -10.0, -11.0])
    travel = np.abs(xs[:, None] - xs[None, :])
    customers = tuple(
        PeriodicCustomer(node=i, service=0.0, demand=1.0, combos=((0,), (1,))) for i in range(1, 5)
    )
    days = tuple((PeriodicVehicle(depot=0, capacity=capacity),) for _ in range(2))
    return PeriodicProblem(travel=travel, customers=customers, days=days)


def test_capacity_splits_east_and_west_over_two_days() -> None:
    # Capacity 2, one vehicle a day: east pair one day (0->11->0 = 22), west the other (22).
    # Any mixed day drives 10 + 20 + 11 = 42 or more, so the optimum is 44.
    sol = solve_periodic(_line_problem(2.0), max_iterations=20, seed=1)
    assert sol.travel == 44.0
    days = [sorted(c for r in day for c in r) for day in sol.routes]
    assert sorted(days) == [[0, 1], [2, 3]]
    assert all(k is not None for k in sol.combo)


def test_customer_that_fits_nowhere_is_dropped() -> None:
    # Capacity 1: two days x one vehicle x one customer each -> two of four are dropped.
    sol = solve_periodic(_line_problem(1.0), max_iterations=10, seed=0, use_pyvrp=False)
    assert sum(k is None for k in sol.combo) == 2
    assert all(len(r) <= 1 for day in sol.routes for r in day)


def test_multi_day_combination_visits_every_day_of_it() -> None:
    # One customer needs days {0, 2} or {1, 3}; another only {1}. Both fit; each is on exactly
    # the days of one combination.
    travel = np.array([[0.0, 5.0, 7.0], [5.0, 0.0, 3.0], [7.0, 3.0, 0.0]])
    customers = (
        PeriodicCustomer(node=1, service=1.0, combos=((0, 2), (1, 3))),
        PeriodicCustomer(node=2, service=1.0, combos=((1,),)),
    )
    days = tuple((PeriodicVehicle(depot=0, max_duration=100.0),) for _ in range(4))
    prob = PeriodicProblem(travel=travel, customers=customers, days=days)
    sol = solve_periodic(prob, max_iterations=20, seed=0)
    on = {c: [t for t, day in enumerate(sol.routes) for r in day if c in r] for c in (0, 1)}
    assert on[1] == [1]
    k = sol.combo[0]
    assert k is not None
    assert on[0] == list(customers[0].combos[k])
    # Best: customer 0 on days 1 and 3, sharing day 1 with customer 1: 5 + 3 + 7 + 10 = 25.
    assert sol.travel == 25.0
