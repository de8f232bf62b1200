"""No enclaves: the contiguity MIP over seeds, on hand-made grids, and its group re-split path.

Clustered generated cases (towns plus scattered accounts) always admit a contiguous balanced
split, so the design must return one with zero enclave accounts and every territory in the band.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from territory_factories import make_accounts, make_reps, straight_line_design

import routeplanner.territories.design as design_module
import routeplanner.territories.problem as problem_module
import routeplanner.territories.resplit as resplit_module
from routeplanner.territories.assign import solve_contiguous
from routeplanner.territories.contiguity import count_violations, neighbour_graph
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import design_territories
from routeplanner.territories.problem import DesignProblem, Phase
from routeplanner.travel import HaversineTravel

TRAVEL = HaversineTravel()
FEASIBLE_GAP = 0.5
"""MIP gap of the hand-made grid solves: what they assert (one piece per territory, the band,
the move cap) holds for every split the model allows, so proving the best one on a random cost
adds nothing but seconds."""


@pytest.mark.parametrize("seed", range(6))
def test_design_has_no_enclaves_and_stays_balanced(seed: int) -> None:
    accounts = make_accounts(150, seed)
    reps = make_reps(3, seed, accounts)
    plan = straight_line_design(accounts, reps)
    assert plan.kpis.contiguity_violations == 0
    assert plan.kpis.max_workload_dev_pct <= 5.0
    assert sum(len(t.account_ids) for t in plan.territories) == 150


@pytest.mark.parametrize("seed", range(3))
def test_locked_accounts_stay_and_no_enclave_among_the_rest(seed: int) -> None:
    accounts = make_accounts(120, seed)
    reps = make_reps(3, seed, accounts)
    locks = {accounts[0].account_id: "R1", accounts[1].account_id: "R2"}
    plan = design_territories(accounts, reps, TRAVEL, locked=locks)
    owner = plan.assignment()
    assert all(owner[a] == r for a, r in locks.items())
    assert plan.kpis.max_workload_dev_pct <= 5.0
    # A locked account far from its rep may itself be a piece of its own; nothing else is.
    assert plan.kpis.contiguity_violations <= len(locks)


def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Accounts on a side x side grid, 4-neighbours, unit road time per step."""
    n = side * side
    xy = np.array([(i % side, i // side) for i in range(n)], dtype=float)
    times = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    order = np.argsort(times, axis=1, kind="stable")[:, 1:5]
    return times, order.astype(np.int64)


def test_solve_contiguous_on_a_grid_gives_connected_balanced_territories() -> None:
    times, neighbours = _grid(8)
    graph = neighbour_graph(neighbours, times)
    homes = [0, 7, 56, 63]  # the four corners
    home = times[:, homes] + 1.0  # home sits one step outside its corner account
    n, m = home.shape
    balance = np.ones(n) / n
    target = np.full(m, 1.0 / m)
    own = np.stack([home[:, j] for j in range(m)], axis=1)
    # Even a cost that prefers interleaving (random) cannot break contiguity.
    cost = np.random.default_rng(3).random((n, m)) * 100.0
    found = solve_contiguous(
        cost,
        balance,
        target * 0.95,
        target * 1.05,
        neighbours_indptr=graph.indptr.astype(np.int64),
        neighbours=graph.indices.astype(np.int64),
        home_dist=own,
        home_links=[frozenset({h}) for h in homes],
        start=np.zeros(n, dtype=np.int64),
        free=np.ones(n, dtype=bool),
        time_limit_s=20.0,
        mip_rel_gap=FEASIBLE_GAP,
    )
    assert found is not None
    assert count_violations(graph, found, balance) == 0
    assert np.bincount(found, minlength=m).tolist() == [16, 16, 16, 16]
    assert [int(found[h]) for h in homes] == [0, 1, 2, 3]


def test_solve_contiguous_with_every_account_held_has_nothing_to_decide() -> None:
    # A re-split of two territories whose accounts are all pinned (a rep holding only
    # accounts that need its qualification, next to a locked one) decides nothing.
    times, neighbours = _grid(4)
    graph = neighbour_graph(neighbours, times)
    n = len(times)
    found = solve_contiguous(
        np.ones((n, 2)),
        np.ones(n) / n,
        np.zeros(2),
        np.ones(2),
        neighbours_indptr=graph.indptr.astype(np.int64),
        neighbours=graph.indices.astype(np.int64),
        home_dist=times[:, [0, n - 1]],
        home_links=[frozenset({0}), frozenset({n - 1})],
        start=np.arange(n, dtype=np.int64) % 2,
        free=np.zeros(n, dtype=bool),
        time_limit_s=5.0,
        mip_rel_gap=FEASIBLE_GAP,
    )
    assert found is None


@pytest.mark.parametrize("seed", range(3))
def test_large_case_path_skips_group_resplits_and_stays_balanced_and_contiguous(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Large cases: no contiguity MIP over every account; the repair starts from the LP split."""
    accounts = make_accounts(200, seed)
    reps = make_reps(4, seed, accounts)
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)  # force the large-case path
    lists: list[list[str]] = []
    phases_of = design_module.design_phases

    def recording(problem: DesignProblem, *, solve: bool = True) -> list[Phase]:
        phases = phases_of(problem, solve=solve)
        lists.append([phase.__name__ for phase in phases])
        return phases

    monkeypatch.setattr(design_module, "design_phases", recording)
    plan = design_territories(accounts, reps, TRAVEL)
    assert len(lists) == 1
    assert "contiguity_mip" not in lists[0]
    assert lists[0][:2] == ["balanced_solves", "fragment_rounds"]  # the centre start
    assert plan.kpis.contiguity_violations == 0
    assert plan.kpis.max_workload_dev_pct <= 5.0
    assert sum(len(t.account_ids) for t in plan.territories) == 200
    # The same design where one MIP fits runs it, straight after the chosen split.
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 6000)
    design_territories(accounts, reps, TRAVEL)
    assert lists[1][:3] == ["balanced_solves", "choose_split", "contiguity_mip"]


@pytest.mark.parametrize("seed", range(3))
def test_large_case_path_honours_locks(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    # A locked account far from its rep's territory may stay an enclave (it cannot move);
    # locks and the band are what is guaranteed.
    accounts = make_accounts(200, seed)
    reps = make_reps(4, seed, accounts)
    locks = {accounts[0].account_id: "R1", accounts[1].account_id: "R3"}
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)  # force the large-case path
    plan = design_territories(accounts, reps, TRAVEL, locked=locks)
    owner = plan.assignment()
    assert all(owner[a] == r for a, r in locks.items())
    assert plan.kpis.max_workload_dev_pct <= 5.0
    assert plan.kpis.contiguity_violations <= 1


@pytest.fixture(scope="module")
def quadrants() -> dict[str, Any]:
    """An 8 x 8 grid split in its four quadrants (contiguous, balanced), a random cost pulling
    accounts away, and the split the model finds without a cap (read only)."""
    times, neighbours = _grid(8)
    graph = neighbour_graph(neighbours, times)
    homes = [0, 7, 56, 63]
    home = times[:, homes] + 1.0
    n, m = home.shape
    balance = np.ones(n) / n
    stay = np.array([(i % 8 >= 4) + 2 * (i // 8 >= 4) for i in range(n)], dtype=np.int64)
    stay[[27, 36]] = -1  # two new accounts in the middle: never a move
    cost = np.random.default_rng(5).random((n, m)) * 100.0
    kwargs: dict[str, Any] = {
        "neighbours_indptr": graph.indptr.astype(np.int64),
        "neighbours": graph.indices.astype(np.int64),
        "home_dist": home,
        "home_links": [frozenset({h}) for h in homes],
        "start": np.where(stay >= 0, stay, 0),
        "free": np.ones(n, dtype=bool),
        "time_limit_s": 20.0,
        "mip_rel_gap": FEASIBLE_GAP,
    }
    target = np.full(m, 1.0 / m)
    loose = solve_contiguous(cost, balance, target * 0.8, target * 1.2, **kwargs)
    return {
        "graph": graph,
        "balance": balance,
        "target": target,
        "stay": stay,
        "cost": cost,
        "kwargs": kwargs,
        "loose": loose,
    }


@pytest.mark.parametrize("spare", [0, 2, 6])
def test_solve_contiguous_keeps_a_move_cap(quadrants: dict[str, Any], spare: int) -> None:
    """``stay``/``max_moved``: at most that many accounts leave their current rep."""
    graph, balance, target = quadrants["graph"], quadrants["balance"], quadrants["target"]
    stay, cost, kwargs = quadrants["stay"], quadrants["cost"], quadrants["kwargs"]
    n, m = cost.shape
    loose = quadrants["loose"]
    assert loose is not None
    assert int(np.sum((stay >= 0) & (stay != loose))) > 6  # the cap below binds
    found = solve_contiguous(
        cost, balance, target * 0.8, target * 1.2, stay=stay, max_moved=spare, **kwargs
    )
    assert found is not None
    assert int(np.sum((stay >= 0) & (stay != found))) <= spare
    assert count_violations(graph, found, balance) == 0
    # Held accounts that already left their rep use up the cap: none left, no split.
    held = np.ones(n, dtype=bool)
    held[:8] = False
    spent = {**kwargs, "free": ~held, "start": np.where(stay >= 0, (stay + 1) % m, 0)}
    assert (
        solve_contiguous(
            cost, balance, target * 0.8, target * 1.2, stay=stay, max_moved=spare, **spent
        )
        is None
    )


@pytest.mark.parametrize("seed", range(2))
def test_pairwise_resplits_run_to_a_local_optimum(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """When the re-splits stop (their queue empty, well within the time), no touching pair of
    territories has a re-split left that they would keep: every pair was tried after its last
    change."""
    accounts = make_accounts(240, seed)
    reps = make_reps(6, seed, accounts)
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)  # force the large-case path
    calls: list[tuple[DesignProblem, np.ndarray, np.ndarray]] = []
    improve = resplit_module.improve_pairs

    def recording(
        problem: DesignProblem, assign: np.ndarray, cost: np.ndarray, deadline: Deadline
    ) -> np.ndarray:
        found = improve(problem, assign, cost, deadline)
        calls.append((problem, cost, found))
        return found

    monkeypatch.setattr(resplit_module, "improve_pairs", recording)
    design_territories(accounts, reps, TRAVEL)
    assert len(calls) == 2  # the centre-mixed round, then the home round
    for problem, cost, assign in calls:
        lower, upper = problem.repair_band
        locked = np.zeros(problem.n_accounts, dtype=bool)
        locked[list(problem.fixed)] = True
        pairs = resplit_module.touching_pairs(problem.graph, assign, range(problem.n_reps))
        assert len(pairs) >= 5
        for pair in pairs:
            again = resplit_module.resplit(
                problem, assign, list(pair), cost, lower, upper, locked, problem.solve_limit_s
            )
            if again is None:
                continue
            kept = problem.travel(again, cost) < problem.travel(assign, cost) - 1e-6 and (
                count_violations(problem.graph, again, problem.balance)
                <= count_violations(problem.graph, assign, problem.balance)
            )
            assert not kept, pair


def test_same_input_same_design(monkeypatch: pytest.MonkeyPatch) -> None:
    """The polishing ends when its re-splits and annealing steps are done, not on the clock,
    so the same input gives the same territories (the clock is only a safety net)."""
    accounts = make_accounts(300, 4)
    reps = make_reps(4, 4, accounts)
    monkeypatch.setattr(problem_module, "CONTIGUOUS_FULL", 10)  # re-splits and annealing
    first = design_territories(accounts, reps, TRAVEL)
    second = design_territories(accounts, reps, TRAVEL)
    assert [t.account_ids for t in first.territories] == [t.account_ids for t in second.territories]
