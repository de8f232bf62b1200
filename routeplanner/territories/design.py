"""Territory design from scratch: balanced workload, compact on road time, no enclaves.

Method (what the README states it guarantees; see docs/territories.md):

1. **Cost.** Giving account i to rep j costs the road time from j's home to i: plain road
   time when the contiguity MIP takes all accounts at once, else measured *through the
   account neighbour graph* (see :mod:`routeplanner.territories.contiguity`) plus 5 % of the
   plain road time to break the many exact ties such graph distances have.
2. **Balanced assignment, solved exactly.** Every account goes to exactly one rep it is
   qualified for, every rep's workload within ``target x (1 +/- 0.9 tolerance)`` (target =
   the rep's share of the total by capacity). HiGHS (``scipy.optimize.milp``) solves the LP;
   its few split accounts are re-decided by an exact small MIP (full MIP as fallback), with
   the LP value as a certificate of the gap. Locked accounts are fixed; locked territories
   are left out. If the band is impossible (locks, move limit) the smallest total miss is
   found first, then the cheapest split with that miss.
3. **Objective.** ``home`` (default): road time from each rep's home. ``centre``: the cost
   mixes in graph distance from the territory's centre (its road medoid), re-solved as centres
   move (k-medians style), then fragments are pinned to a neighbour and re-solved. The home
   objective starts from that one home-anchored solve where the contiguity MIP takes all
   accounts at once, and above that from the centre objective's split, re-split on the
   centre-mixed cost and then polished on home time (``DesignWeights.start``: a rep living
   far from the work otherwise ends in a scattered-then-joined local optimum).
4. **Contiguity.** The contiguity MIP (shortest-path-tree constraints) re-decides every
   account up to ``CONTIGUOUS_FULL`` accounts x reps (above that the LP split goes straight
   to the repair); then
   :func:`~routeplanner.territories.contiguity.make_contiguous` joins or hands over every
   fragment left and rebalances along borders (move-aware, so capped
   realignments use it too); finally (without a move cap or price) pairs of touching
   territories are re-split by the contiguity MIP while that lowers the travel cost, and an
   annealed local search (:mod:`~routeplanner.territories.localsearch`) exchanges whole
   territories between reps and shifts or swaps border accounts on real connectivity.
5. **Same input, same design.** The re-splits run until no pair improves and the annealing
   for a fixed number of steps (two seeded paths side by side, the cheaper kept); their
   wall-clock limits are safety nets that a design reaches only on a much slower machine.

Guaranteed: every account in exactly one territory of a rep holding its required
qualifications; locks honoured; every unlocked territory within ``tolerance`` whenever the
band is reachable with the locks (else the smallest miss, reported in ``notes``); each
balanced solve within the reported gap of optimal for its cost. Enclaves are removed whenever
border moves can restore the band after the hand-overs and no lock, qualification or move cap
forbids them; any left are counted in the KPIs.
Not guaranteed: global optimality of the contiguous split (the repair and re-splits are
local search; the benchmark prints the gap to the LP bound), and exact in-route travel
(workload uses an estimate).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.assign import (
    AssignResult,
    count_moves,
    solve_assignment,
    solve_contiguous,
)
from routeplanner.territories.contiguity import (
    count_violations,
    fragments,
    graph_distances,
    make_contiguous,
    neighbour_disagreement,
    neighbour_graph,
    repair_contiguity,
)
from routeplanner.territories.localsearch import improve_travel, permute_territories
from routeplanner.territories.metrics import PlanKpis, assignment_kpis
from routeplanner.territories.workload import (
    TerritoryContext,
    build_context,
    resolve_locks,
)
from routeplanner.travel.provider import TravelTimeProvider

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
TIE_BREAK = 0.05
"""Share of plain road time added to graph distances to break ties (see ``optimise``)."""
OBJECTIVES = ("home", "centre")
"""Design objectives: road time from the rep's home (default) or from the territory's centre."""
STARTS = ("auto", "home", "centre")
"""How the home objective builds its first split (see ``DesignWeights.start``)."""
Progress = Callable[[str, float], None]
"""Progress callback: a short stage description and the fraction done (0..1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignWeights:
    """What to balance and how compactness is priced.

    ``objective``: ``"home"`` (default) minimises road time from each rep's home, which is
    what a rep drives; ``"centre"`` mixes in time from the territory's centre (rounder
    territories, more travel from home; see the benchmark). ``centre``, ``contiguity`` and
    ``compactness_slack`` apply to the ``centre`` objective only.
    ``workload`` and ``value`` weight the balanced quantity (each normalised to its total, so
    ``value=1, workload=1`` balances both equally). ``centre`` is the share of road time from
    the territory centre (vs the rep's home) in the cost; ``contiguity`` prices an account whose
    road neighbours all belong to another rep, as a multiple of the median home-account time.
    ``compactness_slack``: the design returns the split with the fewest enclaves among those
    whose cost is within this share of the most compact balanced split it found.
    ``graph_metric`` measures distance through the k-nearest-by-road graph of accounts (keeps
    territories connected) instead of plain road time (more compact, more enclaves). ``None``
    (default): plain road time for the ``home`` objective when the contiguity MIP can take all
    accounts at once (it then removes every enclave whatever the start, and plain road time is
    what is measured: sample accounts 1.08 x the LP bound vs 1.10 x), the graph otherwise
    (larger cases rely on the local repair, whose cost grows with the enclaves of its start:
    Heidelberg 2,000 x 10 needed twice the time for a result that depends on how many group
    re-splits fit in the time budget).
    ``start`` (home objective; not for capped or move-priced realignments):
    ``"home"`` starts from the balanced split nearest the homes, ``"centre"`` from the centre
    objective's split (medoid updates, then pairwise re-splits on the centre-mixed cost), both
    then polished on road time from home. A rep who lives far from the work gets, in the
    home-nearest split, a scattered set of heavy accounts; joining them drags the neighbours
    outward, a local optimum the re-splits do not leave, while the centre split places that
    territory as a compact block at the edge of the work (Heidelberg 2,000 x 10, five seeds:
    worst 1.15 x the LP bound instead of 1.27 x, equal where every rep lives near work).
    ``"auto"`` (default): ``"centre"`` for designs where the contiguity MIP cannot take all
    accounts at once (``CONTIGUOUS_FULL``), else ``"home"`` (that MIP decides every account
    itself); the "fair" realignment retries with ``"centre"`` when ``"home"`` leaves enclaves
    (see :func:`~routeplanner.territories.realign.realign_territories`).
    """

    objective: str = "home"
    workload: float = 1.0
    value: float = 0.0
    centre: float = 0.5
    contiguity: float = 0.0
    graph_metric: bool | None = None
    compactness_slack: float = 0.15
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


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryPlan:
    """A split of accounts into one territory per rep, with its KPIs and how it was found."""

    territories: tuple[Territory, ...]
    kpis: PlanKpis
    iterations: int
    optimal: bool
    within_tolerance: bool
    tolerance: float
    notes: tuple[str, ...] = field(default=())

    def assignment(self) -> dict[str, str]:
        """account_id -> rep_id for every assigned account."""
        return {
            aid: t.rep_id for t in self.territories if t.rep_id is not None for aid in t.account_ids
        }


def design_territories(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int = 28,
    start: date | None = None,
    locked: Mapping[str, str] | None = None,
    locked_territories: Sequence[Territory] = (),
    weights: DesignWeights | None = None,
    tolerance: float = 0.05,
    max_iterations: int = 8,
    repair_rounds: int = 8,
    time_limit_s: float = 10.0,
    progress: Progress | None = None,
) -> TerritoryPlan:
    """Divide ``accounts`` into one territory per rep (see the module docstring for the method).

    Parameters
    ----------
    locked
        account_id -> rep_id pins; the account stays with that rep.
    locked_territories
        Territories kept exactly as given (their rep gets no other account).
    tolerance
        Allowed relative deviation of each territory's workload (or the workload/value mix of
        ``weights``) from its capacity share.
    time_limit_s
        Per MIP solve; a solve that hits it returns its incumbent and the plan says not optimal.

    Raises
    ------
    InputError
        Bad accounts/reps (see ``build_context``), bad locks, or locked workload above a rep's
        capacity (see ``resolve_locks``).
    """
    report = progress or _no_progress
    if not 0.0 < tolerance < 1.0:
        raise InputError(Problem("design", None, "tolerance", "must be between 0 and 1"))
    report("travel times", 0.0)
    ctx = build_context(accounts, reps, travel, horizon_days=horizon_days, start=start)
    fixed, frozen = resolve_locks(ctx, dict(locked or {}), locked_territories)
    _check_capacity(ctx, frozen)
    weights = weights or DesignWeights()
    result = optimise(
        ctx,
        fixed=fixed,
        frozen=frozen,
        weights=weights,
        tolerance=tolerance,
        max_iterations=max_iterations,
        repair_rounds=repair_rounds,
        time_limit_s=time_limit_s,
        progress=report,
    )
    ids = {t.rep_id: t.territory_id for t in locked_territories if t.rep_id is not None}
    territories = build_territories(ctx, result.assign, ids=ids, frozen=frozen)
    kpis = assignment_kpis(
        ctx, result.assign, territory_ids=[t.territory_id for t in territories], locked_reps=frozen
    )
    report("done", 1.0)
    return TerritoryPlan(
        territories=territories,
        kpis=kpis,
        iterations=result.iterations,
        optimal=result.optimal,
        within_tolerance=kpis.max_balance_dev_pct(weights.workload, weights.value)
        <= 100.0 * tolerance + 1e-9,
        tolerance=tolerance,
        notes=result.notes,
    )


def _no_progress(stage: str, fraction: float) -> None:
    """Default progress callback: ignore."""


def _check_capacity(ctx: TerritoryContext, frozen: frozenset[int]) -> None:
    if not any(ctx.capacity_s[j] > 0 for j in range(ctx.n_reps) if j not in frozen):
        raise InputError(
            Problem("reps", None, "working_hours", "no unlocked rep has working hours to fill")
        )


def build_territories(
    ctx: TerritoryContext,
    assign: IntArray,
    *,
    ids: Mapping[str, str] | None = None,
    frozen: frozenset[int] = frozenset(),
) -> tuple[Territory, ...]:
    """One Territory per rep, accounts in input order; ids default to ``T-<rep_id>``."""
    ids = ids or {}
    members: list[list[str]] = [[] for _ in range(ctx.n_reps)]
    for i, j in enumerate(assign):
        if j >= 0:
            members[int(j)].append(ctx.accounts[i].account_id)
    return tuple(
        Territory(
            territory_id=ids.get(rep.rep_id, f"T-{rep.rep_id}"),
            name=rep.name or rep.rep_id,
            rep_id=rep.rep_id,
            account_ids=tuple(members[j]),
            locked=j in frozen,
        )
        for j, rep in enumerate(ctx.reps)
    )


@dataclass(frozen=True, slots=True)
class OptimiseResult:
    """Rep index per account (over the whole context) and how the search went."""

    assign: IntArray
    iterations: int
    optimal: bool
    notes: tuple[str, ...]


def optimise(
    ctx: TerritoryContext,
    *,
    fixed: Mapping[int, int],
    frozen: frozenset[int],
    weights: DesignWeights,
    tolerance: float,
    max_iterations: int = 8,
    repair_rounds: int = 8,
    time_limit_s: float = 10.0,
    current: IntArray | None = None,
    max_moves: int | None = None,
    move_penalty_s: float = 0.0,
    progress: Progress | None = None,
    start: IntArray | None = None,
) -> OptimiseResult:
    """Iterate MIP solves with centre updates, then repair enclaves; shared by realignment.

    ``current``/``max_moves``/``move_penalty_s`` turn the design into a realignment: moves are
    accounts whose rep differs from ``current`` (``-1`` = no current rep, never a move).
    ``start`` (a complete split within ``max_moves``) replaces the MIP solves: only the
    contiguity and polishing steps run from it, which lets a realignment spend a cap's
    remaining moves on a split that is already in one piece.
    """
    report = progress or _no_progress
    n, m = ctx.n_accounts, ctx.n_reps
    active_reps = np.array([j for j in range(m) if j not in frozen], dtype=np.int64)
    rep_pos = {int(j): k for k, j in enumerate(active_reps)}
    frozen_acc = {i for i, j in fixed.items() if j in frozen}
    active_acc = np.array([i for i in range(n) if i not in frozen_acc], dtype=np.int64)
    na, ma = len(active_acc), len(active_reps)
    assign_full = np.full(n, -1, dtype=np.int64)
    for i in frozen_acc:
        assign_full[i] = fixed[i]
    if na == 0 or ma == 0:
        return OptimiseResult(assign_full, 0, True, ("nothing to assign",))

    base_fixed = {k: rep_pos[fixed[int(i)]] for k, i in enumerate(active_acc) if int(i) in fixed}
    w_tot = float(ctx.workload_s[active_acc].sum()) or 1.0
    v_tot = float(ctx.value[active_acc].sum()) or 1.0
    balance = (
        weights.workload * ctx.workload_s[active_acc] / w_tot
        + weights.value * ctx.value[active_acc] / v_tot
    )
    cap = ctx.capacity_s[active_reps]
    target = balance.sum() * cap / cap.sum()
    # Solve inside a slightly narrower band so the rounding of the repair step stays inside the
    # user's tolerance.
    band = 0.9 * tolerance
    lower, upper = target * (1.0 - band), target * (1.0 + band)
    # Travel is priced per account, as the compactness KPI measures it. Weighting it by each
    # account's load (a "drive per hour of work" measure) was measured and dropped: within
    # 1.00-1.06 x its own LP bound on Heidelberg 2,000 x 10, but 2-41 % more travel per account
    # and, routed over four weeks (seed 2), 9 % more driving per visit done
    # (benchmarks/results/territories_seeds.md).
    # Measuring the distance through the neighbour graph (see contiguity.graph_distances) makes
    # each territory contain the graph path from its home to each of its accounts: connected by
    # construction, up to the few split accounts.
    home = ctx.home_s[np.ix_(active_reps, active_acc)].T  # (na, ma) plain road time
    dist = ctx.account_s[np.ix_(active_acc, active_acc)]
    sub_neighbours = _restrict_neighbours(ctx.neighbours, active_acc)
    graph = neighbour_graph(sub_neighbours, dist)
    # Graph distances tie for every account behind a common junction (all paths from two
    # homes merge there); a small share of plain road time breaks those ties geographically
    # instead of leaving them to the simplex, which interleaves tied accounts.
    # A centre start (see DesignWeights.start) builds its first split as the centre objective.
    centre_start = weights.objective == "centre" or (
        max_moves is None
        and move_penalty_s == 0.0
        and (
            weights.start == "centre"
            or (weights.start == "auto" and current is None and na * ma > CONTIGUOUS_FULL)
        )
    )
    use_graph = weights.graph_metric
    if use_graph is None:
        use_graph = centre_start or na * ma > CONTIGUOUS_FULL
    base_cost = graph_distances(graph, home.T).T + TIE_BREAK * home if use_graph else home
    scale = float(np.median(home)) if home.size else 1.0
    allowed = ctx.allowed[np.ix_(active_acc, active_reps)]
    cur = None
    if current is not None:
        cur = np.array(
            [rep_pos.get(int(current[i]), -1) if current[i] >= 0 else -1 for i in active_acc],
            dtype=np.int64,
        )

    def solve(cost: FloatArray, fix: Mapping[int, int]) -> AssignResult | None:
        if cur is not None and max_moves is not None:
            forced = sum(1 for k, j in fix.items() if cur[k] >= 0 and cur[k] != j)
            if forced > max_moves:
                return None
        return solve_assignment(
            cost,
            balance,
            lower,
            upper,
            fixed=fix,
            current=cur,
            max_moves=max_moves,
            move_penalty=move_penalty_s,
            time_limit_s=time_limit_s,
            allowed=allowed,
        )

    def quality(res: AssignResult) -> tuple[float, int, float]:
        miss = float(res.slack.sum() / balance.sum())
        viol = sum(len(f.members) for f in fragments(graph, res.assign, balance))
        travel = float(base_cost[np.arange(na), res.assign].sum())
        return (round(miss, 4), viol, travel)

    notes: list[str] = []
    optimal = True
    cost = base_cost.copy()
    candidates: list[tuple[AssignResult, tuple[float, int, float]]] = []

    def choose() -> tuple[AssignResult, tuple[float, int, float], float]:
        """Fewest enclaves among the in-band splits within the compactness slack of the best."""
        least_miss = min(q[0] for _, q in candidates)
        fair = [(r, q) for r, q in candidates if q[0] <= least_miss]
        shortest = min(q[2] for _, q in fair)
        limit = shortest * (1.0 + weights.compactness_slack)
        pick = min(((r, q) for r, q in fair if q[2] <= limit), key=lambda rq: (rq[1][1], rq[1][2]))
        return pick[0], pick[1], limit

    prev: IntArray | None = None
    iterations = 0
    total_steps = max_iterations + repair_rounds
    # The home objective from a home start prices road time from home only: one solve, no
    # centre updates.
    centre_share = weights.centre if centre_start else 0.0
    solves = max_iterations if centre_share > 0 else 1
    if start is not None:
        warm = np.array([rep_pos[int(start[i])] for i in active_acc], dtype=np.int64)
        if cur is not None and _moves_over(warm, cur, max_moves):
            msg = "the start split moves more accounts than max_moves"
            raise ValueError(msg)
        load = np.bincount(warm, weights=balance, minlength=ma)
        slack = np.maximum(lower - load, 0.0) + np.maximum(load - upper, 0.0)
        first = AssignResult(warm, True, 0.0, slack, "start")
        candidates.append((first, quality(first)))
        solves = 0
        optimal = False
    for it in range(solves):
        report(f"balanced assignment, iteration {it + 1}", it / total_steps)
        res = solve(cost, base_fixed)
        if res is None:
            break
        iterations += 1
        optimal = optimal and res.optimal
        candidates.append((res, quality(res)))
        if prev is not None and np.array_equal(prev, res.assign):
            break
        prev = res.assign
        centres = _medoids(dist, res.assign, ma)
        if use_graph:
            centre_cost = np.asarray(
                dijkstra(graph, directed=False, indices=centres), dtype=np.float64
            ).T
        else:
            centre_cost = dist[:, centres]
        cost = (1.0 - centre_share) * base_cost + centre_share * centre_cost
        if weights.contiguity > 0:
            cost = cost + weights.contiguity * scale * neighbour_disagreement(graph, res.assign, ma)
    if not candidates:
        msg = "no assignment satisfies the move limit with the given locks"
        notes.append(msg)
        return OptimiseResult(assign_full, iterations, False, tuple(notes))

    # Repair rounds: hand each fragment to the territory most of its road neighbours are in.
    state, _, _ = choose()
    fix = dict(base_fixed)
    # The home objective leaves enclaves to the contiguity steps below: re-solving with
    # fragments pinned to a neighbour costs travel and, with home prices, recreates them.
    for r in range(repair_rounds if centre_start else 0):
        frags = fragments(graph, state.assign, balance)
        if not frags:
            break
        report(f"contiguity repair, round {r + 1}", (max_iterations + r) / total_steps)
        changed = False
        for frag in frags:
            if any(k in base_fixed for k in frag.members):
                continue
            target_rep = _neighbour_territory(graph, state.assign, frag.members)
            if target_rep is None:
                continue
            if not allowed[list(frag.members), target_rep].all():
                continue
            for k in frag.members:
                fix[k] = target_rep
            changed = True
        if not changed:
            break
        cost_r = cost + weights.contiguity * scale * neighbour_disagreement(graph, state.assign, ma)
        res = solve(cost_r, fix)
        if res is None:
            break
        iterations += 1
        optimal = optimal and res.optimal
        candidates.append((res, quality(res)))
        state = res
    best, best_q, travel_limit = choose()
    # Local search: small fragments to their neighbours, then border moves back into the band.
    outer = 0.98 * tolerance
    repaired = best.assign
    if centre_start:
        repaired = repair_contiguity(
            graph,
            best.assign,
            balance,
            target * (1.0 - outer),
            target * (1.0 + outer),
            base_cost,
            fixed=frozenset(base_fixed),
            current=cur,
            max_moves=max_moves,
            max_fragment=5,
            allowed=allowed,
        )
    load = np.bincount(repaired, weights=balance, minlength=ma)
    dev = float(np.max(np.abs(load / target - 1.0))) if np.all(target > 0) else 0.0
    viol = sum(len(f.members) for f in fragments(graph, repaired, balance))
    travel = float(base_cost[np.arange(na), repaired].sum())
    if dev <= tolerance and viol < best_q[1] and travel <= travel_limit:
        best = AssignResult(repaired, best.optimal, best.mip_gap, np.zeros(ma), "repaired")
    if max_moves is None and move_penalty_s == 0.0 and best_q[0] == 0:
        best = _contiguous(
            graph,
            home,
            base_cost,
            balance,
            target * (1.0 - outer),
            target * (1.0 + outer),
            best,
            base_fixed,
            time_limit_s,
            allowed,
        )
    # Polishing phases: (cost, pairs budget, annealing budget) in seconds. A centre start for
    # the home objective is first re-split on the centre-mixed cost (rounder territories),
    # then polished on home time (see ``DesignWeights.start``).
    anneal_s = ANNEAL_BUDGET * time_limit_s
    if centre_start and weights.objective == "home":
        phases = [
            (cost, CENTRE_PAIRS_BUDGET * time_limit_s, 0.0),
            (home, (PAIRS_BUDGET - CENTRE_PAIRS_BUDGET) * time_limit_s, anneal_s),
        ]
    else:
        final_cost = home if weights.objective == "home" else cost
        phases = [(final_cost, PAIRS_BUDGET * time_limit_s, anneal_s)]
    prices = _move_prices(cur, ma, move_penalty_s)
    best = _finish_contiguity(
        graph,
        best,
        balance,
        target,
        outer,
        tolerance,
        phases[0][0] + prices,
        allowed=allowed,
        fixed=frozenset(base_fixed),
        current=cur,
        max_moves=max_moves,
    )
    # Priced moves: the annealing starts hot (a typical step costs a move) and ends wherever
    # the clock left it, so it is restarted from its result while that pays.
    rounds = PRICED_ANNEAL_ROUNDS if move_penalty_s > 0 and cur is not None else 1
    # Capped realignments are polished too: every step below keeps the move cap.
    for phase_travel, pairs_s, phase_anneal_s in phases:
        phase_cost = phase_travel + prices
        report("pairwise re-split", 0.9)
        best = _improve_pairs(
            graph,
            home,
            phase_cost,
            balance,
            target * (1.0 - outer),
            target * (1.0 + outer),
            best,
            base_fixed,
            time_limit_s,
            allowed,
            budget_s=pairs_s,
            current=cur,
            max_moves=max_moves,
        )
        # Border moves and swaps once more: the re-splits follow the tree condition, the
        # local search only real connectivity, so it finds what they cannot.
        best = _finish_contiguity(
            graph,
            best,
            balance,
            target,
            outer,
            tolerance,
            phase_cost,
            allowed=allowed,
            fixed=frozenset(base_fixed),
            current=cur,
            max_moves=max_moves,
            swaps=True,
        )
        report("local search", 0.95)
        for round_no in range(rounds if phase_anneal_s > 0 else 0):
            found = _anneal(
                graph,
                best,
                balance,
                target * (1.0 - outer),
                target * (1.0 + outer),
                phase_cost,
                allowed=allowed,
                fixed=frozenset(base_fixed),
                time_limit_s=phase_anneal_s,
                current=cur,
                max_moves=max_moves,
                first_seed=round_no * ANNEAL_PATHS,
            )
            if found is best:
                break
            best = found
    if best_q[0] > 0:
        notes.append("the balance band could not be met (locks or move limit); closest split kept")
    assign_full[active_acc] = active_reps[best.assign]
    return OptimiseResult(assign_full, iterations, optimal, tuple(notes))


def _moves_over(assign: IntArray, current: IntArray | None, max_moves: int | None) -> bool:
    """Whether ``assign`` moves more accounts away from ``current`` than ``max_moves``."""
    return max_moves is not None and count_moves(assign, current) > max_moves


def _move_prices(cur: IntArray | None, m: int, penalty: float) -> FloatArray | float:
    """``(n, m)`` price of giving each account to each rep when moves are priced, else 0."""
    if cur is None or penalty <= 0:
        return 0.0
    moved = (cur[:, None] >= 0) & (cur[:, None] != np.arange(m)[None, :])
    return np.asarray(penalty * moved, dtype=np.float64)


def _finish_contiguity(
    graph: csr_matrix,
    best: AssignResult,
    balance: FloatArray,
    target: FloatArray,
    outer: float,
    tolerance: float,
    cost: FloatArray,
    *,
    allowed: npt.NDArray[np.bool_],
    fixed: frozenset[int],
    current: IntArray | None,
    max_moves: int | None,
    swaps: bool = False,
) -> AssignResult:
    """Hand the enclaves the MIP steps left to their neighbours and rebalance along borders.

    Kept only when it stays in the band and has fewer enclaves (or as many and lower cost):
    the MIP steps already did what they could within their time, this is the cheap last word
    (see :func:`~routeplanner.territories.contiguity.make_contiguous`).
    """
    na = len(best.assign)
    found = make_contiguous(
        graph,
        best.assign,
        balance,
        target * (1.0 - outer),
        target * (1.0 + outer),
        cost,
        allowed=allowed,
        fixed=fixed,
        current=current,
        max_moves=max_moves,
        swaps=swaps,
    )

    def score(assign: IntArray) -> tuple[int, int, float]:
        load = np.bincount(assign, weights=balance, minlength=len(target))
        out = int(np.any(np.abs(load / target - 1.0) > tolerance + 1e-9))
        return (
            out,
            count_violations(graph, assign, balance),
            float(cost[np.arange(na), assign].sum()),
        )

    if score(found)[0] > 0:
        # Out of band (a move cap too tight to rebalance): only the hand-overs the band allows.
        found = make_contiguous(
            graph,
            best.assign,
            balance,
            target * (1.0 - outer),
            target * (1.0 + outer),
            cost,
            allowed=allowed,
            fixed=fixed,
            current=current,
            max_moves=max_moves,
            keep_band=True,
        )
    if score(found) < score(best.assign):
        return AssignResult(found, best.optimal, best.mip_gap, np.zeros(len(target)), "repaired")
    return best


ANNEAL_STEPS = 10_000
"""Annealing steps per account in each path of the final local search (see ``localsearch``)."""
ANNEAL_PATHS = 2
"""Annealing paths (seeds) run side by side, the cheapest kept."""
ANNEAL_BUDGET = 2.0
"""Wall-clock limit of each annealing path, in solve limits: a safety net for slow machines
(the steps normally end first, and then the result does not depend on the clock)."""
ANNEAL_MIN_TOUCH = 1
"""Road neighbours an account must have in the territory it moves to. 2 gives smoother borders,
which capped realignments (new accounts rewire the neighbour graph) cut into fewer pieces:
Heidelberg 2000/10 capped options 297 / 296 enclaves vs 425 / 411, but 300/4 travel 1.127 x
the bound vs 1.113 x; 1 is kept for compactness, the design's target."""


def _anneal(
    graph: csr_matrix,
    best: AssignResult,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    cost: FloatArray,
    *,
    allowed: npt.NDArray[np.bool_],
    fixed: frozenset[int],
    time_limit_s: float,
    current: IntArray | None = None,
    max_moves: int | None = None,
    first_seed: int = 0,
) -> AssignResult:
    """Annealed border shifts and swaps on real connectivity (see ``localsearch``).

    Kept only when it lowers the cost without adding enclaves (it keeps every territory's
    number of pieces, but the enclave count weighs pieces by load, so it is checked). With
    ``max_moves`` every step keeps the count of accounts moved from ``current`` within it.
    """
    na = len(best.assign)
    start = permute_territories(
        best.assign, balance, lower, upper, cost, allowed=allowed, fixed=fixed
    )
    if _moves_over(start, current, max_moves):
        start = best.assign
    rows = np.arange(na)

    def path(seed: int) -> IntArray:
        return improve_travel(
            graph,
            start,
            balance,
            lower,
            upper,
            cost,
            allowed=allowed,
            fixed=fixed,
            iterations=ANNEAL_STEPS * na,
            time_limit_s=time_limit_s,
            seed=seed,
            min_touch=ANNEAL_MIN_TOUCH,
            current=current,
            max_moves=max_moves,
        )

    seeds = range(first_seed, first_seed + ANNEAL_PATHS)
    # The search releases the GIL, so threads run the paths side by side; the result is the
    # same with one core (the cheapest path, the first on a tie), only slower.
    with ThreadPoolExecutor(max_workers=min(ANNEAL_PATHS, os.cpu_count() or 1)) as pool:
        runs = list(pool.map(path, seeds))
    found = min(runs, key=lambda run: float(cost[rows, run].sum()))
    if float(cost[rows, found].sum()) < float(cost[rows, best.assign].sum()) - 1e-6 and (
        count_violations(graph, found, balance) <= count_violations(graph, best.assign, balance)
    ):
        return AssignResult(found, best.optimal, best.mip_gap, best.slack, "local search")
    return best


PRICED_ANNEAL_ROUNDS = 5
"""Annealing runs at most when moves are priced (each stops the series when it finds nothing):
Heidelberg 2,000 x 10 + 200 accounts at 3,600 s per move, seed 1 went 39-78 -> 18 moved
accounts in two runs, seed 4 152 -> 129 -> 74 -> 57 -> 15 in five; in another run of seed 4
the second found nothing and it stayed at 157."""
CENTRE_PAIRS_BUDGET = 2.5
"""Wall-clock limit, in solve limits, of the re-splits of a centre start on the centre-mixed
cost, before the re-splits on home time. Without this phase the home re-splits pull the start
back into the scattered shape (Heidelberg 2,000 x 10 seeds 1 and 4: 1.16 and 1.23 x the bound,
against 1.12 and 1.15 x). A safety net: the phase normally ends when no pair improves (seed 2,
the slowest: 173 re-splits in 15.6 s), and only then is the design independent of the clock;
at 1 solve limit it was cut short on seed 2 and runs ended in two basins (1.09 / 1.11 x the
contiguous bound)."""
PAIRS_BUDGET = 4.5
"""Wall-clock limit of all pairwise re-splits, in solve limits (the home phase gets what the
centre phase leaves of it). A safety net like ``CENTRE_PAIRS_BUDGET``: Heidelberg 2,000 x 10
converges in 3-8 s on home time; with the annealing's limit it keeps a design on a machine too
slow to converge near a minute."""


def _improve_pairs(
    graph: csr_matrix,
    home: FloatArray,
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    best: AssignResult,
    fixed: Mapping[int, int],
    time_limit_s: float,
    allowed: npt.NDArray[np.bool_],
    *,
    budget_s: float,
    current: IntArray | None = None,
    max_moves: int | None = None,
) -> AssignResult:
    """Re-split each pair of touching territories with the contiguity MIP, cheapest kept.

    A large-neighbourhood search: the pair's total load is fixed, so its re-split stays in the
    band, and the MIP keeps both halves connected; a re-split is kept only when it lowers the
    cost without adding enclaves. It recovers what the local repair's border moves cannot
    (whole strips changing hands). It ends when no touching pair improves, or at
    ``budget_s`` (a safety net; see ``PAIRS_BUDGET``). Under a move cap each re-split may only
    spend the moves the rest of the split leaves (a constraint in its MIP).
    """
    assign = best.assign.copy()
    na, ma = home.shape
    locked = np.zeros(na, dtype=bool)
    locked[list(fixed)] = True
    rows = np.arange(na)
    current_cost = float(cost[rows, assign].sum())
    current_viol = count_violations(graph, assign, balance)
    deadline = time.monotonic() + budget_s
    improved = False
    # A work queue, first in first out: every touching pair once, then the pairs of the two
    # territories a kept re-split changed, at the back. Restarting from the lowest pair after
    # each change (as before) re-tried the first territories' pairs over and over and never
    # reached the last ones within the budget (Heidelberg 2,000 x 10 seed 2: 140 re-splits of
    # the home phase on 19 of the 24 touching pairs, none of territories 4, 8 and 9's pairs
    # but two).
    queue: deque[tuple[int, int]] = deque(_touching_pairs(graph, assign, range(ma)))
    queued = set(queue)
    while queue and (remaining := deadline - time.monotonic()) > 0:
        pair = queue.popleft()
        queued.discard(pair)
        found = _resplit(
            graph,
            home,
            cost,
            balance,
            lower,
            upper,
            assign,
            list(pair),
            locked,
            min(remaining, time_limit_s),
            allowed,
            current=current,
            max_moves=max_moves,
        )
        if found is None or _moves_over(found, current, max_moves):
            continue
        c = float(cost[rows, found].sum())
        viol = count_violations(graph, found, balance)
        if c < current_cost - 1e-6 and viol <= current_viol:
            assign, current_cost, current_viol, improved = found, c, viol, True
            for again in _touching_pairs(graph, assign, pair):
                if again not in queued:
                    queue.append(again)
                    queued.add(again)
    if not improved:
        return best
    return AssignResult(assign, best.optimal, best.mip_gap, np.zeros(ma), "pairs re-split")


CONTIGUOUS_FULL = 6000
"""Largest accounts x reps solved by one contiguity MIP (HiGHS finds no incumbent within a
minute for 2,000 x 10 = 20,000 binaries); larger instances go to the local repair and then
re-split pairs of touching territories."""


def _contiguous(
    graph: csr_matrix,
    home: FloatArray,
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    best: AssignResult,
    fixed: Mapping[int, int],
    time_limit_s: float,
    allowed: npt.NDArray[np.bool_],
) -> AssignResult:
    """Remove enclaves with the contiguity MIP (see ``assign.solve_contiguous``).

    Up to ``CONTIGUOUS_FULL`` accounts x reps every account is re-decided at once (no enclave
    by construction). Above that the whole MIP finds no incumbent in time and the split goes
    unchanged to the local repair: re-splitting groups of touching territories around each
    enclave was tried (20 s on Heidelberg 2,000 x 10) and gave the same final travel, and on
    another seed left 47 enclave accounts the repair could no longer remove
    (``benchmarks/results/territories_regrow.md``).
    """
    na, ma = home.shape
    if na * ma > CONTIGUOUS_FULL:
        return best
    assign = best.assign.copy()
    locked = np.zeros(na, dtype=bool)
    locked[list(fixed)] = True
    before = count_violations(graph, assign, balance)
    if before == 0:
        return best
    found = _resplit(
        graph,
        home,
        cost,
        balance,
        lower,
        upper,
        assign,
        list(range(ma)),
        locked,
        time_limit_s,
        allowed,
    )
    if found is None or count_violations(graph, found, balance) >= before:
        return best
    return AssignResult(found, best.optimal, best.mip_gap, np.zeros(ma), "contiguity MIP")


HOME_ROOTS = 3
"""Each territory's tree grows from the accounts nearest its home. With 8 roots (as for the cost)
pieces hung from the home through different roots without touching (19 enclaves on a Heidelberg
realignment); with 1 the model was infeasible on the 300/4 design; 3 gave 0 on both. Pieces
hanging from different roots are still possible, so the result is counted, never assumed."""
RESPLIT_GAP = 0.01
"""Relative MIP gap of each contiguity re-split: 1 % of travel buys many more re-splits (each
one removes enclaves) within the time budget than proving the last 0.1 %."""


def _touching_pairs(
    graph: csr_matrix, assign: IntArray, reps: Iterable[int]
) -> list[tuple[int, int]]:
    """Pairs ``(low, high)`` of territories with a road-neighbour link, one of them in ``reps``."""
    coo = graph.tocoo()
    a, b = assign[coo.row], assign[coo.col]
    wanted = list(reps)
    mask = (a < b) & (np.isin(a, wanted) | np.isin(b, wanted))
    return sorted({(int(x), int(y)) for x, y in zip(a[mask], b[mask], strict=True)})


def _resplit(
    graph: csr_matrix,
    home: FloatArray,
    cost: FloatArray,
    balance: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    assign: IntArray,
    reps: list[int],
    locked: npt.NDArray[np.bool_],
    time_limit_s: float,
    allowed: npt.NDArray[np.bool_],
    *,
    current: IntArray | None = None,
    max_moves: int | None = None,
) -> IntArray | None:
    """Re-split the accounts of ``reps`` among them with the contiguity MIP, others held.

    With ``max_moves`` the re-split spends at most what the accounts outside the group leave
    of it: moves elsewhere, and members whose current rep is not in the group, are spent
    whatever the re-split does.
    """
    members = np.nonzero(np.isin(assign, reps))[0]
    if len(members) == 0:
        return None
    local = {r: k for k, r in enumerate(reps)}
    stay: IntArray | None = None
    spare: int | None = None
    if current is not None and max_moves is not None:
        outside = np.ones(len(assign), dtype=bool)
        outside[members] = False
        owner = current[members]
        spent = int(np.sum(outside & (current >= 0) & (current != assign)))
        spent += int(np.sum((owner >= 0) & ~np.isin(owner, reps)))
        spare = max_moves - spent
        if spare < 0:
            return None
        stay = np.array([local.get(int(r), -1) for r in owner], dtype=np.int64)
    sub = csr_matrix(graph[members][:, members])
    rep_idx = np.asarray(reps, dtype=np.int64)
    sub_home = home[np.ix_(members, rep_idx)]
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
    start = np.array([local[int(assign[i])] for i in members], dtype=np.int64)
    found = solve_contiguous(
        cost[np.ix_(members, rep_idx)],
        balance[members],
        lower[rep_idx],
        upper[rep_idx],
        neighbours_indptr=sub.indptr.astype(np.int64),
        neighbours=sub.indices.astype(np.int64),
        home_dist=own,
        home_links=links,
        start=start,
        # Accounts no home of the group reaches inside the group (pieces lying in other
        # territories) stay where they are.
        free=~locked[members] & np.isfinite(own).any(axis=1),
        time_limit_s=time_limit_s,
        mip_rel_gap=RESPLIT_GAP,
        allowed=allowed[np.ix_(members, rep_idx)],
        stay=stay,
        max_moved=spare,
    )
    if found is None:
        return None
    out = assign.copy()
    out[members] = rep_idx[found]
    return out


def _restrict_neighbours(neighbours: IntArray, keep: IntArray) -> IntArray:
    """Neighbour lists over the kept accounts only (drop neighbours outside, pad with self)."""
    pos = np.full(neighbours.shape[0], -1, dtype=np.int64)
    pos[keep] = np.arange(len(keep))
    sub = pos[neighbours[keep]]
    own = np.arange(len(keep))[:, None]
    return np.where(sub >= 0, sub, own).astype(np.int64)


def _medoids(dist: FloatArray, assign: IntArray, m: int) -> IntArray:
    """Per territory the member with the least total road time to the other members."""
    centres = np.zeros(m, dtype=np.int64)
    for j in range(m):
        members = np.nonzero(assign == j)[0]
        if len(members) == 0:
            centres[j] = 0
            continue
        sub = dist[np.ix_(members, members)]
        centres[j] = members[int(np.argmin(sub.sum(axis=1)))]
    return centres


def _neighbour_territory(graph: csr_matrix, assign: IntArray, members: Sequence[int]) -> int | None:
    """The territory owning most road neighbours of a fragment (outside the fragment)."""
    inside = set(members)
    own = int(assign[members[0]])
    counts: dict[int, int] = {}
    for k in members:
        for nb in graph.indices[graph.indptr[k] : graph.indptr[k + 1]]:
            if int(nb) in inside:
                continue
            rep = int(assign[nb])
            if rep != own:
                counts[rep] = counts.get(rep, 0) + 1
    if not counts:
        return None
    return max(sorted(counts), key=lambda r: counts[r])
