"""Enclaves joined without taking loads out of the balance band.

Handing an enclave (a piece of a territory cut off from its main piece) to the territory
around it joins both, but moves the enclave's whole workload: at organisation scale, where
region jobs that ran out of time leave pieces of a tenth of a territory or more, that leaves
the receiving territories far over their share and the givers under it. Here every hand-over
is followed by border moves that pass the surplus on along a path of neighbouring territories
to one with room (and draw load from one with a surplus into a territory left short), so the
loads end in the band and every territory in one piece:

1. *Hand over*: each fragment (a piece other than its territory's heaviest) goes to the
   neighbouring territory whose reps it costs least; pieces holding a fixed account stay, and
   so do the pieces of a territory walled in by fixed accounts, which could not draw the load
   back.
2. *Pass on*: while a territory is out of the band, the nearest territory (in hops over the
   territories' adjacency) that can take its surplus or give its shortfall is found, and the
   amount moves hop by hop across each shared border, one border account at a time, each
   move keeping the giving territory in one piece (the receiving one touches the account).

Moves never split a territory, so no enclave is added; a border that runs out of accounts
that fit is closed and another path is tried. Everything stops at the deadline with a
complete split.
"""

from __future__ import annotations

from collections import deque
from itertools import pairwise

import numpy as np
from scipy.sparse import csr_matrix

from routeplanner.territories.contiguity import (
    BoolArray,
    FloatArray,
    Fragment,
    IntArray,
    fragments,
    stays_connected,
)
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.region_balance import Edges, with_cut_off

HAND_OVER_ROUNDS = 8
"""Rounds of hand-overs: a hand-over can leave a new piece behind only when it joins two
pieces of the receiver, so a few rounds settle every fragment that can move."""
PASS_ON_STEPS_PER_TERRITORY = 20
"""Paths along which load is passed on, per territory: each brings one territory into its
band or closes a border, so this bounds only a split whose borders give out everywhere."""


def join_enclaves_in_band(
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    allowed: BoolArray | None = None,
    fixed: frozenset[int] = frozenset(),
    deadline: Deadline,
) -> IntArray:
    """A split with the fragments of ``assign`` handed over and every load passed on into
    ``lower`` .. ``upper`` (per territory, in ``balance`` units) where borders allow.

    ``cost`` (accounts × reps) picks the receiving territory of each fragment and the cheapest
    border accounts to pass on; ``allowed`` (accounts × reps) and ``fixed`` accounts are
    respected throughout. Stops at ``deadline`` after its current move.
    """
    a = assign.copy()
    pinned = np.zeros(len(a), dtype=bool)
    pinned[list(fixed)] = True
    for _ in range(HAND_OVER_ROUNDS):
        if deadline.expired() or not _hand_over(graph, a, balance, cost, allowed, pinned):
            break
    _pass_on(graph, a, balance, (lower, upper), cost, allowed, pinned, deadline)
    return a


def _hand_over(
    graph: csr_matrix,
    a: IntArray,
    balance: FloatArray,
    cost: FloatArray,
    allowed: BoolArray | None,
    pinned: BoolArray,
) -> bool:
    """Every fragment (in place) to the neighbouring territory it costs least, except pieces
    holding a ``pinned`` account; True if any moved."""
    moved = False
    pieces = fragments(graph, a, balance)
    for frag in sorted(pieces, key=lambda f: len(f.members)):
        members = np.asarray(frag.members, dtype=np.int64)
        if pinned[members].any() or not _can_draw_back(graph, a, frag.rep, pieces, pinned):
            continue
        around = np.unique(a[graph[members].indices])
        around = around[around != frag.rep]
        if allowed is not None:
            around = np.array([t for t in around if allowed[members, t].all()], dtype=np.int64)
        if len(around) == 0:
            continue
        a[members] = around[int(np.argmin(cost[members][:, around].sum(axis=0)))]
        moved = True
    return moved


def _can_draw_back(
    graph: csr_matrix, a: IntArray, rep: int, pieces: list[Fragment], pinned: BoolArray
) -> bool:
    """Whether territory ``rep``'s main piece borders an account of another territory that may
    move: one walled in by pinned accounts (a locked territory) could not win back the load a
    fragment handed over takes, so it keeps the fragment."""
    own = a == rep
    for frag in pieces:
        if frag.rep == rep:
            own[list(frag.members)] = False
    around = graph[np.flatnonzero(own)].indices
    return bool(np.any((a[around] != rep) & ~pinned[around]))


def _pass_on(
    graph: csr_matrix,
    a: IntArray,
    balance: FloatArray,
    band: tuple[FloatArray, FloatArray],
    cost: FloatArray,
    allowed: BoolArray | None,
    pinned: BoolArray,
    deadline: Deadline,
) -> None:
    """Loads (in place) into their band along paths of neighbouring territories, the territory
    furthest out first, never moving a ``pinned`` account; one that no open path helps is left
    as it is."""
    lower, upper = band
    # Givers and takers along a path stay inside the inner half of their band, so a path
    # never pushes one of them out and later paths still find room.
    inner_low, inner_high = (3.0 * lower + upper) / 4.0, (lower + 3.0 * upper) / 4.0
    m = len(lower)
    load = np.bincount(a, weights=balance, minlength=m).astype(np.float64)
    closed: set[tuple[int, int]] = set()
    stuck: set[int] = set()
    edges = Edges.of(graph)
    for _ in range(PASS_ON_STEPS_PER_TERRITORY * m):
        if deadline.expired():
            return
        outside = np.maximum(load - upper, lower - load)
        outside[list(stuck)] = 0.0
        j = int(np.argmax(outside))
        if outside[j] <= 0:
            return
        over = bool(load[j] > upper[j])
        room = inner_high - load if over else load - inner_low
        adjacent = _borders(edges, a, m, closed, forward=over)
        path = _nearest_with_room(adjacent, j, room)
        if path is None:
            stuck.add(j)
            continue
        amount = min(-float(room[j]), float(room[path[-1]]))
        hops = list(pairwise(path))
        if not over:
            hops = [(g, t) for t, g in reversed(hops)]
        for giver, taker in hops:
            moved = _transfer(
                graph, a, balance, cost, (giver, taker), amount, allowed, pinned, deadline
            )
            load[giver] -= moved
            load[taker] += moved
            if moved <= 0.0:
                closed.add((giver, taker))
                break
            amount = moved


def _borders(
    edges: Edges, a: IntArray, m: int, closed: set[tuple[int, int]], *, forward: bool
) -> list[list[int]]:
    """Per territory, the territories it can give to (``forward``) or take from across a shared
    border, less ``closed`` borders (giver, taker: no account of that giver fits that taker)."""
    adjacent: list[list[int]] = [[] for _ in range(m)]
    for g, t in edges.pairs_across(a).tolist():
        if (g, t) not in closed:
            adjacent[g if forward else t].append(t if forward else g)
    return adjacent


def _nearest_with_room(adjacent: list[list[int]], start: int, room: FloatArray) -> list[int] | None:
    """The path (breadth first, fewest hops) from ``start`` to the nearest territory whose
    ``room`` covers ``start``'s lack of it (``-room[start]``), or to the one with the most room
    if none does. ``adjacent`` runs the way load is searched for: to takers when ``start`` is
    over its band, to givers when it is under."""
    need = -float(room[start])
    parent = {start: start}
    queue = deque([start])
    best: tuple[float, int] | None = None
    while queue:
        u = queue.popleft()
        if u != start and room[u] > 0:
            if room[u] >= need:
                best = (float(room[u]), u)
                break
            if best is None or room[u] > best[0]:
                best = (float(room[u]), u)
        for v in adjacent[u]:
            if v not in parent:
                parent[v] = u
                queue.append(v)
    if best is None:
        return None
    path = [best[1]]
    while path[-1] != start:
        path.append(parent[path[-1]])
    return path[::-1]


def _transfer(
    graph: csr_matrix,
    a: IntArray,
    balance: FloatArray,
    cost: FloatArray,
    pair: tuple[int, int],
    amount: float,
    allowed: BoolArray | None,
    pinned: BoolArray,
    deadline: Deadline,
) -> float:
    """Hand about ``amount`` of load from ``pair[0]`` to ``pair[1]`` (in place) by border
    accounts, cheapest first, each with the pieces of the giver only it joined to the giver's
    heaviest piece (they reach the taker through it); return the load moved. Stops at
    ``deadline`` after its current move."""
    giver, taker = pair
    remaining = amount
    while remaining > 0 and not deadline.expired():
        members = np.flatnonzero(a == giver)
        touching = np.asarray(graph[members] @ (a == taker).astype(np.float64)).ravel() > 0
        border = members[touching & ~pinned[members] & (balance[members] < 2.0 * remaining)]
        if allowed is not None:
            border = border[allowed[border, taker]]
        order = np.argsort(cost[border, taker] - cost[border, giver], kind="stable")
        before = remaining
        for i in border[order].tolist():
            if a[i] != giver:
                continue  # went with a piece an earlier account cut off
            moved = _with_cut_off(graph, a, balance, i)
            weight = float(balance[moved].sum())
            if weight >= 2.0 * remaining or pinned[moved].any():
                continue
            if allowed is not None and not allowed[moved, taker].all():
                continue
            a[moved] = taker
            remaining -= weight
            if remaining <= 0 or deadline.expired():
                break
        if remaining == before:
            break
    return amount - remaining


def _with_cut_off(graph: csr_matrix, a: IntArray, balance: FloatArray, i: int) -> IntArray:
    """Account ``i`` and the pieces of its territory that only ``i`` joins to the territory's
    heaviest piece."""
    if stays_connected(graph, a, i):
        return np.array([i], dtype=np.int64)
    return with_cut_off(a, graph, balance, i)
