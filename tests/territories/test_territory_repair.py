"""The local contiguity repair on a hand-made grid: enclaves go, the band, move cap and
qualifications hold, and the home objective is the default."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from routeplanner.territories.contiguity import (
    count_violations,
    make_contiguous,
    neighbour_graph,
    stays_connected,
)
from routeplanner.territories.design import DesignWeights

SIDE = 8


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """8 x 8 accounts, 4-neighbours; rep 0 lives west, rep 1 east (cost = columns to cross)."""
    n = SIDE * SIDE
    xy = np.array([(i % SIDE, i // SIDE) for i in range(n)], dtype=float)
    times = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    order = np.argsort(times, axis=1, kind="stable")[:, 1:5]
    cost = np.stack([xy[:, 0], (SIDE - 1) - xy[:, 0]], axis=1)
    return times, order.astype(np.int64), cost


def _cell(col: int, row: int) -> int:
    return row * SIDE + col


def _planted() -> np.ndarray:
    """West half to rep 0, east half to rep 1, with one account of each deep in the other."""
    assign = np.array([0 if i % SIDE < SIDE // 2 else 1 for i in range(SIDE * SIDE)])
    assign[_cell(6, 2)] = 0
    assign[_cell(1, 5)] = 1
    return assign.astype(np.int64)


def _band() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    balance = np.ones(SIDE * SIDE)
    target = np.full(2, SIDE * SIDE / 2)
    return balance, target * 0.95, target * 1.05


def test_enclaves_are_removed_within_the_band() -> None:
    times, neighbours, cost = _grid()
    graph = neighbour_graph(neighbours, times)
    balance, lower, upper = _band()
    start = _planted()
    assert count_violations(graph, start, balance) == 2
    found = make_contiguous(graph, start, balance, lower, upper, cost)
    assert count_violations(graph, found, balance) == 0
    load = np.bincount(found, weights=balance, minlength=2)
    assert np.all((load >= lower) & (load <= upper))
    # The repair never costs more than the planted split here: both strays were far from home.
    assert cost[np.arange(len(found)), found].sum() < cost[np.arange(len(start)), start].sum()


@pytest.mark.parametrize("cap", [0, 1, 2])
def test_move_cap_is_never_exceeded(cap: int) -> None:
    times, neighbours, cost = _grid()
    graph = neighbour_graph(neighbours, times)
    balance, lower, upper = _band()
    start = _planted()
    found = make_contiguous(graph, start, balance, lower, upper, cost, current=start, max_moves=cap)
    assert int(np.sum(found != start)) <= cap
    # Each stray costs one move to hand back: as many enclaves go as the cap allows.
    assert count_violations(graph, found, balance) == 2 - cap


def test_qualifications_are_kept_by_the_repair() -> None:
    times, neighbours, cost = _grid()
    graph = neighbour_graph(neighbours, times)
    balance, lower, upper = _band()
    start = _planted()
    allowed = np.ones((SIDE * SIDE, 2), dtype=bool)
    stray = _cell(6, 2)
    allowed[stray, 1] = False  # only rep 0 may own it
    found = make_contiguous(graph, start, balance, lower, upper, cost, allowed=allowed)
    assert found[stray] == 0
    assert allowed[np.arange(len(found)), found].all()
    # It is joined to rep 0 through a corridor instead: no enclave left.
    assert count_violations(graph, found, balance) == 0
    load = np.bincount(found, weights=balance, minlength=2)
    assert np.all((load >= lower) & (load <= upper))


def test_local_connectivity_check_agrees_with_counting_pieces() -> None:
    times, neighbours, _ = _grid()
    graph = neighbour_graph(neighbours, times)
    rng = np.random.default_rng(4)
    for _ in range(30):
        assign = (rng.random(SIDE * SIDE) < 0.6).astype(np.int64)
        for i in range(SIDE * SIDE):
            members = np.nonzero(assign == assign[i])[0]
            if len(members) <= 2:
                continue
            sub = graph[members][:, members]
            before, _ = connected_components(sub, directed=False)
            keep = members != i
            after, _ = connected_components(sub[keep][:, keep], directed=False)
            assert stays_connected(graph, assign, i) == (after <= before)


def test_home_is_the_default_objective_and_unknown_ones_are_refused() -> None:
    assert DesignWeights().objective == "home"
    with pytest.raises(ValueError, match="objective must be one of home, centre"):
        DesignWeights(objective="nearest")


def test_swaps_straighten_a_border_that_single_moves_cannot() -> None:
    times, neighbours, cost = _grid()
    graph = neighbour_graph(neighbours, times)
    balance = np.ones(SIDE * SIDE)
    target = np.full(2, SIDE * SIDE / 2)
    lower, upper = target * 0.99, target * 1.01  # one account either way leaves the band
    start = np.array([0 if i % SIDE < SIDE // 2 else 1 for i in range(SIDE * SIDE)])
    start[_cell(3, 0)] = 1  # each side holds one account just across the border
    start[_cell(4, 7)] = 0
    start = start.astype(np.int64)
    assert count_violations(graph, start, balance) == 0
    kept = make_contiguous(graph, start, balance, lower, upper, cost)
    assert np.array_equal(kept, start)
    straight = make_contiguous(graph, start, balance, lower, upper, cost, swaps=True)
    assert straight[_cell(3, 0)] == 0
    assert straight[_cell(4, 7)] == 1
    assert np.bincount(straight).tolist() == [32, 32]
    assert count_violations(graph, straight, balance) == 0
