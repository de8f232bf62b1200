"""The balanced assignment solver and the border local search on hand-worked instances."""

from __future__ import annotations

import numpy as np
import pytest

from routeplanner.territories.assign import solve_assignment
from routeplanner.territories.contiguity import (
    count_violations,
    graph_distances,
    neighbour_graph,
    repair_contiguity,
)


def test_balance_beats_nearest_rep() -> None:
    # Four equal accounts, all nearest to rep 0 (cost 1 vs 5); a band of exactly two each
    # forces the two cheapest-to-move (cost difference 4 for all) to rep 1.
    cost = np.array([[1.0, 5.0]] * 4)
    balance = np.ones(4)
    res = solve_assignment(cost, balance, np.array([2.0, 2.0]), np.array([2.0, 2.0]))
    assert sorted(np.bincount(res.assign, minlength=2)) == [2, 2]
    assert res.slack.sum() == 0
    assert res.optimal


def test_impossible_band_gives_smallest_miss() -> None:
    # Account 0 (load 3) is locked to rep 0 whose band is 0..1: miss 2 is unavoidable, and the
    # solver must not add more (the other two accounts go to rep 1 even though rep 0 is nearer).
    cost = np.array([[1.0, 9.0], [1.0, 9.0], [1.0, 9.0]])
    balance = np.array([3.0, 1.0, 1.0])
    res = solve_assignment(cost, balance, np.array([0.0, 0.0]), np.array([1.0, 5.0]), fixed={0: 0})
    assert list(res.assign) == [0, 1, 1]
    assert res.slack.tolist() == pytest.approx([2.0, 0.0])


def test_move_limit_is_a_hard_constraint() -> None:
    # Everything sits with rep 0 and would be cheaper and balanced elsewhere; one move allowed.
    cost = np.array([[5.0, 1.0]] * 4)
    balance = np.ones(4)
    current = np.zeros(4, dtype=np.int64)
    res = solve_assignment(
        cost, balance, np.array([2.0, 2.0]), np.array([2.0, 2.0]), current=current, max_moves=1
    )
    assert int(np.sum(res.assign != current)) == 1


def test_graph_distance_goes_through_neighbours() -> None:
    # Accounts on a line 100 s apart; the home sits next to account 0 (10 s). A direct road
    # from home to account 3 of 50 s is ignored: through the graph it is 10 + 3 x 100 s.
    times = np.abs(np.subtract.outer(np.arange(4), np.arange(4))) * 100.0
    neighbours = np.array([[1], [0], [1], [2]])
    graph = neighbour_graph(neighbours, times)
    home = np.array([[10.0, 110.0, 210.0, 50.0]])
    assert graph_distances(graph, home, home_links=1)[0].tolist() == [10.0, 110.0, 210.0, 310.0]


def test_repair_moves_a_lone_enclave_and_respects_move_limit() -> None:
    n = 9
    times = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
    # each account's two neighbours on the line (the ends take the next two on their side)
    neighbours = np.array([[1, 2]] + [[i - 1, i + 1] for i in range(1, n - 1)] + [[n - 2, n - 3]])
    graph = neighbour_graph(neighbours, times)
    # Account 4 (territory 1) sits between 3 and 5 (territory 0): on this line graph both 4
    # and 5 are cut off from their territory's main piece, 2 enclave accounts.
    assign = np.array([0, 0, 0, 0, 1, 0, 1, 1, 1])
    balance = np.ones(n)
    cost = np.zeros((n, 2))
    assert count_violations(graph, assign, balance) == 2
    wide = np.array([0.0, 0.0]), np.array([9.0, 9.0])
    fixed_up = repair_contiguity(graph, assign, balance, *wide, cost)
    assert count_violations(graph, fixed_up, balance) == 0
    # one single-account move joins everything up: 4 -> 0 or 5 -> 1
    assert int(np.sum(fixed_up != assign)) == 1
    kept = repair_contiguity(
        graph, assign, balance, *wide, cost, current=assign.copy(), max_moves=0
    )
    assert np.array_equal(kept, assign)
