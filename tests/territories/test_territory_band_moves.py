"""Moves toward the balance band within a budget, on a grid of accounts cut into stripes."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from routeplanner.territories.band_moves import band_moves, band_need

ROWS, COLS = 10, 30
BAND = 0.04


def grid_graph() -> csr_matrix:
    """Accounts on a ROWS x COLS grid, each joined to its four neighbours."""
    index = np.arange(ROWS * COLS).reshape(ROWS, COLS)
    pairs = np.concatenate(
        [
            np.column_stack([index[:, :-1].ravel(), index[:, 1:].ravel()]),
            np.column_stack([index[:-1, :].ravel(), index[1:, :].ravel()]),
        ]
    )
    n = ROWS * COLS
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return csr_matrix((graph + graph.T).astype(bool).astype(np.float64))


def stripes(widths: list[int]) -> np.ndarray:
    """Territory of each account: vertical stripes of the given widths, left to right."""
    column = np.repeat(np.arange(len(widths)), widths)
    return np.tile(column, ROWS).astype(np.int64)


def deviations(assign: np.ndarray, capacity: np.ndarray, free: list[int]) -> np.ndarray:
    load = np.bincount(assign, minlength=len(capacity)).astype(np.float64)
    target = capacity[free] / capacity[free].sum() * load[free].sum()
    return np.asarray(load[free] / target - 1.0)


def whole(assign: np.ndarray, graph: csr_matrix) -> bool:
    for j in np.unique(assign):
        members = np.flatnonzero(assign == j)
        if connected_components(graph[members][:, members], directed=False)[0] != 1:
            return False
    return True


def test_band_moves_reach_the_band_keep_territories_whole_and_hold_the_budget() -> None:
    graph, current = grid_graph(), stripes([12, 6, 6, 6])  # the first stripe is 20 % over
    balance = np.full(ROWS * COLS, 1.0 / (ROWS * COLS))
    capacity = np.ones(4)
    home_s = np.zeros((4, ROWS * COLS))
    free = [0, 1, 2, 3]
    assert np.abs(deviations(current, capacity, free)).max() > 0.5
    need = band_need(current, graph, balance, capacity, band=BAND)
    assert need > 0
    unlimited = band_moves(
        current, current, graph, balance, capacity, home_s, band=BAND, budget=None
    )
    assert np.abs(deviations(unlimited, capacity, free)).max() <= BAND + 1e-9
    assert whole(unlimited, graph)
    # The second stripe passes the first's load on to the third: a chain of territories.
    assert np.any((current == 0) & (unlimited == 1))
    assert np.any((current == 1) & (unlimited == 2))
    start = np.abs(deviations(current, capacity, free)).max()
    for budget in (0, 5, 20):
        capped = band_moves(
            current, current, graph, balance, capacity, home_s, band=BAND, budget=budget
        )
        assert np.sum(capped != current) <= budget
        assert whole(capped, graph)
        worst = np.abs(deviations(capped, capacity, free)).max()
        assert worst < start if budget else worst == start


def test_band_moves_leave_still_territories_and_fixed_accounts_and_count_free_moves() -> None:
    graph, split = grid_graph(), stripes([12, 6, 6, 6])
    balance = np.full(ROWS * COLS, 1.0 / (ROWS * COLS))
    capacity, home_s = np.ones(4), np.zeros((4, ROWS * COLS))
    # Accounts of the first stripe's border have no current rep: handing them on is free.
    current = split.copy()
    border = np.flatnonzero((split == 0) & (np.tile(np.arange(COLS), ROWS) == 11))
    current[border] = -1
    fixed = [int(border[0])]
    out = band_moves(
        split,
        current,
        graph,
        balance,
        capacity,
        home_s,
        band=BAND,
        budget=2,
        still=[3],
        fixed=fixed,
    )
    counted = np.sum((current >= 0) & (out != current))
    assert counted <= 2
    assert np.sum(out != split) > counted  # accounts without a rep went first, for free
    assert out[fixed[0]] == split[fixed[0]]
    assert np.array_equal(np.flatnonzero(out == 3), np.flatnonzero(split == 3))
