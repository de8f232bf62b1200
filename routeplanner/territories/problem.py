"""The fixed facts of one design (``DesignProblem``) and the split its phases pass along.

A design or realignment is a list of phases, each ``(problem, split, deadline) -> split``. The
problem holds what never changes while they run (costs, band, graph, locks, move limit), so a
phase names what it needs instead of receiving a row of arrays by position; the split holds
what they change. Both are indexed over the *active* accounts and reps (locked territories
are left out and put back at the end).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

from routeplanner.territories.assign import count_moves
from routeplanner.territories.contiguity import (
    count_violations,
    graph_distances,
    neighbour_graph,
)
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.workload import TerritoryContext

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

OBJECTIVES = ("home", "centre")
"""Design objectives: road time from the rep's home (default) or from the territory's centre."""
STARTS = ("auto", "home", "centre")
"""How the home objective builds its first split (see ``DesignWeights.start``)."""
Progress = Callable[[str, float], None]
"""Progress callback: a short stage description and the fraction done (0..1)."""

CONTIGUOUS_FULL = 6000
"""Largest accounts x reps one contiguity MIP re-decides at once: beyond it HiGHS finds no
incumbent in useful time, so larger designs rely on the local repair and pairwise re-splits."""
TIE_BREAK = 0.05
"""Share of plain road time added to graph distances: every account behind a common junction
ties on graph distance, and the simplex would interleave tied accounts."""
SOLVE_BAND = 0.9
"""The balanced solves aim inside this share of the tolerance, so the later border moves have
room to round without leaving the user's band."""
REPAIR_BAND = 0.98
"""Share of the tolerance the repair and polishing steps keep: just inside the promise, so a
float rounding never reports a territory as out of band."""
CENTRE_SHARE = 0.5
"""Default share of time from the territory centre in a centre-mixed cost: round territories
without losing sight of where the reps live."""
COMPACTNESS_SLACK = 0.15
"""Default travel a split may cost above the cheapest found and still be kept for having
fewer enclaves: enclaves cost a rep more than a few percent of driving."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignWeights:
    """What to balance and how compactness is priced.

    ``objective``: ``"home"`` minimises road time from each rep's home (what a rep drives);
    ``"centre"`` mixes in time from the territory's centre, for rounder territories.
    ``centre``, ``contiguity`` and ``compactness_slack`` apply to centre-mixed solves only.
    ``workload`` and ``value`` weight the balanced quantity (each normalised to its total).
    ``centre`` is the share of road time from the territory centre in the cost;
    ``contiguity`` prices an account whose road neighbours belong to another rep, as a
    multiple of the median home-account time. ``compactness_slack``: among the balanced
    splits found, the one with the fewest enclaves within this share of the cheapest is kept.
    ``graph_metric`` measures cost through the account neighbour graph (connected by
    construction) instead of plain road time; ``None`` picks plain road time where one
    contiguity MIP re-decides every account anyway, the graph otherwise.
    ``start`` (home objective, uncapped and unpriced): ``"home"`` starts from the balanced
    split nearest the homes, ``"centre"`` from the centre objective's split (a rep living far
    from the work then gets one compact block instead of scattered heavy accounts), ``"auto"``
    picks ``"centre"`` above ``CONTIGUOUS_FULL`` for a design.
    """

    objective: str = "home"
    workload: float = 1.0
    value: float = 0.0
    centre: float = CENTRE_SHARE
    contiguity: float = 0.0
    graph_metric: bool | None = None
    compactness_slack: float = COMPACTNESS_SLACK
    start: str = "auto"

    def __post_init__(self) -> None:
        if self.workload < 0 or self.value < 0 or self.workload + self.value <= 0:
            msg = "balance weights must be >= 0 and not both 0"
            raise ValueError(msg)
        if not 0.0 <= self.centre <= 1.0:
            msg = "centre weight must be 0..1"
            raise ValueError(msg)
        if self.contiguity < 0:
            msg = "contiguity weight must be >= 0"
            raise ValueError(msg)
        if self.objective not in OBJECTIVES:
            msg = f"objective must be one of {', '.join(OBJECTIVES)}"
            raise ValueError(msg)
        if self.start not in STARTS:
            msg = f"start must be one of {', '.join(STARTS)}"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DesignProblem:
    """Everything one design (or one realignment option) keeps fixed while its phases run.

    Indexed over active accounts (``na``) and active reps (``ma``): accounts of locked
    territories and those reps are left out. ``fixed`` pins account positions to rep
    positions (locks); ``current`` is each account's current rep position (``-1``: none) when
    the design is a realignment, which ``max_moves`` caps and ``move_penalty_s`` prices.
    """

    ctx: TerritoryContext
    weights: DesignWeights
    tolerance: float
    active_accounts: IntArray
    active_reps: IntArray
    fixed: Mapping[int, int]
    graph: csr_matrix
    home: FloatArray
    """``(na, ma)`` plain road time between each account and each rep's home."""
    account_s: FloatArray
    """``(na, na)`` road time between accounts."""
    base_cost: FloatArray
    """``(na, ma)`` the travel the balanced solves price: ``home``, or through the graph."""
    balance: FloatArray
    target: FloatArray
    allowed: BoolArray
    current: IntArray | None = None
    max_moves: int | None = None
    move_penalty_s: float = 0.0
    centre_start: bool = False
    use_graph: bool = False
    one_shot_mip: bool = False
    max_iterations: int = 8
    repair_rounds: int = 8
    solve_limit_s: float = 10.0
    report: Progress = field(default=lambda _stage, _fraction: None)

    @property
    def n_accounts(self) -> int:
        return len(self.active_accounts)

    @property
    def n_reps(self) -> int:
        return len(self.active_reps)

    @property
    def fixed_set(self) -> frozenset[int]:
        return frozenset(self.fixed)

    @property
    def free_moves(self) -> bool:
        """Neither capped nor priced: a design, or a realignment's unlimited option."""
        return self.max_moves is None and self.move_penalty_s == 0.0

    @property
    def solve_band(self) -> tuple[FloatArray, FloatArray]:
        """Lower and upper load the balanced solves aim for."""
        band = SOLVE_BAND * self.tolerance
        return self.target * (1.0 - band), self.target * (1.0 + band)

    @property
    def repair_band(self) -> tuple[FloatArray, FloatArray]:
        """Lower and upper load the repair and polishing steps keep."""
        band = REPAIR_BAND * self.tolerance
        return self.target * (1.0 - band), self.target * (1.0 + band)

    @property
    def centre_scale(self) -> float:
        """Median home-account time: the unit of the ``contiguity`` weight."""
        return float(np.median(self.home)) if self.home.size else 1.0

    def travel(self, assign: IntArray, cost: FloatArray | None = None) -> float:
        """Total ``cost`` (default: ``base_cost``) of a split."""
        table = self.base_cost if cost is None else cost
        return float(table[np.arange(len(assign)), assign].sum())

    def move_prices(self) -> FloatArray | float:
        """``(na, ma)`` price of giving each account to each rep when moves are priced, else 0."""
        if self.current is None or self.move_penalty_s <= 0:
            return 0.0
        reps = np.arange(self.n_reps)[None, :]
        moved = (self.current[:, None] >= 0) & (self.current[:, None] != reps)
        return np.asarray(self.move_penalty_s * moved, dtype=np.float64)

    def moves_over(self, assign: IntArray) -> bool:
        """Whether ``assign`` moves more accounts away from ``current`` than ``max_moves``."""
        return self.max_moves is not None and count_moves(assign, self.current) > self.max_moves


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A balanced split a start phase found, with what ``choose_split`` compares."""

    assign: IntArray
    band_miss: float
    enclaves: int
    travel: float


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Split:
    """Who owns what (rep position per active account, ``-1`` = nobody yet) and how it was found.

    ``mixed_cost`` is the centre-mixed cost of the latest medoid update (``base_cost`` before
    any), which later phases polish on. ``candidates`` are the start phases' splits until
    ``choose_split`` keeps one; ``travel_limit`` is then the compactness slack it allowed.
    """

    assign: IntArray
    mixed_cost: FloatArray
    candidates: tuple[Candidate, ...] = ()
    band_met: bool = True
    travel_limit: float = float("inf")
    optimal: bool = True
    iterations: int = 0
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return bool(np.all(self.assign >= 0))


Phase = Callable[[DesignProblem, Split, Deadline], Split]
"""One step of a design: takes the split so far and returns it, improved or unchanged."""


def run_phases(
    problem: DesignProblem, split: Split, phases: Sequence[Phase], deadline: Deadline
) -> Split:
    """Run ``phases`` in order; stop early when one leaves an account without a rep."""
    for phase in phases:
        split = phase(problem, split, deadline)
        if not split.complete:
            break
    return split


def fits_one_mip(n_accounts: int, n_reps: int) -> bool:
    """Whether one contiguity MIP can re-decide every account (``CONTIGUOUS_FULL``)."""
    return n_accounts * n_reps <= CONTIGUOUS_FULL


def build_problem(
    ctx: TerritoryContext,
    *,
    fixed: Mapping[int, int],
    frozen: frozenset[int],
    weights: DesignWeights,
    tolerance: float,
    current: IntArray | None = None,
    max_moves: int | None = None,
    move_penalty_s: float = 0.0,
    max_iterations: int = 8,
    repair_rounds: int = 8,
    solve_limit_s: float = 10.0,
    report: Progress | None = None,
) -> DesignProblem | None:
    """The problem over the accounts and reps outside locked territories (None: nothing to do)."""
    active_reps = np.array([j for j in range(ctx.n_reps) if j not in frozen], dtype=np.int64)
    frozen_acc = {i for i, j in fixed.items() if j in frozen}
    active = np.array([i for i in range(ctx.n_accounts) if i not in frozen_acc], dtype=np.int64)
    na, ma = len(active), len(active_reps)
    if na == 0 or ma == 0:
        return None
    rep_pos = {int(j): k for k, j in enumerate(active_reps)}
    home = ctx.home_s[np.ix_(active_reps, active)].T
    account_s = ctx.account_s[np.ix_(active, active)]
    graph = neighbour_graph(restrict_neighbours(ctx.neighbours, active), account_s)
    one_shot = fits_one_mip(na, ma)
    free_moves = max_moves is None and move_penalty_s == 0.0
    centre_start = weights.objective == "centre" or (
        free_moves
        and (
            weights.start == "centre"
            or (weights.start == "auto" and current is None and not one_shot)
        )
    )
    use_graph = weights.graph_metric
    if use_graph is None:
        use_graph = centre_start or not one_shot
    base_cost = graph_distances(graph, home.T).T + TIE_BREAK * home if use_graph else home
    cur = None
    if current is not None:
        cur = np.array([rep_pos.get(int(current[i]), -1) for i in active], dtype=np.int64)
    balance = _balance(ctx, active, weights)
    capacity = ctx.capacity_s[active_reps]
    return DesignProblem(
        ctx=ctx,
        weights=weights,
        tolerance=tolerance,
        active_accounts=active,
        active_reps=active_reps,
        fixed={k: rep_pos[fixed[int(i)]] for k, i in enumerate(active) if int(i) in fixed},
        graph=graph,
        home=home,
        account_s=account_s,
        base_cost=base_cost,
        balance=balance,
        target=balance.sum() * capacity / capacity.sum(),
        allowed=ctx.allowed[np.ix_(active, active_reps)],
        current=cur,
        max_moves=max_moves,
        move_penalty_s=move_penalty_s,
        centre_start=centre_start,
        use_graph=use_graph,
        one_shot_mip=one_shot,
        max_iterations=max_iterations,
        repair_rounds=repair_rounds,
        solve_limit_s=solve_limit_s,
        report=report or (lambda _stage, _fraction: None),
    )


def _balance(ctx: TerritoryContext, active: IntArray, weights: DesignWeights) -> FloatArray:
    """Each account's share of the balanced quantity: workload and value, each normalised."""
    w_tot = float(ctx.workload_s[active].sum()) or 1.0
    v_tot = float(ctx.value[active].sum()) or 1.0
    return np.asarray(
        weights.workload * ctx.workload_s[active] / w_tot
        + weights.value * ctx.value[active] / v_tot,
        dtype=np.float64,
    )


def restrict_neighbours(neighbours: IntArray, keep: IntArray) -> IntArray:
    """Neighbour rows over the kept accounts only (outside neighbours become the row itself)."""
    pos = np.full(neighbours.shape[0], -1, dtype=np.int64)
    pos[keep] = np.arange(len(keep))
    sub = pos[neighbours[keep]]
    own = np.arange(len(keep))[:, None]
    return np.where(sub >= 0, sub, own).astype(np.int64)


def first_split(problem: DesignProblem, start: IntArray | None = None) -> Split:
    """The split before any phase: nobody owns anything, or ``start`` (over all accounts).

    A ``start`` split becomes the only candidate, so a realignment can polish a split it
    already has without solving again; it must keep the move cap.
    """
    na = problem.n_accounts
    empty = Split(assign=np.full(na, -1, dtype=np.int64), mixed_cost=problem.base_cost)
    if start is None:
        return empty
    rep_pos = {int(j): k for k, j in enumerate(problem.active_reps)}
    warm = np.array([rep_pos[int(start[i])] for i in problem.active_accounts], dtype=np.int64)
    if problem.current is not None and problem.moves_over(warm):
        msg = "the start split moves more accounts than max_moves"
        raise ValueError(msg)
    lower, upper = problem.solve_band
    load = np.bincount(warm, weights=problem.balance, minlength=problem.n_reps)
    miss = np.maximum(lower - load, 0.0) + np.maximum(load - upper, 0.0)
    first = candidate(problem, warm, miss)
    return Split(assign=warm, mixed_cost=problem.base_cost, candidates=(first,), optimal=False)


def candidate(problem: DesignProblem, assign: IntArray, band_miss: FloatArray) -> Candidate:
    """A found split scored by balance miss (rounded: solver noise is not a difference),
    enclave accounts and travel."""
    miss = float(band_miss.sum() / problem.balance.sum())
    return Candidate(
        assign=assign,
        band_miss=round(miss, 4),
        enclaves=count_violations(problem.graph, assign, problem.balance),
        travel=problem.travel(assign),
    )
