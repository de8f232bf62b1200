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
import time

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

T0_SHARE = 1.0
"""Starting temperature as a share of a typical border step's cost change: hot enough that
load can flow around a territory early on."""
T_END_RATIO = 0.01
"""Last temperature as a share of the first: cold enough that the end is a plain descent."""
COOL_EVERY = 256
"""Steps between two temperature updates: the power is the costly part of a step otherwise."""
SWAP_SHARE = 0.5
"""Share of steps that try a swap when the shift alone would leave the band: swaps keep loads
nearly unchanged, the only way on once every load sits at the band's edge."""
FAR_SHARE = 0.5
"""Share of swaps whose partner is sought anywhere along the border rather than near the
account, so load can be handed back far from where it was taken."""
FAR_TRIES = 30
"""Random accounts tried for a far swap partner before the step gives up."""


@njit(cache=True, nogil=True)
def _uniform(rng: npt.NDArray[np.uint64]) -> float:
    """Next number in [0, 1) of a xorshift64* stream whose state is ``rng[0]``.

    A generator of our own (a few lines) rather than numba's global one: the state lives with
    the caller, so a run cut into chunks draws the same numbers as one uncut run, and two runs
    in one process never share a stream.
    """
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return float((x * np.uint64(2685821657736338717)) >> np.uint64(11)) / 9007199254740992.0


@njit(cache=True, nogil=True)
def _joined_without(
    indptr: IntArray,
    indices: IntArray,
    a: IntArray,
    i: int,
    rep: int,
    seen: IntArray,
    want: IntArray,
    queue: IntArray,
    stamp: IntArray,
) -> bool:
    """Whether territory ``rep`` keeps its pieces when ``i`` leaves it.

    True when all of ``i``'s neighbours in ``rep`` stay joined without ``i`` (a breadth-first
    search inside ``rep`` that stops as soon as it has met them all; usually a few steps).
    ``seen`` and ``want`` hold the number of the search (``stamp``) that marked an account,
    so nothing is cleared between searches.
    """
    stamp[0] += 1
    mark = stamp[0]
    first = -1
    left = 0
    for p in range(indptr[i], indptr[i + 1]):
        v = indices[p]
        if v == i or a[v] != rep:
            continue
        if first < 0:
            first = v
        elif want[v] != mark:
            want[v] = mark
            left += 1
    if left == 0:
        return True
    seen[i] = mark
    seen[first] = mark
    queue[0] = first
    head, tail = 0, 1
    while head < tail:
        v = queue[head]
        head += 1
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if seen[u] == mark or a[u] != rep:
                continue
            seen[u] = mark
            if want[u] == mark:
                left -= 1
                if left == 0:
                    return True
            queue[tail] = u
            tail += 1
    return False


@njit(cache=True, nogil=True)
def _band_ok(load: FloatArray, lo: FloatArray, hi: FloatArray, j: int, new: float) -> bool:
    """In band, or at least no further out than before."""
    if lo[j] <= new <= hi[j]:
        return True
    old = float(load[j])
    return bool(
        (new < lo[j] and old < lo[j] and new >= old) or (new > hi[j] and old > hi[j] and new <= old)
    )


@njit(cache=True, nogil=True)
def _anneal_steps(
    indptr: IntArray,
    indices: IntArray,
    a: IntArray,
    best: IntArray,
    load: FloatArray,
    cost: FloatArray,
    bal: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    ok: BoolArray,
    movable: BoolArray,
    owner: IntArray,
    cap: int,
    min_touch: int,
    totals: FloatArray,
    moves: IntArray,
    rng: npt.NDArray[np.uint64],
    first_step: int,
    last_step: int,
    iterations: int,
    floor_done: float,
    t0: float,
    ratio: float,
    scratch: IntArray,
) -> None:
    """Steps ``first_step..last_step`` of the annealing, on state the caller keeps.

    ``totals`` is (current cost, best cost), ``moves`` the accounts moved from ``owner``
    (``cap`` < 0: no cap). The temperature at a step follows the larger of the share of steps
    done and ``floor_done`` (set from the clock by the caller), so a run the clock cuts short
    still ends cold. See :func:`improve_travel` for the steps themselves.
    """
    n = len(a)
    seen = scratch[0:n]
    want = scratch[n : 2 * n]
    queue = scratch[2 * n : 3 * n]
    stamp = scratch[3 * n : 3 * n + 1]
    temp = t0
    for step in range(first_step, last_step):
        if (step - first_step) % COOL_EVERY == 0:
            done = max(step / iterations, floor_done)
            if done >= 1.0:
                break
            temp = t0 * ratio**done
        i = int(_uniform(rng) * n)
        u_pick, u_swap, u_acc = _uniform(rng), _uniform(rng), _uniform(rng)
        if not movable[i]:
            continue
        frm = a[i]
        others = 0
        for p in range(indptr[i], indptr[i + 1]):
            v = indices[p]
            if v != i and a[v] != frm:
                others += 1
        if others == 0:
            continue
        pick = int(u_pick * others)
        to = -1
        for p in range(indptr[i], indptr[i + 1]):
            v = indices[p]
            if v != i and a[v] != frm:
                if pick == 0:
                    to = a[v]
                    break
                pick -= 1
        if not ok[i, to]:
            continue
        if _touching(indptr, indices, a, i, to, -1) < min_touch:
            continue
        b = bal[i]
        if _band_ok(load, lo, hi, frm, load[frm] - b) and _band_ok(load, lo, hi, to, load[to] + b):
            delta = cost[i, to] - cost[i, frm]
            if not _accepted(delta, u_acc, temp):
                continue
            dm = _moved(owner, i, to) - _moved(owner, i, frm)
            if cap >= 0 and moves[0] + dm > cap:
                continue
            if not _joined_without(indptr, indices, a, i, frm, seen, want, queue, stamp):
                continue
            a[i] = to
            load[frm] -= b
            load[to] += b
            totals[0] += delta
            moves[0] += dm
        elif u_swap <= SWAP_SHARE:
            k = _swap_partner(indptr, indices, a, i, frm, to, u_swap, rng)
            if k < 0 or not movable[k] or not ok[k, frm]:
                continue
            bk = bal[k]
            if not (
                _band_ok(load, lo, hi, frm, load[frm] - b + bk)
                and _band_ok(load, lo, hi, to, load[to] + b - bk)
            ):
                continue
            delta = cost[i, to] - cost[i, frm]
            delta += cost[k, frm] - cost[k, to]
            dm = _moved(owner, i, to) - _moved(owner, i, frm)
            dm += _moved(owner, k, frm) - _moved(owner, k, to)
            if not _accepted(delta, u_acc, temp) or (cap >= 0 and moves[0] + dm > cap):
                continue
            if not _swap(indptr, indices, a, load, bal, min_touch, i, k, seen, want, queue, stamp):
                continue
            totals[0] += delta
            moves[0] += dm
        else:
            continue
        if totals[0] < totals[1] - 1e-9:
            totals[1] = totals[0]
            best[:] = a


@njit(cache=True, nogil=True, inline="always")
def _accepted(delta: float, u_acc: float, temp: float) -> bool:
    """Downhill always, uphill with probability ``exp(-delta / temp)``."""
    return delta <= 0 or u_acc < math.exp(-delta / temp)


@njit(cache=True, nogil=True)
def _swap(
    indptr: IntArray,
    indices: IntArray,
    a: IntArray,
    load: FloatArray,
    bal: FloatArray,
    min_touch: int,
    i: int,
    k: int,
    seen: IntArray,
    want: IntArray,
    queue: IntArray,
    stamp: IntArray,
) -> bool:
    """Trade ``i`` for ``k`` (loads, acceptance and move cap already checked) when both
    territories stay touching and joined; the graph searches live here, apart from the loop
    every step runs through."""
    frm, to = a[i], a[k]
    # k must touch frm once i has left it, and i must touch to once k has left it.
    if _touching(indptr, indices, a, k, frm, i) < min_touch:
        return False
    if _touching(indptr, indices, a, i, to, k) < min_touch:
        return False
    if not _joined_without(indptr, indices, a, i, frm, seen, want, queue, stamp):
        return False
    a[i] = to
    if not _joined_without(indptr, indices, a, k, to, seen, want, queue, stamp):
        a[i] = frm
        return False
    a[k] = frm
    b, bk = bal[i], bal[k]
    load[frm] += bk - b
    load[to] += b - bk
    return True


@njit(cache=True, nogil=True)
def _moved(owner: IntArray, i: int, rep: int) -> int:
    """1 when ``i`` held by ``rep`` counts as a move away from its current rep."""
    return 1 if owner[i] >= 0 and owner[i] != rep else 0


@njit(cache=True, nogil=True)
def _touching(indptr: IntArray, indices: IntArray, a: IntArray, i: int, rep: int, skip: int) -> int:
    """Road neighbours of ``i`` in territory ``rep``, not counting ``skip``."""
    count = 0
    for p in range(indptr[i], indptr[i + 1]):
        v = indices[p]
        if v != i and v != skip and a[v] == rep:
            count += 1
    return count


@njit(cache=True, nogil=True)
def _swap_partner(
    indptr: IntArray,
    indices: IntArray,
    a: IntArray,
    i: int,
    frm: int,
    to: int,
    u_swap: float,
    rng: npt.NDArray[np.uint64],
) -> int:
    """An account of ``to`` bordering ``frm`` to trade for ``i`` (-1: none found).

    Either one near ``i`` (its neighbours in ``to`` and theirs), or one anywhere along the
    border, so load can be handed back far from where it was taken.
    """
    n = len(a)
    if u_swap < SWAP_SHARE * FAR_SHARE:
        for _ in range(FAR_TRIES):
            w = int(_uniform(rng) * n)
            if a[w] == to and _touching(indptr, indices, a, w, frm, -1) > 0:
                return w
        return -1
    count = 0
    for p in range(indptr[i], indptr[i + 1]):
        v = indices[p]
        if v == i:
            continue
        if a[v] == to:
            count += 1
        for q in range(indptr[v], indptr[v + 1]):
            w = indices[q]
            if w != v and w != i and a[w] == to:
                count += 1
    if count == 0:
        return -1
    pick = int(_uniform(rng) * count)
    for p in range(indptr[i], indptr[i + 1]):
        v = indices[p]
        if v == i:
            continue
        if a[v] == to:
            if pick == 0:
                return int(v)
            pick -= 1
        for q in range(indptr[v], indptr[v + 1]):
            w = indices[q]
            if w != v and w != i and a[w] == to:
                if pick == 0:
                    return int(w)
                pick -= 1
    return -1


@njit(cache=True, nogil=True)
def _border_steps(indptr: IntArray, indices: IntArray, a: IntArray, cost: FloatArray) -> FloatArray:
    """Cost change of moving each account to its first road neighbour's territory, where that
    is another one: the typical size of a step, which sets the starting temperature (from
    there down to 1 % of it)."""
    out = np.empty(len(a), dtype=np.float64)
    k = 0
    for i in range(len(a)):
        for p in range(indptr[i], indptr[i + 1]):
            v = indices[p]
            if v == i:
                continue
            if a[v] != a[i]:
                out[k] = abs(cost[i, a[v]] - cost[i, a[i]])
                k += 1
            break
    return out[:k]


CHUNK = 200_000
"""Annealing steps between two looks at the clock: a few hundredths of a second."""


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
    swap it with an account of that territory bordering its own. Steps that break an
    invariant (see the module docstring) are rejected; others are accepted when they lower the
    cost, or with probability ``exp(-increase / temperature)``, the temperature falling
    geometrically. Stops after ``iterations`` steps and returns the cheapest split visited,
    the same for the same input and ``seed``. ``time_limit_s`` is a safety net: a search that
    would not end within it cools over the limit's second half and stops at the limit.
    ``min_touch``: road neighbours a moved account must have in its new territory.
    With ``max_moves``, no step takes the number of accounts whose rep differs from
    ``current`` (``-1`` = none, never a move) above it, so a capped realignment stays capped.
    """
    n, m = len(assign), len(lower)
    if n == 0 or m < 2 or iterations <= 0:
        return assign.copy()
    began = time.monotonic()
    graph = csr_matrix(graph, copy=True)  # sorted below: never the caller's, shared by paths
    graph.sum_duplicates()
    indptr = graph.indptr.astype(np.int64)
    indices = graph.indices.astype(np.int64)
    a = np.asarray(assign, dtype=np.int64).copy()
    c = np.ascontiguousarray(cost, dtype=np.float64)
    bal = np.asarray(balance, dtype=np.float64)
    load = np.bincount(a, weights=bal, minlength=m).astype(np.float64)
    ok = np.ones((n, m), dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    movable = np.ones(n, dtype=bool)
    movable[list(fixed)] = False
    owner = np.full(n, -1, dtype=np.int64) if current is None else np.asarray(current, np.int64)
    cap = -1 if current is None or max_moves is None else int(max_moves)
    total = float(c[np.arange(n), a].sum())
    totals = np.array([total, total])
    moves = np.array([int(np.sum((owner >= 0) & (owner != a)))], dtype=np.int64)
    best = a.copy()
    sample = _border_steps(indptr, indices, a, c)
    t0 = max(float(np.median(sample)) * T0_SHARE if len(sample) else 1.0, 1e-6)
    rng = _seeded(seed)
    scratch = np.zeros(3 * n + 1, dtype=np.int64)
    lo = np.asarray(lower, dtype=np.float64) - 1e-9
    hi = np.asarray(upper, dtype=np.float64) + 1e-9

    def run(first_step: int, last_step: int, done_floor: float) -> None:
        _anneal_steps(
            indptr, indices, a, best, load, c, bal, lo, hi, ok, movable, owner, cap, min_touch,
            totals, moves, rng, first_step, last_step, iterations, done_floor, t0, T_END_RATIO,
            scratch,
        )  # fmt: skip

    # The clock (started before the compiled code is loaded, which can take a second) cools
    # the search only in the second half of the limit: a run that ends within the limit then
    # never depends on it, even when its hot first steps run slower than the limit's pace.
    for first_step in range(0, iterations, CHUNK):
        done_floor = -1.0
        if time_limit_s is not None:
            done_floor = 2.0 * (time.monotonic() - began) / max(time_limit_s, 1e-9) - 1.0
            if done_floor >= 1.0:
                break
        run(first_step, min(first_step + CHUNK, iterations), done_floor)
    return best


def _seeded(seed: int) -> npt.NDArray[np.uint64]:
    """The generator's state for ``seed``, through splitmix64's finaliser so that seeds 0, 1,
    2 start far apart (xorshift needs a state that is not zero)."""
    z = (int(seed) + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return np.array([(z ^ (z >> 31)) or 1], dtype=np.uint64)


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
