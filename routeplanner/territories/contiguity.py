"""Contiguity of territories measured on the road network, not on a map.

Definition (used for design, KPIs and the benchmark alike): two accounts are road neighbours
when one is among the other's k nearest accounts by road travel time (k = 8), or when their
*road cells* touch. An account's road cell is the part of the road network nearer to it by road
time than to any other account (a network Voronoi, one multi-source Dijkstra:
``RoadTravel.cell_adjacency``); two cells touch where a road runs from one into the other, so
accounts along one street are neighbours in order along it. Each cluster that has no link to
the rest is bridged to its nearest account elsewhere. A territory is contiguous when its
accounts form one connected piece of that graph. Its *main piece* is the piece holding the most
workload; every account of the territory outside the main piece is an enclave account, and the
number of such accounts over all territories is the *contiguity violation* count. Without a
road graph (straight-line travel, unit tests) the k nearest alone define the neighbours.

Why road neighbours and not polygons: two villages on either side of a river without a bridge
are far apart for a driver though close on a map; road time sees that, a map Voronoi does not.

Why road cells on top of the k nearest: "the 8 nearest" depends on every other account, so
adding accounts rewires it and cuts territories apart although nothing changed on the map;
road cells change only locally, and they add the links along roads that the k nearest miss.
The union keeps every k-nearest link, so any split contiguous before stays contiguous
(measurements: ``benchmarks/results/territories_roadcells.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from routeplanner.territories.assign import count_moves
from routeplanner.territories.deadline import Deadline

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_MIN_WEIGHT = 1e-3
"""Least edge weight in seconds: csgraph drops explicit zeros, so two accounts at one address
are 1 ms apart."""
HOME_LINKS = 8
"""Accounts nearest a home that the home joins the neighbour graph through: as many as an
account's own road neighbours."""
REPAIR_STEPS_PER_ACCOUNT = 4
"""Border moves per account the rebalancing may make: each lowers the imbalance, so this is
a bound that only a pathological split reaches."""
IMPROVE_PASSES = 30
"""Passes of travel-lowering border moves: later passes find almost nothing."""
BRIDGE_STEP_SHARE = 1e-3
"""Share of the mean cost each account on a corridor costs at least, so the shortest corridor
is also the one with the fewest accounts among equally cheap ones."""


def neighbour_graph(neighbours: IntArray, times: FloatArray | None = None) -> csr_matrix:
    """Symmetric road-neighbour graph from ``(n, k)`` neighbour rows (own index = padding).

    With ``times`` (the ``(n, n)`` road-time matrix) edges carry road times and the graph is
    made connected: every cluster of accounts with no neighbour link to the rest (a village
    beyond a valley) is bridged to its nearest account elsewhere. That is the "where the road
    network allows" part: such a cluster is a legitimate separate patch, not an enclave.
    """
    n, k = neighbours.shape
    rows = np.repeat(np.arange(n), k)
    cols = neighbours.ravel()
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    data = np.ones(len(rows)) if times is None else np.maximum(times[rows, cols], _MIN_WEIGHT)
    graph = coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    sym = csr_matrix(graph.maximum(graph.T))
    if times is None or n < 2:
        return sym
    while True:
        count, labels = connected_components(sym, directed=False)
        if count <= 1:
            return sym
        sizes = np.bincount(labels)
        giant = int(np.argmax(sizes))
        extra_r: list[int] = []
        extra_c: list[int] = []
        for comp in range(count):
            if comp == giant:
                continue
            inside = np.nonzero(labels == comp)[0]
            outside = np.nonzero(labels != comp)[0]
            sub = times[np.ix_(inside, outside)]
            a, b = np.unravel_index(int(np.argmin(sub)), sub.shape)
            extra_r += [int(inside[a]), int(outside[b])]
            extra_c += [int(outside[b]), int(inside[a])]
        w = np.maximum(times[extra_r, extra_c], _MIN_WEIGHT)
        bridges = coo_matrix((w, (extra_r, extra_c)), shape=(n, n)).tocsr()
        sym = csr_matrix(sym.maximum(bridges))


def graph_distances(
    graph: csr_matrix, home_s: FloatArray, *, home_links: int = HOME_LINKS
) -> FloatArray:
    """``(m, n)`` road time from each home to each account *through* the neighbour graph.

    Each home joins the graph through its ``home_links`` nearest accounts. Territories that
    assign by this distance (plus a per-rep price, which is what a balanced LP does) contain,
    with every account, the whole graph path back to the home: they are connected by
    construction, which plain road time from home does not give (a fast road can reach past
    another rep's accounts).
    """
    m, n = home_s.shape
    coo = graph.tocoo()
    k = min(home_links, n)
    near = np.argsort(home_s, axis=1, kind="stable")[:, :k]
    h_rows = np.repeat(np.arange(m), k) + n
    h_cols = near.ravel()
    h_w = np.maximum(home_s[np.repeat(np.arange(m), k), h_cols], _MIN_WEIGHT)
    rows = np.concatenate([coo.row, h_rows, h_cols])
    cols = np.concatenate([coo.col, h_cols, h_rows])
    data = np.concatenate([coo.data, h_w, h_w])
    aug = coo_matrix((data, (rows, cols)), shape=(n + m, n + m)).tocsr()
    dist = dijkstra(aug, directed=False, indices=np.arange(n, n + m))
    result: FloatArray = np.asarray(dist[:, :n], dtype=np.float64)
    return result


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


def anchored_fragments(graph: csr_matrix, assign: IntArray, cost: FloatArray) -> list[Fragment]:
    """Pieces of each territory other than the one holding its cheapest member (by ``cost``).

    For repair, unlike counting: with cost = time from home the kept piece is the one around
    the home. Keeping the heaviest instead can hand a rep's home area away and leave them a
    far piece (a remote rep's LP share is often heavy accounts scattered over other areas).
    """
    coo = graph.tocoo()
    same = assign[coo.row] == assign[coo.col]
    sub = coo_matrix(
        (np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=graph.shape
    ).tocsr()
    _, labels = connected_components(sub, directed=False)
    result: list[Fragment] = []
    for j in np.unique(assign):
        members = np.nonzero(assign == j)[0]
        own = labels[members]
        if len(np.unique(own)) < 2:
            continue
        anchor = own[int(np.argmin(cost[members, j]))]
        for lab in np.unique(own):
            if lab != anchor:
                result.append(Fragment(int(j), tuple(int(i) for i in members[own == lab])))
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


def repair_contiguity(
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    fixed: frozenset[int] = frozenset(),
    current: IntArray | None = None,
    max_moves: int | None = None,
    max_steps: int | None = None,
    max_fragment: int | None = None,
    allowed: BoolArray | None = None,
) -> IntArray:
    """Local search: give fragments to their neighbour territory, then rebalance along borders.

    Step 1 hands every fragment without a fixed account to the territory owning most of its
    graph neighbours (it then joins that territory's piece). Step 2 restores the balance band
    by moving single border accounts from a territory above its band to a neighbouring one
    (or into one below its band), only when the move keeps the giving territory in one piece
    and the receiving one within its band, cheapest ``cost`` increase first. Moves beyond
    ``max_moves`` (counted against ``current``) are never made. Fragments larger than
    ``max_fragment`` are left alone: moving a big piece shifts so much load that the rebalancing
    drags accounts far from home.
    """
    a = assign.copy()
    n = len(a)
    steps = max_steps if max_steps is not None else REPAIR_STEPS_PER_ACCOUNT * n

    def can_move(i: int, to: int) -> bool:
        if i in fixed or (allowed is not None and not allowed[i, to]):
            return False
        if current is None or max_moves is None:
            return True
        before = int(current[i] >= 0 and current[i] != a[i])
        after = int(current[i] >= 0 and current[i] != to)
        return count_moves(a, current) - before + after <= max_moves

    indptr, indices = graph.indptr, graph.indices
    # One fragment at a time, smallest first, re-measured after every move: a move can join
    # up another fragment too (two interleaved accounts need one move, not a swap).
    tried: set[tuple[int, ...]] = set()
    for _ in range(n):
        frags = sorted(fragments(graph, a, balance), key=lambda f: (len(f.members), f.members))
        chosen: tuple[list[int], int] | None = None
        for frag in frags:
            members = list(frag.members)
            if frag.members in tried:
                continue
            if max_fragment is not None and len(members) > max_fragment:
                continue
            tried.add(frag.members)
            counts: dict[int, int] = {}
            inside = set(members)
            for k in members:
                for nb in indices[indptr[k] : indptr[k + 1]]:
                    if int(nb) not in inside and a[nb] != frag.rep:
                        counts[int(a[nb])] = counts.get(int(a[nb]), 0) + 1
            if not counts:
                continue
            to = max(sorted(counts), key=lambda r: counts[r])
            if all(can_move(k, to) for k in members):
                chosen = (members, to)
                break
        if chosen is None:
            break
        for k in chosen[0]:
            a[k] = chosen[1]

    _rebalance(graph, a, balance, lower, upper, cost, can_move, steps)
    return a


def _rebalance(
    graph: csr_matrix,
    a: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    can_move: Callable[[int, int], bool],
    steps: int,
    on_move: Callable[[int, int, int], None] | None = None,
    deadline: Deadline | None = None,
) -> None:
    """Border moves (in place) that keep every giving territory in as many pieces, until all
    territories are in their band, no move lowers the imbalance or ``deadline`` passes."""
    m = len(lower)
    target = (lower + upper) / 2.0
    coo = graph.tocoo()
    e_rows, e_cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    load = np.bincount(a, weights=balance, minlength=m)
    for _ in range(steps):
        if deadline is not None and deadline.expired():
            break
        excess = load - target
        outside = np.maximum(load - upper, lower - load)
        if np.all(outside <= 0):
            break
        moved = False
        for j in np.argsort(-outside):
            if outside[j] <= 0:
                break
            move = _best_border_move(
                graph, a, e_rows, e_cols, int(j), excess, target, balance, cost, can_move
            )
            if move is None:
                continue
            i, to = move
            if on_move is not None:
                on_move(i, int(a[i]), to)
            load[a[i]] -= balance[i]
            load[to] += balance[i]
            a[i] = to
            moved = True
            break
        if not moved:
            break


def _best_border_move(
    graph: csr_matrix,
    a: IntArray,
    rows: IntArray,
    cols: IntArray,
    j: int,
    excess: FloatArray,
    target: FloatArray,
    balance: FloatArray,
    cost: FloatArray,
    can_move: Callable[[int, int], bool],
) -> tuple[int, int] | None:
    """Cheapest single border move into or out of ``j`` that lowers the imbalance.

    The imbalance is sum((load - target)^2 / target); every accepted move lowers it, so the
    search ends, and load flows from fuller to emptier territories through chains of
    neighbours, not only between ``j`` and its direct neighbours' spare room.
    """
    if excess[j] > 0:
        mask = (a[rows] == j) & (a[cols] != j)
        acc, frm, to = rows[mask], np.full(int(mask.sum()), j), a[cols[mask]]
    else:
        mask = (a[cols] == j) & (a[rows] != j)
        acc, frm, to = rows[mask], a[rows[mask]], np.full(int(mask.sum()), j)
    if len(acc) == 0:
        return None
    b = balance[acc]
    gain = (-2 * b * excess[frm] + b * b) / target[frm] + (2 * b * excess[to] + b * b) / target[to]
    ok = gain < -1e-12
    if not np.any(ok):
        return None
    acc, frm, to = acc[ok], frm[ok], to[ok]
    delta = cost[acc, to] - cost[acc, frm]
    seen: set[tuple[int, int]] = set()
    for k in np.argsort(delta, kind="stable"):
        i, t = int(acc[k]), int(to[k])
        if (i, t) in seen:
            continue
        seen.add((i, t))
        if can_move(i, t) and stays_connected(graph, a, i):
            return i, t
    return None


def stays_connected(graph: csr_matrix, assign: IntArray, i: int) -> bool:
    """Whether territory ``assign[i]`` keeps its number of pieces when ``i`` leaves it.

    Usually settled locally: if ``i``'s same-territory neighbours stay joined to each other
    through accounts at most two links from ``i``, removing ``i`` cannot split anything. Only
    otherwise are the territory's pieces counted (the repair calls this thousands of times).
    """
    rep = assign[i]
    indptr, indices = graph.indptr, graph.indices
    near = [int(v) for v in indices[indptr[i] : indptr[i + 1]] if assign[v] == rep and v != i]
    if len(near) == 1:
        return True  # a leaf: the rest stays as it was
    if near:
        zone = set(near)
        for v in near:
            zone.update(int(u) for u in indices[indptr[v] : indptr[v + 1]] if assign[u] == rep)
        zone.discard(i)
        seen = {near[0]}
        stack = [near[0]]
        while stack:
            v = stack.pop()
            for u in indices[indptr[v] : indptr[v + 1]]:
                u = int(u)
                if u in zone and u not in seen:
                    seen.add(u)
                    stack.append(u)
        if all(v in seen for v in near):
            return True
    members = np.nonzero(assign == rep)[0]
    if len(members) <= 2:
        return len(members) > 1
    sub = graph[members][:, members]
    before, _ = connected_components(sub, directed=False)
    keep = members != i
    after, _ = connected_components(sub[keep][:, keep], directed=False)
    return bool(after <= before)


class _Budget:
    """Moves used against ``current`` (accounts with a current rep that end elsewhere)."""

    def __init__(self, current: IntArray | None, max_moves: int | None, a: IntArray) -> None:
        self.current = current
        self.limit = max_moves
        self.used = count_moves(a, current)

    def delta(self, i: int, frm: int, to: int) -> int:
        if self.current is None or self.current[i] < 0:
            return 0
        c = int(self.current[i])
        return int(c != to) - int(c != frm)

    def fits(self, extra: int) -> bool:
        return self.limit is None or self.used + extra <= self.limit


def make_contiguous(
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    allowed: BoolArray | None = None,
    fixed: frozenset[int] = frozenset(),
    current: IntArray | None = None,
    max_moves: int | None = None,
    improve_passes: int = IMPROVE_PASSES,
    keep_band: bool = False,
    swaps: bool = False,
    deadline: Deadline | None = None,
) -> IntArray:
    """Remove every enclave by local moves, restore the band, then shorten along borders.

    Cheap where the contiguity MIP is not (it finds no incumbent for large designs), and
    starting from the cheapest balanced split (an LP optimum) it stays close to it:

    1. *Absorb*: the lightest fragment (a piece of a territory other than the one holding its
       cheapest member, i.e. the home piece) is either joined to its main piece through the
       cheapest corridor of other accounts (when that moves less load and cuts no donor), or
       goes whole to the adjacent territory where its accounts cost least; only reps allowed
       for all of them (qualifications), within ``max_moves``. Each step lowers the total
       number of pieces, so this ends, with none left unless a fragment holds a ``fixed``
       account or has no admissible neighbour.
    2. *Rebalance*: single border moves that never split the giving territory (the receiving
       one touches the account, so it stays one piece) until every territory is in its band.
    3. *Improve*: border moves that lower ``cost`` with both territories kept in their band and
       the giving one in one piece, best first, until none is left (or ``improve_passes``);
       with ``swaps`` also exchanges of two border accounts between touching territories.

    With ``keep_band`` step 1 only makes hand-overs that keep every territory in its band (for
    a move cap that leaves too few accounts to rebalance with). Contiguity is never made worse
    by steps 2 and 3, and the move cap is checked on every move, so the result never exceeds it.
    The band is restored when border moves can do it; callers check it (and keep their previous
    split otherwise). Once ``deadline`` has passed every step stops after its current move, so
    the split returned is complete but may keep enclaves or miss the band.
    """
    a = assign.copy()
    n = len(a)
    budget = _Budget(current, max_moves, a)

    def ok(i: int, to: int) -> bool:
        if i in fixed or (allowed is not None and not allowed[i, to]):
            return False
        return budget.fits(budget.delta(i, int(a[i]), to))

    # 1. Absorb fragments (or bridge them to their main piece).
    band = (lower, upper) if keep_band else None
    _absorb(graph, a, balance, cost, allowed, fixed, budget, band, deadline)

    # 2. Back into the band along borders.
    def can_move(i: int, to: int) -> bool:
        return ok(i, to)

    def on_move(i: int, frm: int, to: int) -> None:
        budget.used += budget.delta(i, frm, to)

    steps = REPAIR_STEPS_PER_ACCOUNT * n
    _rebalance(graph, a, balance, lower, upper, cost, can_move, steps, on_move, deadline)

    # 3. Shorter along borders, band and pieces kept.
    _shorten(
        graph, a, balance, lower, upper, cost, ok, budget, improve_passes,
        swaps=swaps, deadline=deadline,
    )  # fmt: skip
    return a


def _shorten(
    graph: csr_matrix,
    a: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    ok: Callable[[int, int], bool],
    budget: _Budget,
    passes: int,
    *,
    swaps: bool,
    deadline: Deadline | None = None,
) -> None:
    """Border moves (in place) that lower ``cost``, keep both loads in the band and the giving
    territory in one piece, best first; with ``swaps`` also exchanges once no move is left."""
    m = len(lower)
    indptr, indices = graph.indptr, graph.indices
    load: FloatArray = np.bincount(a, weights=balance, minlength=m).astype(np.float64)
    coo = graph.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    for _ in range(passes):
        if deadline is not None and deadline.expired():
            return
        border = a[rows] != a[cols]
        cand_i, cand_t = rows[border], a[cols[border]]
        delta = cost[cand_i, cand_t] - cost[cand_i, a[cand_i]]
        good = delta < -1e-9
        cand_i, cand_t, delta = cand_i[good], cand_t[good], delta[good]
        moved = False
        seen: set[tuple[int, int]] = set()
        for k in np.argsort(delta, kind="stable"):
            if deadline is not None and deadline.expired():
                return
            i, t = int(cand_i[k]), int(cand_t[k])
            if (i, t) in seen:
                continue
            seen.add((i, t))
            frm = int(a[i])
            if frm == t or cost[i, t] >= cost[i, frm]:
                continue
            nbs = indices[indptr[i] : indptr[i + 1]]
            if not np.any(a[nbs] == t):
                continue
            b = balance[i]
            if load[frm] - b < lower[frm] or load[t] + b > upper[t]:
                continue
            if not ok(i, t) or not stays_connected(graph, a, i):
                continue
            budget.used += budget.delta(i, frm, t)
            a[i] = t
            load[frm] -= b
            load[t] += b
            moved = True
        if moved:
            continue
        if not swaps or not _swap_pass(
            graph, a, load, balance, lower, upper, cost, ok, budget, deadline
        ):
            break


SWAP_TRIES = 40
"""Best swap candidates checked for connectivity per pair of touching territories and pass:
the check counts pieces, which is what costs."""


def _pieces_of(graph: csr_matrix, a: IntArray, j: int) -> int:
    members = np.nonzero(a == j)[0]
    if len(members) == 0:
        return 0
    count, _ = connected_components(graph[members][:, members], directed=False)
    return int(count)


def _swap_pass(
    graph: csr_matrix,
    a: IntArray,
    load: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    ok: Callable[[int, int], bool],
    budget: _Budget,
    deadline: Deadline | None = None,
) -> bool:
    """At most one improving swap of border accounts per pair of touching territories.

    Single moves stall once the loads sit at the band's edges (where the cheapest balanced
    split puts them); exchanging an account each way keeps both loads nearly unchanged. A swap
    is kept only if both territories keep their number of pieces. True if any was made.
    """
    coo = graph.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    border = a[rows] != a[cols]
    r, c = rows[border], cols[border]
    pairs = sorted({(int(x), int(y)) for x, y in zip(a[r], a[c], strict=True) if x < y})
    swapped = False
    for ta, tb in pairs:
        if deadline is not None and deadline.expired():
            break
        side_a = np.unique(r[(a[r] == ta) & (a[c] == tb)])
        side_b = np.unique(r[(a[r] == tb) & (a[c] == ta)])
        if len(side_a) == 0 or len(side_b) == 0:
            continue
        gain = (cost[side_a, tb] - cost[side_a, ta])[:, None] + (
            cost[side_b, ta] - cost[side_b, tb]
        )[None, :]
        shift = balance[side_b][None, :] - balance[side_a][:, None]  # load change of ta
        new_a, new_b = load[ta] + shift, load[tb] - shift
        fine = (
            (gain < -1e-9)
            & (new_a >= lower[ta])
            & (new_a <= upper[ta])
            & (new_b >= lower[tb])
            & (new_b <= upper[tb])
        )
        idx = np.argwhere(fine)
        if len(idx) == 0:
            continue
        order = np.argsort(gain[fine], kind="stable")[:SWAP_TRIES]
        before = (_pieces_of(graph, a, ta), _pieces_of(graph, a, tb))
        for q in order:
            i, k = int(side_a[idx[q, 0]]), int(side_b[idx[q, 1]])
            if a[i] != ta or a[k] != tb or not ok(i, tb) or not ok(k, ta):
                continue
            extra = budget.delta(i, ta, tb) + budget.delta(k, tb, ta)
            if not budget.fits(extra):
                continue
            a[i], a[k] = tb, ta
            if _pieces_of(graph, a, ta) <= before[0] and _pieces_of(graph, a, tb) <= before[1]:
                budget.used += extra
                load[ta] += balance[k] - balance[i]
                load[tb] += balance[i] - balance[k]
                swapped = True
                break
            a[i], a[k] = ta, tb
    return swapped


def _absorb(
    graph: csr_matrix,
    a: IntArray,
    balance: FloatArray,
    cost: FloatArray,
    allowed: BoolArray | None,
    fixed: frozenset[int],
    budget: _Budget,
    band: tuple[FloatArray, FloatArray] | None = None,
    deadline: Deadline | None = None,
) -> None:
    """Hand fragments (in place), lightest first, to the adjacent territory costing least.

    With ``band`` only hand-overs and corridors that keep every territory inside it are made
    (for a move cap too tight to rebalance afterwards); other fragments stay.
    """
    n = len(a)
    indptr, indices = graph.indptr, graph.indices

    def in_band(trial_idx: IntArray, to_of: IntArray) -> bool:
        if band is None:
            return True
        load = np.bincount(a, weights=balance, minlength=len(band[0]))
        np.add.at(load, a[trial_idx], -balance[trial_idx])
        np.add.at(load, to_of, balance[trial_idx])
        return bool(np.all((load >= band[0] - 1e-12) & (load <= band[1] + 1e-12)))

    stuck: set[tuple[int, ...]] = set()
    for _ in range(n):
        if deadline is not None and deadline.expired():
            break
        frags = [f for f in anchored_fragments(graph, a, cost) if f.members not in stuck]
        if not frags:
            break
        frag = min(frags, key=lambda f: (float(balance[list(f.members)].sum()), f.members))
        members = np.array(frag.members, dtype=np.int64)
        inside = set(frag.members)
        around = {
            int(a[nb])
            for k in frag.members
            for nb in indices[indptr[k] : indptr[k + 1]]
            if int(nb) not in inside and a[nb] != frag.rep
        }
        best: tuple[float, int] | None = None
        if not any(int(k) in fixed for k in members):
            for t in sorted(around):
                if allowed is not None and not allowed[members, t].all():
                    continue
                extra = sum(budget.delta(int(k), frag.rep, t) for k in members)
                if not budget.fits(extra):
                    continue
                if not in_band(members, np.full(len(members), t)):
                    continue
                c = float(cost[members, t].sum())
                if best is None or c < best[0]:
                    best = (c, t)
        bridge = _bridge(graph, a, frag, cost, balance, allowed, fixed, budget)
        if bridge is not None and not in_band(bridge[0], np.full(len(bridge[0]), frag.rep)):
            bridge = None
        if bridge is not None and (best is None or bridge[1] <= float(balance[members].sum())):
            path = bridge[0]
            budget.used += sum(budget.delta(int(k), int(a[k]), frag.rep) for k in path)
            a[path] = frag.rep
            continue
        if best is None:
            stuck.add(frag.members)
            continue
        to = best[1]
        budget.used += sum(budget.delta(int(k), frag.rep, to) for k in members)
        a[members] = to


def _pieces(graph: csr_matrix, assign: IntArray) -> int:
    """Number of connected pieces over all territories."""
    coo = graph.tocoo()
    same = assign[coo.row] == assign[coo.col]
    sub = coo_matrix(
        (np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=graph.shape
    ).tocsr()
    count, _ = connected_components(sub, directed=False)
    return int(count)


def _bridge(
    graph: csr_matrix,
    a: IntArray,
    frag: Fragment,
    cost: FloatArray,
    balance: FloatArray,
    allowed: BoolArray | None,
    fixed: frozenset[int],
    budget: _Budget,
) -> tuple[IntArray, float] | None:
    """The cheapest corridor of other territories' accounts joining ``frag`` to its main piece.

    The alternative to handing a fragment away: give its rep the few accounts in between.
    Usually far less load changes hands (a fragment cut off by a thin strip), so the band is
    restored with fewer border moves. Only taken when it lowers the total number of pieces
    (no donor is cut in two), which keeps the absorb loop finite. Returns the corridor and
    its load.
    """
    rep = frag.rep
    n = len(a)
    members = np.array(frag.members, dtype=np.int64)
    own = np.nonzero(a == rep)[0]
    main = np.setdiff1d(own, members)
    if len(main) == 0:
        return None
    # Node-weighted shortest path: entering account v costs what giving v to rep costs more.
    step = np.maximum(cost[:, rep] - cost[np.arange(n), a], 0.0) + BRIDGE_STEP_SHARE * (
        float(np.mean(np.abs(cost))) or 1.0
    )
    blocked = np.zeros(n, dtype=np.bool_)
    blocked[list(fixed)] = True
    if allowed is not None:
        blocked |= ~allowed[:, rep]
    blocked[own] = False
    coo = graph.tocoo()
    keep = ~blocked[coo.row] & ~blocked[coo.col]
    w = np.where(a[coo.col[keep]] == rep, 1e-6, step[coo.col[keep]])
    directed = coo_matrix((w, (coo.row[keep], coo.col[keep])), shape=graph.shape).tocsr()
    dist, pred, _ = dijkstra(
        directed, directed=True, indices=members, min_only=True, return_predecessors=True
    )
    reach = main[np.isfinite(dist[main])]
    if len(reach) == 0:
        return None
    node = int(reach[int(np.argmin(dist[reach]))])
    path: list[int] = []
    while node >= 0:
        if a[node] != rep:
            path.append(node)
        node = int(pred[node])
    if not path:
        return None
    corridor = np.array(path, dtype=np.int64)
    extra = sum(budget.delta(int(k), int(a[k]), rep) for k in corridor)
    if not budget.fits(extra):
        return None
    before = _pieces(graph, a)
    trial = a.copy()
    trial[corridor] = rep
    if _pieces(graph, trial) >= before:
        return None
    return corridor, float(balance[corridor].sum())
