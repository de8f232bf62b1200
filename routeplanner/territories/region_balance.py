"""Bring regions to their reps' capacity share by moving accounts across region borders.

The bisection that cuts regions (:mod:`~.regions`) can miss a share by whole pieces: enclosing
what a network ball cuts off moves the cut in jumps, and a half gets half the reps whatever
the homes it holds. A region that starts 15 % over its share gives every one of its
territories that excess, more than the border polish after the region jobs can pass on one
account at a time. Moving accounts between neighbouring regions here, while they are still
only workload figures, is cheap: no road time depends on the split yet.

Each move hands one account on a region border from the region more over its share to a
neighbouring one less so, when that narrows the gap between the two, together with any piece
of the giving region that only this account joined to the rest (so both regions stay one
piece); locked accounts stay with their rep's region. Load flows along chains of regions as
gaps open and close.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FLOW_ROUNDS = 3
"""Rounds of balancing flows; a round falls short only where a border runs out of accounts
that fit, so a few rounds leave little to the single moves."""
REGION_BALANCE_TOLERANCE = 0.01
"""Relative miss of its capacity share at which a region is left alone: the region jobs and
the border polish absorb a percent, which the cut's travel guess cannot promise anyway."""


def rebalance_regions(
    region: IntArray,
    graph: csr_matrix,
    balance: FloatArray,
    share: FloatArray,
    locks: Mapping[int, int] | None = None,
    *,
    tolerance: float = REGION_BALANCE_TOLERANCE,
) -> int:
    """Move border accounts between regions (``region`` in place) until each holds its
    ``share`` of ``balance`` within ``tolerance``, or no move narrows a gap; return the moves.

    ``graph`` is the symmetric account graph regions are pieces of (road-cell neighbours);
    ``share`` sums to one, one entry per region; ``locks`` (account -> rep index) are never
    moved.
    """
    target = np.asarray(share, dtype=np.float64) * float(balance.sum())
    if np.any(target <= 0):
        return 0
    pinned = np.zeros(len(region), dtype=bool)
    pinned[list(locks or {})] = True
    edges = Edges.of(graph)
    moves = 0
    for _ in range(FLOW_ROUNDS):
        load = np.bincount(region, weights=balance, minlength=len(target)).astype(np.float64)
        if np.all(np.abs(load / target - 1.0) <= tolerance):
            return moves
        for giver, taker, amount in _balancing_flows(region, edges, load - target):
            moves += _transfer(region, edges, balance, pinned, (giver, taker), amount)
    load = np.bincount(region, weights=balance, minlength=len(target)).astype(np.float64)
    return moves + _narrow_gaps(region, edges, balance, load, target, pinned, tolerance)


@dataclass(frozen=True, slots=True)
class Edges:
    """The account graph with its links as index arrays (each link in both directions)."""

    graph: csr_matrix
    row: IntArray
    col: IntArray

    @classmethod
    def of(cls, graph: csr_matrix) -> Edges:
        coo = graph.tocoo()
        return cls(graph, coo.row.astype(np.int64), coo.col.astype(np.int64))

    def pairs_across(self, labels: IntArray, links: BoolArray | None = None) -> IntArray:
        """The distinct ``(label of one end, label of the other)`` of the links whose ends
        carry different labels (only ``links`` when given), one pair per row."""
        across = labels[self.row] != labels[self.col]
        if links is not None:
            across &= links
        ends = np.column_stack([labels[self.row[across]], labels[self.col[across]]])
        return np.unique(ends, axis=0).reshape(-1, 2).astype(np.int64)

    def ties(self, region: IntArray, pair: tuple[int, int]) -> IntArray:
        """Per account of ``pair[0]``'s region, its links into ``pair[1]``'s."""
        linked = (region[self.row] == pair[0]) & (region[self.col] == pair[1])
        return np.bincount(self.row[linked], minlength=len(region)).astype(np.int64)


def _balancing_flows(
    region: IntArray, edges: Edges, excess: FloatArray
) -> list[tuple[int, int, float]]:
    """Workload to pass between neighbouring regions so each ends at its target: the least
    flow (in the 2-norm) whose net outflow is each region's excess, a potential difference
    across every link of the regions' graph (its Laplacian solved for the excess)."""
    count = len(excess)
    pairs = edges.pairs_across(region)
    adjacent = np.zeros((count, count), dtype=bool)
    adjacent[pairs[:, 0], pairs[:, 1]] = True
    adjacent |= adjacent.T
    laplacian = np.diag(adjacent.sum(axis=1).astype(np.float64)) - adjacent
    potential = np.linalg.lstsq(laplacian, excess, rcond=None)[0]
    first, second = np.nonzero(np.triu(adjacent))
    flow = potential[first] - potential[second]
    flows = [
        (int(a), int(b), float(f)) if f > 0 else (int(b), int(a), float(-f))
        for a, b, f in zip(first, second, flow, strict=True)
    ]
    return sorted(flows, key=lambda f: -f[2])


def _transfer(
    region: IntArray,
    edges: Edges,
    balance: FloatArray,
    pinned: npt.NDArray[np.bool_],
    pair: tuple[int, int],
    amount: float,
) -> int:
    """Hand about ``amount`` of workload from ``pair[0]``'s region to ``pair[1]``'s across
    their border, account by account (with what each cuts off); return the accounts moved."""
    moved_count = 0
    remaining = amount
    while remaining > 0:
        fitting = _accounts_to_hand(
            region, edges, balance, pinned, pair, _lighter_than(2 * remaining)
        )
        if fitting is None:
            return moved_count
        region[fitting] = pair[1]
        remaining -= float(balance[fitting].sum())
        moved_count += len(fitting)
    return moved_count


def _narrow_gaps(
    region: IntArray,
    edges: Edges,
    balance: FloatArray,
    load: FloatArray,
    target: FloatArray,
    pinned: npt.NDArray[np.bool_],
    tolerance: float,
) -> int:
    """Single moves between neighbours whose load ratios differ most, each narrowing their
    gap, for what the flows left (a region's border gave out before its flow did)."""
    blocked: set[tuple[int, int]] = set()
    moves = 0
    for _ in range(len(region)):
        pair = _widest_gap(region, edges, load / target, tolerance, blocked)
        if pair is None:
            break
        giver, taker = pair
        moved = _accounts_to_hand(
            region, edges, balance, pinned, pair, _narrowing(load, target, pair)
        )
        if moved is None:
            blocked.add(pair)
            continue
        region[moved] = taker
        weight = float(balance[moved].sum())
        load[giver] -= weight
        load[taker] += weight
        moves += len(moved)
    return moves


def _lighter_than(limit: float) -> Callable[[float], bool]:
    def fits(weight: float) -> bool:
        return weight < limit

    return fits


def _narrowing(
    load: FloatArray, target: FloatArray, pair: tuple[int, int]
) -> Callable[[float], bool]:
    """Whether handing a workload from ``pair[0]`` to ``pair[1]`` narrows the gap between
    their load ratios (as the loads are now)."""
    giver, taker = pair
    gap = load[giver] / target[giver] - load[taker] / target[taker]

    def fits(weight: float) -> bool:
        after = (load[giver] - weight) / target[giver] - (load[taker] + weight) / target[taker]
        return bool(abs(after) < gap)

    return fits


def _widest_gap(
    region: IntArray,
    edges: Edges,
    ratio: FloatArray,
    tolerance: float,
    blocked: set[tuple[int, int]],
) -> tuple[int, int] | None:
    """The neighbouring regions (giver, taker) whose load ratios differ most, where the giver
    is over its share or the taker under it by more than ``tolerance``."""
    pairs = edges.pairs_across(region)
    if len(pairs) == 0:
        return None
    gap = ratio[pairs[:, 0]] - ratio[pairs[:, 1]]
    useful = (gap > tolerance) & (
        (ratio[pairs[:, 0]] > 1.0 + tolerance) | (ratio[pairs[:, 1]] < 1.0 - tolerance)
    )
    for k in np.argsort(-gap, kind="stable"):
        if not useful[k]:
            break
        pair = (int(pairs[k, 0]), int(pairs[k, 1]))
        if pair not in blocked:
            return pair
    return None


def _accounts_to_hand(
    region: IntArray,
    edges: Edges,
    balance: FloatArray,
    pinned: npt.NDArray[np.bool_],
    pair: tuple[int, int],
    fits: Callable[[float], bool],
) -> IntArray | None:
    """Accounts of ``pair[0]``'s region to hand to ``pair[1]``'s whose workload ``fits``: one
    on the taker's border, most tied to the taker first (so the border stays short), with every
    piece of the giver its removal would cut off (they reach the taker through it), so both
    regions stay in one piece; none of them locked."""
    ties = edges.ties(region, pair)
    border = np.flatnonzero((region == pair[0]) & ~pinned & (ties > 0))
    for account in border[np.argsort(-ties[border], kind="stable")]:
        moved = with_cut_off(region, edges.graph, balance, int(account))
        if fits(float(balance[moved].sum())) and not pinned[moved].any():
            return moved
    return None


def with_cut_off(
    region: IntArray, graph: csr_matrix, balance: FloatArray, account: int
) -> IntArray:
    """The account and the pieces of its region that only it joins to the region's heaviest
    piece."""
    own = int(region[account])
    neighbours = graph.indices[graph.indptr[account] : graph.indptr[account + 1]]
    if np.count_nonzero(region[neighbours] == own) <= 1:
        return np.array([account], dtype=np.int64)  # an end of its region: cuts nothing off
    rest = np.flatnonzero((region == own) & (np.arange(len(region)) != account))
    count, labels = connected_components(graph[rest][:, rest], directed=False)
    if count == 1:
        return np.array([account], dtype=np.int64)
    main = int(np.argmax(np.bincount(labels, weights=balance[rest], minlength=count)))
    touched = np.unique(labels[np.isin(rest, neighbours)])
    cut_off = np.isin(labels, touched[touched != main])
    return np.concatenate([[account], rest[cut_off]]).astype(np.int64)
