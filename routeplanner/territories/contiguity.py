"""Contiguity of territories measured on the road network, not on a map.

Definition (used for design, KPIs and the benchmark alike): connect every account with its k
nearest other accounts by road travel time (k = 8; an edge if either picks the other). A
territory is contiguous when its accounts form one connected piece of that graph. Its *main
piece* is the piece holding the most workload; every account of the territory outside the main
piece is an enclave account, and the number of such accounts over all territories is the
*contiguity violation* count.

Why road neighbours and not polygons: two villages on either side of a river without a bridge
are far apart for a driver though close on a map; the k-nearest-by-road graph sees that, a
Voronoi map does not. "Where the road network allows": a territory that must span two road
clusters without accounts between them (say, across a valley) shows as two pieces only if some
other territory's accounts lie between them by road, which is exactly an enclave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def neighbour_graph(neighbours: IntArray) -> csr_matrix:
    """Symmetric adjacency of the k-nearest-by-road graph from ``(n, k)`` neighbour indices."""
    n, k = neighbours.shape
    rows = np.repeat(np.arange(n), k)
    cols = neighbours.ravel()
    data = np.ones(len(rows))
    graph = coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    sym = graph.maximum(graph.T)
    return csr_matrix(sym)


@dataclass(frozen=True, slots=True)
class Fragment:
    """A connected piece of a territory that is not its main piece."""

    rep: int
    members: tuple[int, ...]


def fragments(graph: csr_matrix, assign: IntArray, weight: FloatArray) -> list[Fragment]:
    """Pieces of each territory other than its main (heaviest) piece."""
    coo = graph.tocoo()
    same = assign[coo.row] == assign[coo.col]
    sub = coo_matrix(
        (np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=graph.shape
    ).tocsr()
    _, labels = connected_components(sub, directed=False)
    by_piece: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_piece.setdefault(int(lab), []).append(i)
    by_rep: dict[int, list[list[int]]] = {}
    for members in by_piece.values():
        by_rep.setdefault(int(assign[members[0]]), []).append(members)
    result: list[Fragment] = []
    for rep, pieces in by_rep.items():
        if len(pieces) < 2:
            continue
        pieces.sort(key=lambda p: (-float(weight[p].sum()), min(p)))
        result.extend(Fragment(rep, tuple(p)) for p in pieces[1:])
    return result


def enclave_accounts(graph: csr_matrix, assign: IntArray, weight: FloatArray) -> IntArray:
    """Indices of accounts outside their territory's main piece, sorted."""
    members = [i for f in fragments(graph, assign, weight) for i in f.members]
    return np.array(sorted(members), dtype=np.int64)


def count_violations(graph: csr_matrix, assign: IntArray, weight: FloatArray) -> int:
    """The contiguity violation count: accounts outside their territory's main piece."""
    return sum(len(f.members) for f in fragments(graph, assign, weight))


def neighbour_disagreement(graph: csr_matrix, assign: IntArray, m: int) -> FloatArray:
    """``(n, m)`` share of each account's graph neighbours that are NOT in territory j.

    Added to the assignment cost it pulls an account towards the territory its neighbours are
    in, which is how the design smooths away enclaves without a combinatorial constraint.
    """
    n = graph.shape[0]
    onehot = np.zeros((n, m))
    onehot[np.arange(n), assign] = 1.0
    counts = graph @ onehot
    degree = np.asarray(graph.sum(axis=1)).ravel()
    degree[degree == 0] = 1.0
    return np.asarray(1.0 - counts / degree[:, None], dtype=np.float64)
