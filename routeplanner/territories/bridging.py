"""Road neighbours bridged across the accounts that only a few reps may take.

An account that requires a qualification goes to a rep who holds it, wherever it lies. When such
accounts are scattered over the map, the few qualified reps' territories cannot be one piece,
and every one of those accounts is a hole in the territory around it. Polishing borders on the
plain neighbour graph then sees pieces everywhere: a qualified rep's lone account borders the
territories around it, so whole pieces are handed to that rep through it, and a territory can
look cut in two by an account its rep could never take.

The bridged graph takes those accounts out of the picture: each is isolated (it stays with its
qualified rep, whose territory it cannot join), and the accounts around it are linked to one
another, as a rep drives past a specialist's customer on the way through their own area.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from routeplanner.territories.contiguity import BoolArray, FloatArray, IntArray, fragments

MAX_BRIDGED_NEIGHBOURS = 64
"""Most accounts one group of restricted accounts links to one another: a group that touches
more is a large area of its own (its links would grow as the square), and stays a border."""


def restricted_accounts(allowed: BoolArray) -> BoolArray:
    """Accounts that some rep may not take (a required qualification)."""
    return np.asarray(~allowed.all(axis=1), dtype=np.bool_)


def bridged_graph(graph: csr_matrix, restricted: BoolArray) -> csr_matrix:
    """``graph`` with the ``restricted`` accounts isolated, and the other accounts around each
    connected group of them linked to one another (groups touching at most
    ``MAX_BRIDGED_NEIGHBOURS`` accounts)."""
    n = graph.shape[0]
    graph = csr_matrix(graph, dtype=np.float64)
    inside = np.flatnonzero(restricted)
    if len(inside) == 0:
        return graph
    _, group = connected_components(graph[inside][:, inside], directed=False)
    # Which open accounts touch which group of restricted accounts, as a 0/1 matrix.
    touch = graph[:, inside].tocoo()
    keep = ~restricted[touch.row]
    incidence = csr_matrix(
        (np.ones(int(keep.sum())), (touch.row[keep], group[touch.col[keep]])),
        shape=(n, int(group.max()) + 1),
    )
    incidence.sum_duplicates()
    incidence.data[:] = 1.0
    small = np.asarray(incidence.sum(axis=0)).ravel() <= MAX_BRIDGED_NEIGHBOURS
    incidence = incidence[:, np.flatnonzero(small)]
    across = (incidence @ incidence.T).tocoo()
    plain = graph.tocoo()
    open_pair = ~restricted[plain.row] & ~restricted[plain.col]
    rows = np.concatenate([plain.row[open_pair], across.row])
    cols = np.concatenate([plain.col[open_pair], across.col])
    off = rows != cols
    merged = coo_matrix((np.ones(int(off.sum())), (rows[off], cols[off])), shape=(n, n)).tocsr()
    merged.data[:] = 1.0
    return merged


def open_enclaves(
    bridged: csr_matrix, assign: IntArray, weight: FloatArray, restricted: BoolArray
) -> int:
    """Accounts outside their territory's main piece on the ``bridged`` graph
    (:func:`bridged_graph`), not counting the ``restricted`` ones: the enclaves a design
    could have avoided."""
    cut_off = [i for f in fragments(bridged, assign, weight) for i in f.members]
    return int(np.count_nonzero(~restricted[np.asarray(cut_off, dtype=np.int64)]))
