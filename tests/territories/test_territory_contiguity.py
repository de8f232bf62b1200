"""Road contiguity on a hand-made k-nearest graph: enclaves counted as worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from routeplanner.territories.contiguity import (
    count_violations,
    enclave_accounts,
    neighbour_disagreement,
    neighbour_graph,
)


def _line(n: int) -> np.ndarray:
    """Accounts 0..n-1 on a road; each one's 2 nearest are its neighbours on the line."""
    nb = []
    for i in range(n):
        cands = sorted((abs(i - j), j) for j in range(n) if j != i)
        nb.append([j for _, j in cands[:2]])
    return np.array(nb, dtype=np.int64)


def test_contiguous_split_has_no_violation() -> None:
    graph = neighbour_graph(_line(8))
    assign = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert count_violations(graph, assign, np.ones(8)) == 0


def test_an_island_inside_another_territory_is_an_enclave() -> None:
    graph = neighbour_graph(_line(10))
    # With k=2 on a line every account links only to accounts 1-2 places away, so the 0s at
    # 6,7 cannot reach the 0s at 0,1,2 past the 1s at 3,4,5.
    assign = np.array([0, 0, 0, 1, 1, 1, 0, 0, 1, 1])
    weight = np.ones(10)
    # Territory 0 pieces: {0,1,2} (3) and {6,7} (2): 2 enclave accounts.
    # Territory 1 pieces: {3,4,5} and {8,9}: {8,9} is the lighter piece: 2 enclave accounts.
    assert count_violations(graph, assign, weight) == 4
    assert list(enclave_accounts(graph, assign, weight)) == [6, 7, 8, 9]
    # Make {8,9} heavy: then {3,4,5} is the enclave of territory 1 instead.
    weight[8] = weight[9] = 5.0
    assert list(enclave_accounts(graph, assign, weight)) == [3, 4, 5, 6, 7]


def test_disagreement_is_share_of_neighbours_elsewhere() -> None:
    graph = neighbour_graph(_line(4))
    assign = np.array([0, 0, 1, 1])
    d = neighbour_disagreement(graph, assign, 2)
    # account 1's graph neighbours: 0, 2, 3 (3 picks 1 as its 2nd nearest) -> 1 of 3 in t0
    assert d[1, 0] == pytest.approx(2 / 3)
    assert d[1, 1] == pytest.approx(1 / 3)
