"""Last improvement phase of the design: annealed shifts and swaps along territory borders.

The contiguity steps before it (MIP re-splits under the shortest-path-tree condition, greedy
border moves) stop at the first split where no single step pays. That condition is stronger
than connectivity, and greedy moves stall once every load sits at the band's edge (where the
cheapest balanced split puts it). This search works on real connectivity and accepts a few
uphill steps (simulated annealing), so load can flow around a territory to where it is cheap.

Invariants, checked on every step (not only at the end): fixed accounts never move; an account
only goes to a rep it is allowed for; every territory stays within ``lower..upper`` once in it
(a territory outside its band is never moved further out); no territory gets more pieces in
the neighbour graph (the moved account touches its new territory, and the territory it leaves
stays joined without it). The best split seen is returned, so travel never goes up.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

T0_SHARE = 1.0
SWAP_SHARE = 0.5
FAR_SHARE = 0.5
FAR_TRIES = 30
"""Share of steps that try a swap when the shift alone would leave the band."""


def _joined_without(
    nbrs: list[list[int]], a: list[int], i: int, rep: int, ignore: int = -1
) -> bool:
    """Whether territory ``rep`` keeps its pieces when ``i`` leaves it.

    True when all of ``i``'s neighbours in ``rep`` stay joined without ``i`` (a breadth-first
    search inside ``rep`` that stops as soon as it has met them all; usually a few steps).
    ``ignore`` is an account treated as already gone from ``rep``.
    """
    near = [v for v in nbrs[i] if a[v] == rep and v != ignore]
    if len(near) <= 1:
        return True
    want = set(near)
    want.discard(near[0])
    seen = {i, near[0]}
    if ignore >= 0:
        seen.add(ignore)
    queue = [near[0]]
    head = 0
    while head < len(queue):
        v = queue[head]
        head += 1
        for u in nbrs[v]:
            if u not in seen and a[u] == rep:
                seen.add(u)
                want.discard(u)
                if not want:
                    return True
                queue.append(u)
    return not want


def improve_travel(
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    allowed: BoolArray | None = None,
    fixed: frozenset[int] = frozenset(),
    iterations: int = 100_000,
    time_limit_s: float | None = None,
    seed: int = 0,
    min_touch: int = 1,
    current: IntArray | None = None,
    max_moves: int | None = None,
) -> IntArray:
    """Lower ``sum(cost[i, assign[i]])`` by border shifts and swaps, annealed.

    Each step picks a random account with a neighbour in another territory and proposes to
    shift it there; when that would take either load out of its band, it proposes instead to
    swap it with an account of that territory bordering its own, near it. Steps that break an
    invariant (see the module docstring) are rejected; others are accepted when they lower the
    cost, or with probability ``exp(-increase / temperature)``, the temperature falling
    geometrically from a typical step's size to almost nothing. Stops after ``iterations``
    steps (or ``time_limit_s``); returns the cheapest split visited. ``min_touch``: road
    neighbours a moved account must have in its new territory (more = smoother borders).
    With ``max_moves``, no step takes the number of accounts whose rep differs from
    ``current`` (``-1`` = none, never a move) above it, so a capped realignment stays capped.
    """
    n = len(assign)
    m = len(lower)
    if n == 0 or m < 2 or iterations <= 0:
        return assign.copy()
    rnd = random.Random(seed).random
    indptr, indices = graph.indptr, graph.indices
    nbrs = [[int(v) for v in indices[indptr[i] : indptr[i + 1]] if v != i] for i in range(n)]
    a = [int(x) for x in assign]
    c = np.asarray(cost, dtype=np.float64).tolist()
    bal = [float(x) for x in balance]
    lo = [float(x) - 1e-9 for x in lower]
    hi = [float(x) + 1e-9 for x in upper]
    load = [0.0] * m
    for i in range(n):
        load[a[i]] += bal[i]
    ok_to = np.ones((n, m), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    ok_list = ok_to.tolist()
    movable = [i not in fixed for i in range(n)]
    total = sum(c[i][a[i]] for i in range(n))
    best_total, best = total, list(a)
    owner = [-1] * n if current is None else [int(x) for x in current]
    cap = max_moves if current is not None else None
    moves = sum(1 for i in range(n) if owner[i] >= 0 and owner[i] != a[i])

    def moved(i: int, rep: int) -> int:
        return int(owner[i] >= 0 and owner[i] != rep)

    def band_ok(j: int, new: float) -> bool:
        # In band, or at least no further out than before.
        if lo[j] <= new <= hi[j]:
            return True
        old = load[j]
        return (new < lo[j] and old < lo[j] and new >= old) or (
            new > hi[j] and old > hi[j] and new <= old
        )

    # Temperature: from the median size of a cross-border step down to 1 % of it.
    sample = [abs(c[i][a[v]] - c[i][a[i]]) for i in range(n) for v in nbrs[i][:1] if a[v] != a[i]]
    t0 = float(np.median(sample)) * T0_SHARE if sample else 1.0
    t0 = max(t0, 1e-6)
    t_end = t0 * 0.01
    ratio = t_end / t0
    temp = t0
    began = time.monotonic()
    for step in range(iterations):
        if step % 256 == 0:
            # Cool by the larger of the steps and the time used, so a run cut short by the
            # clock still ends cold (greedy) rather than at a high temperature.
            done = step / iterations
            if time_limit_s is not None:
                done = max(done, (time.monotonic() - began) / max(time_limit_s, 1e-9))
            if done >= 1.0:
                break
            temp = t0 * ratio**done
        i = int(rnd() * n)
        if not movable[i]:
            continue
        frm = a[i]
        other = [v for v in nbrs[i] if a[v] != frm]
        if not other:
            continue
        u_pick, u_swap, u_acc = rnd(), rnd(), rnd()
        to = a[other[int(u_pick * len(other))]]
        if not ok_list[i][to]:
            continue
        if min_touch > 1 and sum(1 for v in other if a[v] == to) < min_touch:
            continue
        b = bal[i]
        delta = c[i][to] - c[i][frm]
        if band_ok(frm, load[frm] - b) and band_ok(to, load[to] + b):
            if delta > 0 and u_acc >= math.exp(-delta / temp):
                continue
            dm = moved(i, to) - moved(i, frm)
            if cap is not None and moves + dm > cap:
                continue
            if not _joined_without(nbrs, a, i, frm):
                continue
            a[i] = to
            load[frm] -= b
            load[to] += b
            total += delta
            moves += dm
        else:
            if u_swap > SWAP_SHARE:
                continue
            # Swap partner: an account of ``to`` bordering ``frm``, near i (two links) or
            # anywhere along that border (load handed back elsewhere).
            k = -1
            if u_swap < SWAP_SHARE * FAR_SHARE:
                for _ in range(FAR_TRIES):
                    w = int(rnd() * n)
                    if a[w] == to and any(a[x] == frm for x in nbrs[w]):
                        k = w
                        break
            else:
                cands = []
                for v in nbrs[i]:
                    if a[v] == to:
                        cands.append(v)
                    for w in nbrs[v]:
                        if a[w] == to and w != i:
                            cands.append(w)
                if cands:
                    k = cands[int(rnd() * len(cands))]
            if k < 0:
                continue
            if not movable[k] or not ok_list[k][frm]:
                continue
            bk = bal[k]
            if not (band_ok(frm, load[frm] - b + bk) and band_ok(to, load[to] + b - bk)):
                continue
            delta += c[k][frm] - c[k][to]
            if delta > 0 and u_acc >= math.exp(-delta / temp):
                continue
            dm = moved(i, to) - moved(i, frm) + moved(k, frm) - moved(k, to)
            if cap is not None and moves + dm > cap:
                continue
            # k must touch frm once i has left it, and i must touch to once k has left it.
            if sum(1 for w in nbrs[k] if a[w] == frm and w != i) < min_touch:
                continue
            if sum(1 for w in nbrs[i] if a[w] == to and w != k) < min_touch:
                continue
            if not _joined_without(nbrs, a, i, frm):
                continue
            a[i] = to
            if not _joined_without(nbrs, a, k, to):
                a[i] = frm
                continue
            a[k] = frm
            load[frm] += bk - b
            load[to] += b - bk
            total += delta
            moves += dm
        if total < best_total - 1e-9:
            best_total, best = total, list(a)
    return np.asarray(best, dtype=np.int64)


def permute_territories(
    assign: IntArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    allowed: BoolArray | None = None,
    fixed: frozenset[int] = frozenset(),
) -> IntArray:
    """Hand whole territories to other reps where that lowers the total cost (exact).

    The contiguity steps can leave a rep holding a territory far from home while another rep
    lives in it (a home area given away to balance loads); no border step undoes that. Each
    territory keeps its accounts, so it stays connected; a territory may go to rep ``r`` only
    when its load fits ``r``'s band, ``r`` is allowed for all its accounts and it holds no
    account fixed to its current rep. A minimum-cost perfect matching picks the best exchange.
    """
    m = len(lower)
    rows = np.arange(m)
    price = np.zeros((m, m))
    big = float(np.abs(cost).sum()) * 10.0 + 1.0
    fixed_idx = np.array(sorted(fixed), dtype=np.int64)
    for j in range(m):
        members = np.nonzero(assign == j)[0]
        price[j] = cost[members].sum(axis=0)
        load = float(balance[members].sum())
        for r in range(m):
            if r == j:
                continue
            bad = (
                load < lower[r] - 1e-9
                or load > upper[r] + 1e-9
                or (allowed is not None and not bool(allowed[members, r].all()))
                or bool(np.any(assign[fixed_idx] == j))
            )
            if bad:
                price[j, r] = big
    _, to = linear_sum_assignment(price)
    if float(price[rows, to].sum()) >= float(price[rows, rows].sum()) - 1e-6:
        return assign.copy()
    return np.asarray(to[assign], dtype=np.int64)
