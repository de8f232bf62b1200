"""Bring an organisation's territories toward the balance band within a budget of moves.

A realignment's region jobs balance each territory against its region's mean; a region that
carries more than its reps' capacity share keeps that excess in every territory. Passing it on
needs moves across region borders, and through the territories between the region and those
with room: load flows along chains of territories. The flows are the fewest (in workload
moved) that bring every territory into the band, found by a small linear programme on the
territories' neighbour graph; when the budget cannot buy that, the worst miss of the band is
made as small as the budget allows. Each flow is then handed over account by account on the
border between two territories, free moves first (an account without a current rep, or one
going back to it), then the heaviest that fits (most balance per counted move), each with the
pieces of its territory that only it joined (so no territory falls apart); single moves on the
worst territory's border spend what the flows leave of the budget.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, csr_matrix

from routeplanner.territories.assign import count_moves
from routeplanner.territories.region_balance import Edges, with_cut_off

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

BAND_ROUNDS = 6
"""Rounds of flows; a round falls short where a border runs out of accounts that fit (it is
left out of the next rounds) or the budget runs out, so a few rounds leave little."""
SPEND = 0.6
"""Share of the budget (in accounts of mean workload) a round's flows may plan to move: a round
whose budget runs out midway leaves territories in a chain that gave without receiving; the
next rounds and the single moves spend the rest."""
NEED_SHARE = 0.6
"""Share of the fewest flows' workload, in accounts of mean workload, that the moves take:
the accounts handed are heavier than the mean (a border offers its heaviest that fit)."""
MISS_WEIGHT = 1e4
"""Price of the band's worst miss (a share of a territory's target) against the workload moved
(a share of the organisation's): any narrowing of the miss is worth more than its moves."""


@dataclass(slots=True)
class _State:
    """The split being changed, what stays put, and the moves still allowed (``None``: any)."""

    assign: IntArray
    current: IntArray
    edges: Edges
    balance: FloatArray
    pinned: npt.NDArray[np.bool_]
    home_s: FloatArray
    budget: int | None
    allowed: npt.NDArray[np.bool_] | None = None

    def cost(self, accounts: IntArray, giver: int, taker: int) -> IntArray:
        """Per account, how the count of moves changes when it goes from giver to taker."""
        cur = self.current[accounts]
        owned = cur >= 0
        gained = (owned & (cur != taker)).astype(np.int64)
        return np.asarray(gained - (owned & (cur != giver)), dtype=np.int64)


def band_moves(
    assign: IntArray,
    current: IntArray,
    graph: csr_matrix,
    balance: FloatArray,
    capacity: FloatArray,
    home_s: FloatArray,
    *,
    band: float,
    budget: int | None,
    still: Collection[int] = (),
    fixed: Collection[int] = (),
    allowed: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """``assign`` with accounts handed between neighbouring territories until each holds its
    capacity share of ``balance`` within ``band`` (relative), or the ``budget`` of moves
    against ``current`` is spent (``None``: no limit). ``home_s`` (rep x account) breaks ties
    between border accounts: the one nearest the taker's home against the giver's goes first.

    ``graph`` is the symmetric account graph territories are pieces of; no account enters or
    leaves the territories of the ``still`` reps, ``fixed`` accounts stay where they are, and
    an account goes only to a rep ``allowed`` (accounts x reps) for it.
    Moves that put an account back with its current rep give budget back.
    """
    out = assign.copy()
    if budget is not None and budget < 0:
        return out
    state, free = _prepared(out, current, graph, (balance, capacity), home_s, budget, still, fixed)
    state.allowed = allowed
    m = len(capacity)
    best, best_miss = out.copy(), _worst_miss(out, balance, capacity, free)
    blocked: set[tuple[int, int]] = set()
    for _ in range(BAND_ROUNDS):
        if best_miss <= band or state.budget == 0:
            break
        load = np.bincount(out, weights=balance, minlength=m).astype(np.float64)
        spend = None if state.budget is None else SPEND * state.budget * _mean_weight(state)
        target = _targets(load, capacity, free)
        flows = _band_flows(state, load, target, free, band, spend, blocked)
        if not flows:
            break
        _hand_over_all(state, flows, blocked)
        miss = _worst_miss(out, balance, capacity, free)
        if miss < best_miss:
            best, best_miss = out.copy(), miss
    if budget is not None:
        state.budget = budget - count_moves(best, current) + count_moves(assign, current)
    state.assign = best
    _finish(state, capacity, free, band)
    return best


def _finish(state: _State, capacity: FloatArray, free: npt.NDArray[np.bool_], band: float) -> None:
    """Single moves on the worst territory's border, each narrowing the larger miss of the
    two territories it joins, while the budget lasts: what the flows' rounds left over."""
    for _ in range(len(state.assign)):
        if state.budget == 0:
            return
        load = np.bincount(state.assign, weights=state.balance, minlength=len(capacity))
        target = _targets(load.astype(np.float64), capacity, free)
        dev = np.zeros(len(capacity))
        dev[free] = load[free] / target[free] - 1.0
        worst = int(np.argmax(np.abs(dev)))
        if abs(dev[worst]) <= band or not _narrow_worst(state, worst, dev, target):
            return


def _narrow_worst(state: _State, worst: int, dev: FloatArray, target: FloatArray) -> bool:
    """One hand-over between ``worst`` and the neighbour furthest on the other side that
    narrows the larger miss of the two; whether there was one."""
    assign, row, col = state.assign, state.edges.row, state.edges.col
    touching = np.unique(assign[col[(assign[row] == worst) & (assign[col] != worst)]])
    touching = touching[target[touching] > 0]
    over = dev[worst] > 0
    miss = abs(dev[worst])
    for other in touching[np.argsort(dev[touching] if over else -dev[touching])]:
        giver, taker = (worst, int(other)) if over else (int(other), worst)
        limit = min(
            (miss + dev[giver]) * target[giver], (miss - dev[taker]) * target[taker]
        )  # how much the giver may lose and the taker gain with neither missing more
        moved = _accounts_to_hand(state, (giver, taker), limit) if limit > 0 else None
        if moved is not None:
            if state.budget is not None:
                state.budget -= int(state.cost(moved, giver, taker).sum())
            assign[moved] = taker
            return True
    return False


def band_need(
    assign: IntArray,
    graph: csr_matrix,
    balance: FloatArray,
    capacity: FloatArray,
    *,
    band: float,
    still: Collection[int] = (),
    fixed: Collection[int] = (),
) -> int:
    """About how many moves :func:`band_moves` takes to bring ``assign`` into ``band``: the
    workload of its fewest flows in accounts of mean workload."""
    home_s = np.zeros((len(capacity), len(assign)), dtype=np.float64)
    state, free = _prepared(assign, assign, graph, (balance, capacity), home_s, None, still, fixed)
    load = np.bincount(assign, weights=balance, minlength=len(capacity)).astype(np.float64)
    target = _targets(load, capacity, free)
    flows = _band_flows(state, load, target, free, band, None, set())
    weight = _mean_weight(state) / NEED_SHARE
    return math.ceil(sum(f for _, _, f in flows) / weight) if weight > 0 else 0


def _prepared(
    assign: IntArray,
    current: IntArray,
    graph: csr_matrix,
    loads: tuple[FloatArray, FloatArray],
    home_s: FloatArray,
    budget: int | None,
    still: Collection[int],
    fixed: Collection[int],
) -> tuple[_State, npt.NDArray[np.bool_]]:
    """The state of a split to change (``assign`` itself, in place) and its free territories
    (not still, with some capacity): ``loads`` are each account's balance and each rep's
    capacity."""
    balance, capacity = loads
    pinned = np.isin(assign, np.asarray(sorted(still), dtype=np.int64))
    pinned[np.asarray(sorted(fixed), dtype=np.int64)] = True
    free = capacity > 0
    free[list(still)] = False
    edges = Edges.of(graph)
    return _State(assign, current, edges, balance, pinned, home_s, budget), free


def _worst_miss(
    assign: IntArray, balance: FloatArray, capacity: FloatArray, free: npt.NDArray[np.bool_]
) -> float:
    """The largest relative deviation of a free territory from its capacity share."""
    load = np.bincount(assign, weights=balance, minlength=len(capacity)).astype(np.float64)
    target = _targets(load, capacity, free)
    return float(np.max(np.abs(load[free] / target[free] - 1.0), initial=0.0))


def _hand_over_all(
    state: _State, flows: list[tuple[int, int, float]], blocked: set[tuple[int, int]]
) -> None:
    """Every flow, those nearest the end of their chain first; a territory that could not
    pass on all it was to pass on takes that much less, so it is not left over its share. A
    border that gave less than half its flow is ``blocked`` for the next rounds."""
    short: dict[int, float] = {}
    pending = list(flows)
    while pending:
        givers = {giver for giver, _, _ in pending}
        ready = [f for f in pending if f[1] not in givers] or pending[:1]
        pending = [f for f in pending if f not in ready]
        for giver, taker, amount in ready:
            owed = min(amount, short.get(taker, 0.0))
            short[taker] = short.get(taker, 0.0) - owed
            handed = _hand_over(state, (giver, taker), amount - owed)
            short[giver] = short.get(giver, 0.0) + max(amount - owed - handed, 0.0)
            if handed < 0.5 * (amount - owed):
                blocked.add((giver, taker))


def _targets(load: FloatArray, capacity: FloatArray, free: npt.NDArray[np.bool_]) -> FloatArray:
    """Each free territory's capacity share of what the free territories hold together."""
    cap = float(capacity[free].sum())
    share = np.where(free, capacity / cap if cap > 0 else 0.0, 0.0)
    return np.asarray(share * float(load[free].sum()), dtype=np.float64)


def _mean_weight(state: _State) -> float:
    movable = ~state.pinned
    return float(state.balance[movable].mean()) if movable.any() else 0.0


def _band_flows(
    state: _State,
    load: FloatArray,
    target: FloatArray,
    free: npt.NDArray[np.bool_],
    band: float,
    spend: float | None,
    blocked: set[tuple[int, int]],
) -> list[tuple[int, int, float]]:
    """Workload to pass between neighbouring free territories: the least in total that brings
    every one into the band, or, when ``spend`` (workload) cannot, the smallest worst miss."""
    assign, row, col = state.assign, state.edges.row, state.edges.col
    pairs = state.edges.pairs_across(assign, free[assign[row]] & free[assign[col]])
    pairs = np.array([p for p in pairs.tolist() if tuple(p) not in blocked], dtype=np.int64)
    if len(pairs) == 0:
        return []
    m, n_flows = len(load), len(pairs)
    # Net inflow per territory: +1 where a flow arrives, -1 where it leaves.
    flow_ids = np.arange(n_flows)
    net = coo_matrix(
        (
            np.concatenate([-np.ones(n_flows), np.ones(n_flows)]),
            (np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([flow_ids, flow_ids])),
        ),
        shape=(m, n_flows),
    ).tocsr()[free]
    t, held = target[free], load[free]
    miss = -t[:, None]
    upper = np.hstack([net.toarray(), miss])
    lower = np.hstack([-net.toarray(), miss])
    a_ub = [upper, lower]
    b_ub = [(1.0 + band) * t - held, held - (1.0 - band) * t]
    if spend is not None:
        a_ub.append(np.concatenate([np.ones(n_flows), [0.0]])[None, :])
        b_ub.append(np.array([spend]))
    cost = np.concatenate([np.ones(n_flows), [MISS_WEIGHT]])
    found = linprog(cost, A_ub=np.vstack(a_ub), b_ub=np.concatenate(b_ub), method="highs")
    if found.status != 0:
        return []
    flows = [
        (int(a), int(b), float(f))
        for (a, b), f in zip(pairs, found.x[:n_flows], strict=True)
        if f > 1e-12
    ]
    return sorted(flows, key=lambda f: -f[2])


def _hand_over(state: _State, pair: tuple[int, int], amount: float) -> float:
    """Hand about ``amount`` of workload from territory ``pair[0]`` to ``pair[1]`` across their
    border, within the budget; return the workload handed."""
    remaining = amount
    while remaining > 0 and state.budget != 0:
        moved = _accounts_to_hand(state, pair, 2.0 * remaining)
        if moved is None:
            break
        if state.budget is not None:
            state.budget -= int(state.cost(moved, *pair).sum())
        state.assign[moved] = pair[1]
        remaining -= float(state.balance[moved].sum())
    return amount - remaining


def _accounts_to_hand(state: _State, pair: tuple[int, int], limit: float) -> IntArray | None:
    """Accounts of ``pair[0]`` on ``pair[1]``'s border lighter than ``limit`` in all, with the
    pieces of ``pair[0]`` they alone join (so it stays whole), none pinned, within the budget:
    free moves first, then those most tied to ``pair[1]`` (the border stays short), then
    those nearest its home."""
    giver, taker = pair
    ties = state.edges.ties(state.assign, pair)
    border = np.flatnonzero((state.assign == giver) & ~state.pinned & (ties > 0))
    nearer = state.home_s[taker, border] - state.home_s[giver, border]
    order = np.lexsort(
        (nearer, -ties[border], -state.balance[border], state.cost(border, giver, taker))
    )
    for account in border[order]:
        moved = with_cut_off(state.assign, state.edges.graph, state.balance, int(account))
        if float(state.balance[moved].sum()) >= limit or state.pinned[moved].any():
            continue
        if state.allowed is not None and not state.allowed[moved, taker].all():
            continue
        if state.budget is None or int(state.cost(moved, giver, taker).sum()) <= state.budget:
            return moved
    return None
