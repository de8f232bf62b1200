"""Re-splitting groups of territories with the contiguity MIP: every territory at once where
that fits (``contiguity_mip``), else pairs of touching territories (``resplit_pairs``).

A re-split keeps its group's total load, so it stays in the band, and the MIP's tree condition
keeps each territory connected; it is kept only when it lowers the cost without adding
enclaves. It recovers what border moves cannot: whole strips changing hands.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np
from scipy.sparse import csr_matrix

from routeplanner.territories.assign import solve_contiguous
from routeplanner.territories.contiguity import count_violations, graph_distances
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.problem import (
    BoolArray,
    DesignProblem,
    FloatArray,
    IntArray,
    Phase,
    Split,
)

HOME_ROOTS = 3
"""Accounts nearest its home a territory's tree may grow from: with one the model can be
infeasible, with many, pieces hang from the home through roots that do not touch (the result
is counted, never assumed connected)."""
RESPLIT_GAP = 0.01
"""Relative MIP gap of each re-split: many re-splits within the time do more than proving the
last percent of one."""

CostOf = Callable[[DesignProblem, Split], FloatArray]
"""Which cost a polishing phase lowers: read from the problem and the split so far."""


def contiguity_mip(problem: DesignProblem, split: Split, deadline: Deadline) -> Split:
    """Re-decide every account at once with the contiguity MIP, no enclave by construction.

    Only for designs whose band was met and that fit one MIP (``CONTIGUOUS_FULL``); kept when
    it has fewer enclaves.
    """
    if not split.band_met or deadline.expired():
        return split
    before = count_violations(problem.graph, split.assign, problem.balance)
    if before == 0:
        return split
    lower, upper = problem.repair_band
    locked = _locked(problem)
    found = resplit(
        problem,
        split.assign,
        list(range(problem.n_reps)),
        problem.base_cost,
        lower,
        upper,
        locked,
        deadline.limit(problem.solve_limit_s),
    )
    if found is None or count_violations(problem.graph, found, problem.balance) >= before:
        return split
    return replace(split, assign=found)


def resplit_pairs(cost_of: CostOf, share: float) -> Phase:
    """A phase re-splitting pairs of touching territories on ``cost_of``, for ``share`` of
    what is left of the job (a safety net: it ends when no pair improves)."""

    def run(problem: DesignProblem, split: Split, deadline: Deadline) -> Split:
        problem.report("pairwise re-split", 0.9)
        cost = cost_of(problem, split) + problem.move_prices()
        found = improve_pairs(problem, split.assign, cost, deadline.share(share))
        return split if found is split.assign else replace(split, assign=found)

    run.__name__ = f"resplit_pairs_{getattr(cost_of, '__name__', 'cost')}"
    return run


def improve_pairs(
    problem: DesignProblem, assign: IntArray, cost: FloatArray, deadline: Deadline
) -> IntArray:
    """Re-split pairs of touching territories until none improves or the deadline passes.

    The pairs wait first in, first out: every touching pair once, then, after a kept
    re-split, the pairs of its two territories at the back, so every pair is tried again
    after its last change. Returns ``assign`` itself when nothing was kept.
    """
    graph, balance = problem.graph, problem.balance
    lower, upper = problem.repair_band
    locked = _locked(problem)
    best = assign
    best_cost = problem.travel(best, cost)
    best_enclaves = count_violations(graph, best, balance)
    queue: deque[tuple[int, int]] = deque(touching_pairs(graph, best, range(problem.n_reps)))
    queued = set(queue)
    while queue and not deadline.expired():
        pair = queue.popleft()
        queued.discard(pair)
        limit = deadline.limit(problem.solve_limit_s)
        found = resplit(problem, best, list(pair), cost, lower, upper, locked, limit)
        if found is None or problem.moves_over(found):
            continue
        found_cost = problem.travel(found, cost)
        enclaves = count_violations(graph, found, balance)
        if found_cost < best_cost - 1e-6 and enclaves <= best_enclaves:
            best, best_cost, best_enclaves = found, found_cost, enclaves
            for again in touching_pairs(graph, best, pair):
                if again not in queued:
                    queue.append(again)
                    queued.add(again)
    return best


def touching_pairs(
    graph: csr_matrix, assign: IntArray, reps: Iterable[int]
) -> list[tuple[int, int]]:
    """Pairs ``(low, high)`` of territories with a road-neighbour link, one of them in ``reps``."""
    coo = graph.tocoo()
    a, b = assign[coo.row], assign[coo.col]
    wanted = list(reps)
    mask = (a < b) & (np.isin(a, wanted) | np.isin(b, wanted))
    return sorted({(int(x), int(y)) for x, y in zip(a[mask], b[mask], strict=True)})


def resplit(
    problem: DesignProblem,
    assign: IntArray,
    reps: list[int],
    cost: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    locked: BoolArray,
    time_limit_s: float,
) -> IntArray | None:
    """Re-split the accounts of ``reps`` among them with the contiguity MIP, others held.

    Under a move cap the re-split spends at most what the accounts outside the group leave
    of it: moves elsewhere, and members whose current rep is outside the group, count
    whatever the re-split does. None when there is nothing to re-split or no split is found.
    """
    members = np.nonzero(np.isin(assign, reps))[0]
    if len(members) == 0 or time_limit_s <= 0:
        return None
    local = {r: k for k, r in enumerate(reps)}
    stay, spare = _spare_moves(problem, assign, members, reps, local)
    if spare is not None and spare < 0:
        return None
    graph = problem.graph
    sub = csr_matrix(graph[members][:, members])
    rep_idx = np.asarray(reps, dtype=np.int64)
    sub_home = problem.home[np.ix_(members, rep_idx)]
    own = np.stack(
        [
            graph_distances(sub, sub_home.T[k : k + 1], home_links=HOME_ROOTS)[0]
            for k in range(len(reps))
        ],
        axis=1,
    )
    links = [
        frozenset(int(i) for i in np.argsort(sub_home[:, k], kind="stable")[:HOME_ROOTS])
        for k in range(len(reps))
    ]
    found = solve_contiguous(
        cost[np.ix_(members, rep_idx)],
        problem.balance[members],
        lower[rep_idx],
        upper[rep_idx],
        neighbours_indptr=sub.indptr.astype(np.int64),
        neighbours=sub.indices.astype(np.int64),
        home_dist=own,
        home_links=links,
        start=np.array([local[int(assign[i])] for i in members], dtype=np.int64),
        # Accounts no home of the group reaches inside the group (pieces lying in other
        # territories) stay where they are.
        free=~locked[members] & np.isfinite(own).any(axis=1),
        time_limit_s=time_limit_s,
        mip_rel_gap=RESPLIT_GAP,
        allowed=problem.allowed[np.ix_(members, rep_idx)],
        stay=stay,
        max_moved=spare,
    )
    if found is None:
        return None
    out = assign.copy()
    out[members] = rep_idx[found]
    return out


def _spare_moves(
    problem: DesignProblem,
    assign: IntArray,
    members: IntArray,
    reps: list[int],
    local: dict[int, int],
) -> tuple[IntArray | None, int | None]:
    """Each member's current rep inside the group (``-1``: none there) and the moves the
    re-split may still spend; both None without a move cap."""
    current, cap = problem.current, problem.max_moves
    if current is None or cap is None:
        return None, None
    outside = np.ones(len(assign), dtype=bool)
    outside[members] = False
    owner = current[members]
    spent = int(np.sum(outside & (current >= 0) & (current != assign)))
    spent += int(np.sum((owner >= 0) & ~np.isin(owner, reps)))
    stay = np.array([local.get(int(r), -1) for r in owner], dtype=np.int64)
    return stay, cap - spent


def _locked(problem: DesignProblem) -> BoolArray:
    locked = np.zeros(problem.n_accounts, dtype=bool)
    locked[list(problem.fixed)] = True
    return locked
