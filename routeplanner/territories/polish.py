"""The last phases of a design: hand enclaves over and shorten borders, then anneal.

The MIP phases before them follow the shortest-path-tree condition, which is stronger than
connectivity; these work on real connectivity and so find what the MIPs cannot.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from routeplanner.territories.contiguity import count_violations, make_contiguous
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.localsearch import improve_travel, permute_territories
from routeplanner.territories.problem import DesignProblem, FloatArray, IntArray, Phase, Split
from routeplanner.territories.resplit import CostOf

ANNEAL_STEPS = 10_000
"""Annealing steps per account in each path: enough that more steps stop paying, and a fixed
count (not the clock) ends the search, so the same input gives the same design."""
ANNEAL_PATHS = 2
"""Annealing paths (seeds) run side by side, the cheapest kept: one per core here."""
ANNEAL_SHARE = 0.9
"""Share of what is left of the job the (last) annealing run may use: a safety net, the step
count ends it first on a machine that keeps up."""
ANNEAL_ROUND_SHARE = 0.5
"""Share of what is left for each annealing run but the last when moves are priced: the first
run does most of the work, and a later one starts only while the one before found something."""
ANNEAL_MIN_TOUCH = 1
"""Road neighbours an account must have in the territory it moves to: 2 gives smoother
borders but costs travel, and compactness is the design's target."""
ANNEAL_MIN_S = 1.0
"""Least time worth starting an annealing run with: a shorter one would spend it loading the
compiled search."""
PRICED_ANNEAL_ROUNDS = 5
"""Annealing runs at most when moves are priced: a run that starts hot spends moves, so it is
restarted from its result while that still finds something."""


def home_cost(problem: DesignProblem, _split: Split) -> FloatArray:
    """Road time from each rep's home: what the home objective lowers."""
    return problem.home


def mixed_cost(_problem: DesignProblem, split: Split) -> FloatArray:
    """The cost mixed with time from the territory centres, as the last medoid update left it."""
    return split.mixed_cost


def finish_contiguity(cost_of: CostOf, *, swaps: bool = False) -> Phase:
    """A phase handing the enclaves left to their neighbours and rebalancing along borders.

    Kept only when it stays in the band and has fewer enclaves (or as many and lower cost);
    with ``swaps`` border accounts are also exchanged between touching territories, a polish
    skipped once the deadline has passed (the first repair always runs: it removes enclaves).
    """

    def run(problem: DesignProblem, split: Split, deadline: Deadline) -> Split:
        if swaps and deadline.expired():
            return split
        cost = cost_of(problem, split) + problem.move_prices()
        found = _contiguous(problem, split.assign, cost, swaps=swaps, keep_band=False)
        if _score(problem, found, cost)[0] > 0:
            # Out of band (a move cap too tight to rebalance): only the hand-overs it allows.
            found = _contiguous(problem, split.assign, cost, swaps=False, keep_band=True)
        if _score(problem, found, cost) < _score(problem, split.assign, cost):
            return replace(split, assign=found)
        return split

    run.__name__ = f"finish_contiguity_{getattr(cost_of, '__name__', 'cost')}"
    return run


def anneal_borders(cost_of: CostOf) -> Phase:
    """A phase exchanging whole territories where that pays, then annealing border shifts and
    swaps on real connectivity (see :mod:`~.localsearch`); priced moves restart it."""

    def run(problem: DesignProblem, split: Split, deadline: Deadline) -> Split:
        problem.report("local search", 0.95)
        cost = cost_of(problem, split) + problem.move_prices()
        priced = problem.move_penalty_s > 0 and problem.current is not None
        rounds = PRICED_ANNEAL_ROUNDS if priced else 1
        assign = split.assign
        for round_no in range(rounds):
            if deadline.remaining() < ANNEAL_MIN_S:
                break
            last = round_no == rounds - 1
            budget = deadline.share(ANNEAL_SHARE if last else ANNEAL_ROUND_SHARE)
            found = anneal(problem, assign, cost, budget, first_seed=round_no * ANNEAL_PATHS)
            if found is assign:
                break
            assign = found
        return split if assign is split.assign else replace(split, assign=assign)

    run.__name__ = f"anneal_borders_{getattr(cost_of, '__name__', 'cost')}"
    return run


def anneal(
    problem: DesignProblem,
    assign: IntArray,
    cost: FloatArray,
    deadline: Deadline,
    *,
    first_seed: int = 0,
) -> IntArray:
    """One annealing run from ``assign`` (``ANNEAL_PATHS`` seeded paths, the cheapest kept).

    Returns ``assign`` itself unless the result costs less without adding enclaves (the search
    keeps each territory's pieces, but the enclave count weighs pieces by load).
    """
    lower, upper = problem.repair_band
    fixed = problem.fixed_set
    start = permute_territories(
        assign, problem.balance, lower, upper, cost, allowed=problem.allowed, fixed=fixed
    )
    if problem.moves_over(start):
        start = assign
    limit = deadline.remaining()

    def path(seed: int) -> IntArray:
        return improve_travel(
            problem.graph,
            start,
            problem.balance,
            lower,
            upper,
            cost,
            allowed=problem.allowed,
            fixed=fixed,
            iterations=ANNEAL_STEPS * problem.n_accounts,
            time_limit_s=limit,
            seed=seed,
            min_touch=ANNEAL_MIN_TOUCH,
            current=problem.current,
            max_moves=problem.max_moves,
        )

    seeds = range(first_seed, first_seed + ANNEAL_PATHS)
    # The search releases the GIL, so threads run the paths side by side; the result is the
    # same with one core (the cheapest path, the first on a tie), only slower.
    with ThreadPoolExecutor(max_workers=min(ANNEAL_PATHS, os.cpu_count() or 1)) as pool:
        runs = list(pool.map(path, seeds))
    found = min(runs, key=lambda run: problem.travel(run, cost))
    graph, balance = problem.graph, problem.balance
    if problem.travel(found, cost) < problem.travel(assign, cost) - 1e-6 and (
        count_violations(graph, found, balance) <= count_violations(graph, assign, balance)
    ):
        return found
    return assign


def _contiguous(
    problem: DesignProblem, assign: IntArray, cost: FloatArray, *, swaps: bool, keep_band: bool
) -> IntArray:
    lower, upper = problem.repair_band
    return make_contiguous(
        problem.graph,
        assign,
        problem.balance,
        lower,
        upper,
        cost,
        allowed=problem.allowed,
        fixed=problem.fixed_set,
        current=problem.current,
        max_moves=problem.max_moves,
        swaps=swaps,
        keep_band=keep_band,
    )


def _score(problem: DesignProblem, assign: IntArray, cost: FloatArray) -> tuple[int, int, float]:
    """(out of the tolerance, enclave accounts, cost): lower is better, in that order."""
    load = np.bincount(assign, weights=problem.balance, minlength=problem.n_reps)
    out = int(np.any(np.abs(load / problem.target - 1.0) > problem.tolerance + 1e-9))
    enclaves = count_violations(problem.graph, assign, problem.balance)
    return out, enclaves, problem.travel(assign, cost)
