"""The hybrid genetic search for periodic routing, on problems small enough to know the optimum.

Every run stops on an iteration limit, never on the clock, so results are the same every time.
Plans are judged by the independent checker (``hgs.check``) and, for the benchmark instances,
by the benchmark's own checker of the raw instance.
"""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import numpy as np
import pytest

from benchmarks.pvrp import Instance, check, read_instance, to_problem
from routeplanner.scheduling.hgs import solve_hgs
from routeplanner.scheduling.hgs.check import plan_problems, plan_travel
from routeplanner.scheduling.hgs.population import Params
from routeplanner.scheduling.periodic import (
    PeriodicCustomer,
    PeriodicProblem,
    PeriodicSolution,
    PeriodicVehicle,
)

PVRP = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "pvrp" / "instances"
SMALL = Params(n_init=8, mu=6, lam=8, n_close=3, n_elite=2)
"""A small population, so a few dozen plans already run the crossover and survivor selection."""


def _line_problem(capacity: float) -> PeriodicProblem:
    # Depot at x=0; customers at x = 10, 11 (east) and -10, -11 (west), demand 1 each.
    xs = np.array([0.0, 10.0, 11.0, -10.0, -11.0])
    travel = np.abs(xs[:, None] - xs[None, :])
    customers = tuple(
        PeriodicCustomer(node=i, service=0.0, demand=1.0, combos=((0,), (1,))) for i in range(1, 5)
    )
    days = tuple((PeriodicVehicle(depot=0, capacity=capacity),) for _ in range(2))
    return PeriodicProblem(travel=travel, customers=customers, days=days)


def _random_problem(seed: int, n: int, days: int, *, cap: float, dmax: float) -> PeriodicProblem:
    """One vehicle a day; each customer 1 or 2 visits on a few allowed day combinations."""
    rng = random.Random(seed)
    pts = np.array([(50.0, 50.0)] + [(rng.uniform(0, 100), rng.uniform(0, 100)) for _ in range(n)])
    travel = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2))
    customers = []
    for i in range(1, n + 1):
        freq = rng.choice((1, 2))
        combos = sorted({tuple(sorted(rng.sample(range(days), freq))) for _ in range(3)})
        customers.append(
            PeriodicCustomer(
                node=i, service=rng.uniform(0, 10), demand=rng.uniform(1, 4), combos=tuple(combos)
            )
        )
    vehicles = tuple(
        (PeriodicVehicle(depot=0, capacity=cap, max_duration=dmax),) for _ in range(days)
    )
    return PeriodicProblem(travel=travel, customers=tuple(customers), days=vehicles)


def _brute_force(problem: PeriodicProblem) -> float:
    """Optimum of a one-vehicle-a-day problem: every combination choice, every visit order."""
    best = math.inf
    custs = problem.customers
    for choice in itertools.product(*(range(len(c.combos)) for c in custs)):
        total = 0.0
        for t, (veh,) in enumerate(problem.days):
            on = [c for c, k in enumerate(choice) if t in custs[c].combos[k]]
            if sum(custs[c].demand for c in on) > veh.capacity:
                total = math.inf
                break
            day = math.inf
            service = sum(custs[c].service for c in on)
            for order in itertools.permutations(on):
                path = [0, *(custs[c].node for c in order), 0]
                travel = sum(float(problem.travel[a, b]) for a, b in itertools.pairwise(path))
                if travel + service <= veh.max_duration:
                    day = min(day, travel)
            total += day if on else 0.0
        best = min(best, total)
    return best


def _solve(problem: PeriodicProblem, iterations: int, seed: int = 0) -> PeriodicSolution:
    return solve_hgs(problem, max_iterations=iterations, seed=seed, params=SMALL)


def test_capacity_splits_east_and_west_over_two_days() -> None:
    # Capacity 2, one vehicle a day: east pair one day (0->11->0 = 22), west the other (22).
    # Any mixed day drives 10 + 20 + 11 = 42 or more, so the optimum is 44.
    sol = _solve(_line_problem(2.0), 30)
    assert sol.travel == pytest.approx(44.0)
    assert sorted(sorted(c for r in day for c in r) for day in sol.routes) == [[0, 1], [2, 3]]
    assert plan_problems(_line_problem(2.0), sol) == []


def test_customers_that_fit_nowhere_are_left_out() -> None:
    # Capacity 1: two days x one vehicle x one customer each -> two of four are left out.
    problem = _line_problem(1.0)
    sol = _solve(problem, 30)
    assert sum(k is None for k in sol.combo) == 2
    assert plan_problems(problem, sol) == []


def test_multi_day_combination_visits_every_day_of_it() -> None:
    travel = np.array([[0.0, 5.0, 7.0], [5.0, 0.0, 3.0], [7.0, 3.0, 0.0]])
    customers = (
        PeriodicCustomer(node=1, service=1.0, combos=((0, 2), (1, 3))),
        PeriodicCustomer(node=2, service=1.0, combos=((1,),)),
    )
    days = tuple((PeriodicVehicle(depot=0, max_duration=100.0),) for _ in range(4))
    problem = PeriodicProblem(travel=travel, customers=customers, days=days)
    sol = _solve(problem, 20)
    # Best: customer 0 on days 1 and 3, sharing day 1 with customer 1: 5 + 3 + 7 + 10 = 25.
    assert sol.combo == (1, 0)
    assert sol.travel == pytest.approx(25.0)
    assert plan_problems(problem, sol) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_random_problems_reach_the_brute_force_optimum(seed: int) -> None:
    problem = _random_problem(seed, n=6, days=3, cap=12.0, dmax=400.0)
    optimum = _brute_force(problem)
    assert math.isfinite(optimum)
    sol = _solve(problem, 60, seed=seed)
    assert plan_problems(problem, sol) == []
    assert sol.travel == pytest.approx(optimum, abs=1e-6)
    assert plan_travel(problem, sol) == pytest.approx(sol.travel)


def test_tight_limits_give_a_feasible_plan_or_leave_out() -> None:
    # Capacity and duration bind on most days: the plan the search returns is always feasible.
    for seed in range(4):
        problem = _random_problem(seed, n=25, days=4, cap=14.0, dmax=260.0)
        sol = _solve(problem, 40, seed=seed)
        assert plan_problems(problem, sol) == []


def test_same_seed_and_iterations_give_the_same_plan() -> None:
    problem = _random_problem(7, n=30, days=5, cap=20.0, dmax=400.0)
    first = _solve(problem, 50, seed=3)
    again = _solve(problem, 50, seed=3)
    assert first.routes == again.routes
    assert first.combo == again.combo
    one_island = solve_hgs(problem, max_iterations=50, seed=3, params=SMALL, islands=1)
    assert plan_problems(problem, one_island) == []


def test_warm_start_keeps_a_given_plan_when_it_is_best() -> None:
    problem = _line_problem(2.0)
    sol = solve_hgs(problem, max_iterations=1, params=SMALL, initial=(0, 0, 1, 1))
    assert sol.travel == pytest.approx(44.0)
    assert sol.combo == (0, 0, 1, 1)


def test_combination_costs_and_overtime_are_part_of_the_objective() -> None:
    # Two customers on one day would be cheapest in travel, but that day's soft limit charges
    # overtime and one combination is priced: the search pays for neither when it need not.
    travel = np.array([[0.0, 10.0, 10.0], [10.0, 0.0, 1.0], [10.0, 1.0, 0.0]])
    customers = (
        PeriodicCustomer(node=1, service=30.0, combos=((0,), (1,)), combo_costs=(0.0, 50.0)),
        PeriodicCustomer(node=2, service=30.0, combos=((0,), (1,))),
    )
    days = tuple((PeriodicVehicle(depot=0, soft_duration=60.0),) for _ in range(2))
    problem = PeriodicProblem(travel=travel, customers=customers, days=days, overtime_weight=5.0)
    sol = _solve(problem, 20)
    # Together on day 0: 21 travel + 81 - 60 = 21 overtime x 5 = 126; apart: 40 travel.
    assert sol.combo == (0, 1)
    assert sol.objective == pytest.approx(40.0)


def test_benchmark_checker_judges_the_raw_instance() -> None:
    inst = read_instance(PVRP / "p01")
    sol = solve_hgs(to_problem(inst), max_iterations=10, params=SMALL)
    routes = [[[c + 1 for c in r] for r in day] for day in sol.routes]
    ok, dist, problems = check(inst, routes)
    assert ok, problems
    assert dist == pytest.approx(sol.travel)
    # Every customer moved to the other day breaks its allowed combination.
    ok, _, problems = check(inst, routes[::-1])
    assert not ok
    assert any("not an allowed combination" in p for p in problems)


def _tiny_instance(capacity: float, duration: float) -> Instance:
    xy = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    return Instance(
        name="tiny",
        m=1,
        t=2,
        duration=(duration, duration),
        capacity=(capacity, capacity),
        xy=xy,
        service=np.array([0.0, 1.0, 1.0]),
        demand=np.array([0.0, 2.0, 2.0]),
        freq=(1, 1),
        combos=(((0,), (1,)), ((0,),)),
    )


def test_benchmark_checker_finds_each_kind_of_violation() -> None:
    good = [[[1, 2]], []]
    ok, dist, problems = check(_tiny_instance(4.0, 30.0), good)
    assert ok, problems
    assert dist == pytest.approx(20.0)
    assert not check(_tiny_instance(3.0, 30.0), good)[0]  # load 4 > capacity 3
    assert not check(_tiny_instance(4.0, 21.0), good)[0]  # 20 travel + 2 service > 21
    assert not check(_tiny_instance(4.0, 30.0), [[[1], [2]], []])[0]  # two routes, m = 1
    assert not check(_tiny_instance(4.0, 30.0), [[[2]], [[1, 2]]])[0]  # 2 twice
    assert not check(_tiny_instance(4.0, 30.0), [[[1]], [[2]]])[0]  # 2 only allowed on day 0
