"""The contiguous-bound study tool's cuts: violated by a split territory, valid for joined ones
heavy enough for the band (the only territories the bound has to keep)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.sparse import csr_matrix

from benchmarks.territories_cbound import Cuts, _separate


def _path(n: int) -> csr_matrix:
    rows = [i for i in range(n - 1)] + [i + 1 for i in range(n - 1)]
    cols = [i + 1 for i in range(n - 1)] + [i for i in range(n - 1)]
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def _check(lower: float, weight: np.ndarray, expect_ub: float) -> None:
    n, m, j = 6, 1, 0
    graph = _path(n)
    split = np.array([True, True, False, True, True, False])
    cuts = Cuts((n, m))
    added = _separate(graph, split, np.arange(n, dtype=np.float64), j, m, cuts, weight, lower)
    assert added == 2  # one cut per account of the piece apart from the main one
    assert cuts.ub == [expect_ub] * 2  # 1: with the anchor; 0: without (light piece)
    a = cuts.constraint().A.toarray()
    ub = np.array(cuts.ub)
    assert np.any(a @ split.astype(float) > ub + 1e-9)  # the split itself is cut off
    # Every connected selection of the path (an interval) at least ``lower`` heavy satisfies
    # every cut: no territory the band allows is cut off.
    kept = 0
    for lo, hi in itertools.combinations(range(n + 1), 2):
        if weight[lo:hi].sum() < lower:
            continue
        y = np.zeros(n)
        y[lo:hi] = 1.0
        assert np.all(a @ y <= ub + 1e-9), (lo, hi)
        kept += 1
    assert kept > 0


def test_separator_cuts_with_an_anchor_when_the_piece_is_heavy() -> None:
    # Pieces as heavy as the band's lower end: the cut needs the main piece's anchor.
    _check(2.0, np.ones(6), 1.0)


def test_separator_cuts_without_an_anchor_when_the_piece_is_light() -> None:
    # The piece {3, 4} weighs 2 < 3: any territory holding 3 or 4 must reach 2 or 5.
    _check(3.0, np.ones(6), 0.0)


def test_a_connected_territory_adds_no_cut() -> None:
    cuts = Cuts((5, 1))
    chosen = np.array([False, True, True, True, False])
    assert _separate(_path(5), chosen, np.zeros(5), 0, 1, cuts, np.ones(5), 2.0) == 0
    assert cuts.ub == []
