"""A design as phases on one problem, bounded by one deadline for the whole job."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from territory_factories import make_accounts, make_reps

import routeplanner.territories.polish as polish_module
import routeplanner.territories.problem as problem_module
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import (
    DesignWeights,
    design_phases,
    design_territories,
)
from routeplanner.territories.problem import (
    DesignProblem,
    Phase,
    Split,
    build_problem,
    first_split,
    run_phases,
)
from routeplanner.territories.realign import realign_territories
from routeplanner.territories.workload import build_context
from routeplanner.travel import HaversineTravel

TRAVEL = HaversineTravel()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_counts_down_and_shares_what_is_left() -> None:
    clock = FakeClock()
    deadline = Deadline.after(10.0, clock)
    assert deadline.remaining() == 10.0
    clock.now += 4.0
    assert deadline.remaining() == 6.0
    assert not deadline.expired()
    half = deadline.share(0.5)
    assert half.remaining() == 3.0  # half of what is left, not of the whole
    assert deadline.limit(20.0) == 6.0  # a solve gets no more than is left
    assert deadline.limit(2.0) == 2.0  # nor more than its own cap
    clock.now += 7.0
    assert deadline.expired()
    assert deadline.remaining() == 0.0
    assert half.expired()
    assert deadline.limit(5.0) == 0.0
    assert deadline.limit(5.0, floor=1.0) == 1.0  # a solve the job cannot do without
    assert deadline.share(0.5).expired()
    with pytest.raises(ValueError, match="between 0 and 1"):
        deadline.share(1.5)
    with pytest.raises(ValueError, match="0 or more seconds"):
        Deadline.after(-1.0)
    assert Deadline.after(float("inf")).share(0.5).remaining() == float("inf")


def _problem(n: int = 60, reps: int = 3) -> DesignProblem:
    accounts = make_accounts(n, 7)
    ctx = build_context(accounts, make_reps(reps, 7, accounts), TRAVEL)
    problem = build_problem(
        ctx, fixed={}, frozen=frozenset(), weights=DesignWeights(), tolerance=0.05
    )
    assert problem is not None
    return problem


def test_phases_run_in_order_each_on_the_split_the_one_before_returned() -> None:
    problem = _problem()
    seen: list[tuple[str, Split, float]] = []

    def phase(name: str, rep: int) -> Phase:
        def run(p: DesignProblem, split: Split, deadline: Deadline) -> Split:
            assert p is problem
            seen.append((name, split, deadline.remaining()))
            return replace(split, assign=np.full(p.n_accounts, rep, dtype=np.int64))

        return run

    start = first_split(problem)
    assert not start.complete  # nobody owns anything before the first phase
    phases = [phase("first", 0), phase("second", 1), phase("third", 2)]
    final = run_phases(problem, start, phases, Deadline.after(60.0))
    assert [name for name, _, _ in seen] == ["first", "second", "third"]
    assert seen[0][1] is start
    assert seen[1][1].assign.tolist() == [0] * problem.n_accounts
    assert seen[2][1].assign.tolist() == [1] * problem.n_accounts
    assert final.assign.tolist() == [2] * problem.n_accounts
    assert all(0.0 < left <= 60.0 for _, _, left in seen)  # one deadline, shared

    # A phase that leaves an account without a rep (no split meets the locks) ends the run.
    seen.clear()
    phases = [phase("first", 0), phase("gives up", -1), phase("never", 2)]
    final = run_phases(problem, start, phases, Deadline.after(60.0))
    assert [name for name, _, _ in seen] == ["first", "gives up"]
    assert not final.complete


def test_design_and_its_starts_are_lists_of_the_same_phases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = _problem()

    def names(p: DesignProblem, *, solve: bool = True) -> list[str]:
        return [phase.__name__ for phase in design_phases(p, solve=solve)]

    polish = [
        "finish_contiguity_home_cost",
        "resplit_pairs_home_cost",
        "finish_contiguity_home_cost",
        "anneal_borders_home_cost",
    ]
    # 60 x 3 fits one contiguity MIP: a home start, then that MIP.
    assert names(problem) == ["balanced_solves", "choose_split", "contiguity_mip", *polish]
    # A split to start from replaces the balanced solves (a realignment's second pass).
    assert names(problem, solve=False) == ["choose_split", "contiguity_mip", *polish]
    # Capped moves: no one-shot MIP (it knows no cap), the rest the same.
    capped = replace(problem, max_moves=5, current=np.zeros(problem.n_accounts, np.int64))
    assert names(capped) == ["balanced_solves", "choose_split", *polish]
    # Too large for one MIP: a centre start, re-split on the centre-mixed cost first.
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)
    large = _problem()
    assert large.centre_start
    assert names(large) == [
        "balanced_solves",
        "fragment_rounds",
        "choose_split",
        "local_repair",
        "finish_contiguity_mixed_cost",
        "resplit_pairs_mixed_cost",
        "finish_contiguity_mixed_cost",
        *polish[1:],
    ]


@pytest.mark.parametrize("limit", [1.0, 3.0])
def test_a_design_returns_within_its_time_limit(
    monkeypatch: pytest.MonkeyPatch, limit: float
) -> None:
    """The time limit bounds the whole job: with an annealing of a million steps per account
    (hours of work) and the large-case phases, the design still returns near its limit, with
    every account in a territory. A bound check, not a speed test: the tolerance covers the
    steps that cannot stop midway (travel times, one balanced solve, the enclave repair)."""
    accounts = make_accounts(300, 5)
    reps = make_reps(4, 5, accounts)
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)
    monkeypatch.setattr(polish_module, "ANNEAL_STEPS", 1_000_000)
    began = time.monotonic()
    plan = design_territories(accounts, reps, TRAVEL, time_limit_s=limit)
    took = time.monotonic() - began
    assert took <= limit + 4.0
    assert len(plan.assignment()) == len(accounts)
    assert plan.kpis.max_workload_dev_pct <= 5.0


def test_a_realignment_returns_within_its_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a realignment: every option shares one limit, and each still comes back."""
    accounts = make_accounts(200, 6)
    reps = make_reps(3, 6, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    grown = accounts + make_accounts(20, 106, prefix="N")
    monkeypatch.setattr(polish_module, "ANNEAL_STEPS", 1_000_000)
    began = time.monotonic()
    options = realign_territories(plan.territories, grown, reps, TRAVEL, time_limit_s=3.0)
    took = time.monotonic() - began
    assert took <= 3.0 + 4.0
    assert len(options) == 6  # 0, 2, 7 and 22 moves, unlimited, and the tidy option
    for option in options:
        assert sum(len(t.account_ids) for t in option.territories) == len(grown)
        if option.max_moves is not None:
            assert option.moved_accounts <= option.max_moves
