"""The contiguous-bound study tool's cuts: violated by a split territory, valid for joined ones."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.sparse import csr_matrix

from benchmarks.territories_cbound import Cuts, _separate


def _path(n: int) -> csr_matrix:
    rows = [i for i in range(n - 1)] + [i + 1 for i in range(n - 1)]
    cols = [i + 1 for i in range(n - 1)] + [i for i in range(n - 1)]
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def test_separator_cuts_cut_off_the_split_and_keep_every_connected_territory() -> None:
    n, m, j = 6, 1, 0
    graph = _path(n)
    split = np.array([True, True, False, True, True, False])
    cuts = Cuts((n, m))
    added = _separate(graph, split, np.arange(n, dtype=np.float64), j, m, cuts)
    assert added == 2  # one cut per account of the piece apart from the main one
    a = cuts.constraint().A.toarray()
    ub = np.array(cuts.ub)
    assert np.any(a @ split.astype(float) > ub + 1e-9)  # the split itself is cut off
    # Every connected selection of the path (an interval) satisfies every cut.
    for lo, hi in itertools.combinations(range(n + 1), 2):
        y = np.zeros(n)
        y[lo:hi] = 1.0
        assert np.all(a @ y <= ub + 1e-9), (lo, hi)


def test_a_connected_territory_adds_no_cut() -> None:
    cuts = Cuts((5, 1))
    chosen = np.array([False, True, True, True, False])
    assert _separate(_path(5), chosen, np.zeros(5), 0, 1, cuts) == 0
    assert cuts.ub == []
