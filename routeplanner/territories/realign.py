"""Realignment: rebalance existing territories while moving as few accounts as the manager wants.

After accounts are added or removed, reps join or leave, or frequencies change, the same MIP as
the design (see :mod:`routeplanner.territories.design`) is solved with the current owner of
every account known, and either a hard limit on moved accounts (a constraint in the MIP, so the
limit is never exceeded) or a price per move in the objective. Several limits give points on
the trade-off curve "stable" (0 moves) ... "fair" (unlimited), each with its KPIs and a
before/after comparison, so the manager picks one. One more option is always offered: moves
priced at an hour of road time (``TIDY_PRICE_S``), the fewest moves that keep every territory
in one piece; capped options start again from it when it fits their cap, and the fair option
from the best other option when that beats it (fewer enclaves, then less travel).

What counts as a move: an account that has a current rep who is still in ``reps`` and ends up
with a different rep. New accounts (in no territory) and orphans (their rep left) must be given
to someone anyway; they appear in the move list flagged ``forced`` / with ``from_rep=None`` and
never count against the limit. Locked territories stay exactly as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial

import numpy as np
from scipy.sparse import csr_matrix

from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.assign import count_moves
from routeplanner.territories.contiguity import count_violations, neighbour_graph
from routeplanner.territories.design import (
    CONTIGUOUS_FULL,
    DesignWeights,
    OptimiseResult,
    Progress,
    build_territories,
    optimise,
)
from routeplanner.territories.metrics import (
    AccountMove,
    KpiComparison,
    PlanKpis,
    assignment_kpis,
    assignment_of,
    compare_kpis,
)
from routeplanner.territories.workload import (
    IntArray,
    TerritoryContext,
    build_context,
    resolve_locks,
)
from routeplanner.travel.provider import TravelTimeProvider


@dataclass(frozen=True, slots=True, kw_only=True)
class RealignOption:
    """One point on the moves / balance / drive-time curve, ready to show and to apply."""

    label: str
    max_moves: int | None
    move_penalty_s: float | None
    territories: tuple[Territory, ...]
    kpis: PlanKpis
    comparison: KpiComparison
    within_tolerance: bool
    optimal: bool

    @property
    def moved_accounts(self) -> int:
        """Accounts taken from a rep who stays and given to another (the limited quantity)."""
        return self.comparison.moved_accounts


def realign_territories(
    current: Sequence[Territory],
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    max_moves: int | None = None,
    move_penalty: float | None = None,
    move_limits: Sequence[int | None] | None = None,
    horizon_days: int = 28,
    start: date | None = None,
    locked: Mapping[str, str] | None = None,
    weights: DesignWeights | None = None,
    tolerance: float = 0.05,
    max_iterations: int = 4,
    repair_rounds: int = 2,
    time_limit_s: float = 20.0,
    progress: Progress | None = None,
) -> list[RealignOption]:
    """Options from "stable" to "fair"; every option respects ``max_moves`` when it is given.

    Parameters
    ----------
    current
        The territories in force; accounts no longer in ``accounts`` are dropped, reps no
        longer in ``reps`` leave their accounts as orphans. ``locked`` territories stay as is.
    max_moves
        Hard cap on moved accounts for every option (options at 0, 1/4, 1/2 and all of it).
    move_penalty
        Price of one move in seconds of (visit-weighted) road time; adds a "penalised" option
        without a hard cap (or under ``max_moves`` when both are given).
    move_limits
        Explicit limits to offer instead of the defaults (``None`` = unlimited).

    Raises
    ------
    InputError
        As :func:`~routeplanner.territories.design.design_territories`, plus a negative
        ``max_moves`` or ``move_penalty``, or an account in two current territories.
    """
    problems: list[Problem] = []
    if max_moves is not None and max_moves < 0:
        problems.append(Problem("realign", None, "max_moves", "must be 0 or more"))
    if move_penalty is not None and move_penalty < 0:
        problems.append(Problem("realign", None, "move_penalty", "must be 0 or more"))
    seen: dict[str, str] = {}
    for t in current:
        for aid in t.account_ids:
            if aid in seen:
                problems.append(
                    Problem(
                        "territories",
                        None,
                        "account_id",
                        f"account {aid} is in territories {seen[aid]} and {t.territory_id}",
                    )
                )
            seen[aid] = t.territory_id
    if problems:
        raise InputError(problems)
    report = progress or (lambda _s, _f: None)
    report("travel times", 0.0)
    ctx = build_context(accounts, reps, travel, horizon_days=horizon_days, start=start)
    locked_territories = [
        t for t in current if t.locked and t.rep_id is not None and t.rep_id in ctx.rep_index
    ]
    locked_territories = [
        Territory(
            territory_id=t.territory_id,
            name=t.name,
            rep_id=t.rep_id,
            account_ids=tuple(a for a in t.account_ids if a in ctx.account_index),
            segment=t.segment,
            locked=True,
        )
        for t in locked_territories
    ]
    cur = assignment_of(ctx, current)
    fixed, frozen = resolve_locks(ctx, dict(locked or {}), locked_territories)
    old_rep = {aid: t.rep_id for t in current for aid in t.account_ids}
    ids = {t.rep_id: t.territory_id for t in current if t.rep_id is not None}
    before = assignment_kpis(
        ctx,
        cur,
        territory_ids=[ids.get(r.rep_id, f"T-{r.rep_id}") for r in ctx.reps],
        locked_reps=frozen,
    )

    n = ctx.n_accounts
    if move_limits is not None:
        limits: list[int | None] = list(move_limits)
    elif max_moves is not None:
        limits = [*sorted({0, max_moves // 4, max_moves // 2, max_moves})]
    else:
        limits = [0, max(1, n // 100), max(1, n // 30), max(1, n // 10), None]
    if max_moves is not None:
        limits = [min(x, max_moves) if x is not None else max_moves for x in limits]
        limits = list(dict.fromkeys(limits))
    plans: list[tuple[str, int | None, float | None]] = [
        ("fair (unlimited moves)" if x is None else f"at most {x} moves", x, None) for x in limits
    ]
    if move_penalty is not None:
        plans.append((f"{move_penalty:.0f} s per move", max_moves, move_penalty))

    plans.append((TIDY_LABEL, max_moves, TIDY_PRICE_S))

    weights = weights or DesignWeights()
    solve = partial(
        optimise,
        ctx,
        fixed=fixed,
        frozen=frozen,
        tolerance=tolerance,
        max_iterations=max_iterations,
        repair_rounds=repair_rounds,
        time_limit_s=time_limit_s,
        current=cur,
    )
    graph = neighbour_graph(ctx.neighbours, ctx.account_s)
    # The 0-move option first (the tidy one starts again from it), then the tidy option
    # (capped options start again from it when it fits their cap), the fair one last (it
    # starts again from the best of the others when that beats it).
    plans.sort(
        key=lambda p: (
            not (p[1] == 0 and p[2] is None),
            p[0] != TIDY_LABEL,
            p[1] is None and p[2] is None,
        )
    )
    tidy: OptimiseResult | None = None
    unmoved: OptimiseResult | None = None
    solved: list[OptimiseResult] = []
    options: list[RealignOption] = []
    for k, (label, limit, penalty) in enumerate(plans):
        report(f"option {k + 1}/{len(plans)}: {label}", k / len(plans))
        result = solve(weights=weights, max_moves=limit, move_penalty_s=penalty or 0.0)
        if np.any(result.assign < 0):
            continue  # the limit cannot be met with the locks (noted by optimise)
        if limit == 0 and penalty is None:
            unmoved = result
        if label == TIDY_LABEL:
            result = _tidy_from_unmoved(ctx, graph, cur, result, unmoved, weights, solve, limit)
            tidy = result
        elif limit is not None and tidy is not None:
            result = _from_tidy(
                ctx,
                graph,
                cur,
                result,
                tidy,
                limit,
                weights,
                solve,
                report,
                (label, k / len(plans)),
            )
        if limit is None and not penalty:
            result = _fair_from_best(
                ctx, graph, result, solved, weights, solve, report, (label, k / len(plans))
            )
            result = _fair_retry(
                ctx,
                graph,
                result,
                weights,
                solve,
                report,
                (f"{label}: again from the centre split", k / len(plans)),
            )
        solved.append(result)
        territories = build_territories(ctx, result.assign, ids=ids, frozen=frozen)
        after = assignment_kpis(
            ctx,
            result.assign,
            territory_ids=[t.territory_id for t in territories],
            locked_reps=frozen,
        )
        moves = _moves(ctx.accounts, cur, result.assign, old_rep, ctx.reps)
        options.append(
            RealignOption(
                label=label,
                max_moves=limit,
                move_penalty_s=penalty,
                territories=territories,
                kpis=after,
                comparison=compare_kpis(before, after, moves),
                within_tolerance=after.max_balance_dev_pct(weights.workload, weights.value)
                <= 100.0 * tolerance + 1e-9,
                optimal=result.optimal,
            )
        )
    report("done", 1.0)
    # Along the curve from "stable" to "fair": fewest moves first, the uncapped option last.
    options.sort(key=lambda o: (o.max_moves is None and o.move_penalty_s is None, o.moved_accounts))
    return options


TIDY_PRICE_S = 3600.0
"""Price of one move, in seconds of road time, of the option that keeps territories in one
piece with as few moves as it can. Far above what a move saves in travel (a few minutes), so
moves are bought for balance and contiguity, not for shorter drives: Heidelberg 2,000 x 10
seed 1 + 200 accounts, 12 moves and no enclaves, where a 40-move cap left 215 enclave accounts
(60 s per move: 290 moves; 600 s: 114)."""
TIDY_LABEL = f"{TIDY_PRICE_S:.0f} s per move (few moves, in one piece)"


def _from_tidy(
    ctx: TerritoryContext,
    graph: csr_matrix,
    cur: IntArray,
    result: OptimiseResult,
    tidy: OptimiseResult,
    limit: int,
    weights: DesignWeights,
    solve: Callable[..., OptimiseResult],
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult:
    """A capped option once more from the tidy split, when that fits the cap and is in fewer pieces.

    New accounts rewire the neighbour graph and cut thin chains of the old territories; a cap
    spent greedily on the worst pieces first cannot join them all again, while the tidy
    option (moves priced, not capped) often does it with a dozen moves. Starting from it, the
    polishing spends the rest of the cap on travel without adding enclaves. Kept when it has
    fewer enclaves, or as many and less travel.
    """
    if not np.all(tidy.assign >= 0) or count_moves(tidy.assign, cur) > limit:
        return result
    mine = count_violations(graph, result.assign, ctx.workload_s)
    if mine == 0 or count_violations(graph, tidy.assign, ctx.workload_s) >= mine:
        return result
    report(f"{stage[0]}: again from the {TIDY_PRICE_S:.0f} s per move split", stage[1])
    return _again_from(ctx, graph, cur, result, tidy.assign, limit, weights, solve)


def _tidy_from_unmoved(
    ctx: TerritoryContext,
    graph: csr_matrix,
    cur: IntArray,
    result: OptimiseResult,
    unmoved: OptimiseResult | None,
    weights: DesignWeights,
    solve: Callable[..., OptimiseResult],
    limit: int | None,
) -> OptimiseResult:
    """The tidy option once more from the 0-move split; the better one kept.

    From the MIP's split the repair joins every piece the new accounts cut off, often by
    handing whole strips to a neighbour, and the annealing cannot give them back one account
    at a time. The 0-move split (new accounts placed, nothing moved, enclaves left) only needs
    its own pieces joined: Heidelberg 2,000 x 10 seed 4 + 200 accounts, 12 moves at 472 s
    travel against 184 moves at 520 s. Better = fewer enclaves, then less travel plus the
    price of the moves (what the tidy option minimises). Skipped when the first split already
    has neither moves nor enclaves.
    """
    if count_moves(result.assign, cur) == 0 and _score(ctx, graph, result)[0] == 0:
        return result
    if unmoved is None:  # no 0-move option asked for (it is set only when complete)
        unmoved = solve(weights=weights, max_moves=0, move_penalty_s=0.0)
        if np.any(unmoved.assign < 0):
            return result
    again = solve(
        weights=weights, max_moves=limit, move_penalty_s=TIDY_PRICE_S, start=unmoved.assign
    )
    if np.any(again.assign < 0):
        return result

    def score(found: OptimiseResult) -> tuple[int, float]:
        enclaves, travel = _score(ctx, graph, found)
        return enclaves, travel + TIDY_PRICE_S * count_moves(found.assign, cur)

    return again if score(again) < score(result) else result


def _fair_from_best(
    ctx: TerritoryContext,
    graph: csr_matrix,
    result: OptimiseResult,
    others: Sequence[OptimiseResult],
    weights: DesignWeights,
    solve: Callable[..., OptimiseResult],
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult:
    """The uncapped option once more from the best other option, when that one beats it.

    Every other option's split is allowed to the uncapped one, but its own search starts from
    the design's LP split and can end worse: Heidelberg 2,000 x 10 seed 4 + 200 accounts,
    548 moves at 500 s travel against 40 moves at 476 s. Polished from the better split it
    is never worse than any option offered beside it (fewer enclaves first, then travel).
    """
    mine = _score(ctx, graph, result)
    scored = [(_score(ctx, graph, o), k) for k, o in enumerate(others) if np.all(o.assign >= 0)]
    if not scored or min(scored)[0] >= mine:
        return result
    best = others[min(scored)[1]]
    report(f"{stage[0]}: again from a better option's split", stage[1])
    return _again_from(ctx, graph, None, result, best.assign, None, weights, solve)


def _again_from(
    ctx: TerritoryContext,
    graph: csr_matrix,
    cur: IntArray | None,
    result: OptimiseResult,
    start: IntArray,
    limit: int | None,
    weights: DesignWeights,
    solve: Callable[..., OptimiseResult],
) -> OptimiseResult:
    """``result``'s option polished again from ``start`` (no MIP solves); the better one kept.

    Better = fewer enclaves, then less travel (``_score``); a split that misses an account or
    exceeds ``limit`` (counted against ``cur``) is never kept.
    """
    again = solve(weights=weights, max_moves=limit, move_penalty_s=0.0, start=start)
    if np.any(again.assign < 0):
        return result
    if limit is not None and count_moves(again.assign, cur) > limit:
        return result
    return again if _score(ctx, graph, again) < _score(ctx, graph, result) else result


def _score(ctx: TerritoryContext, graph: csr_matrix, result: OptimiseResult) -> tuple[int, float]:
    """(enclave accounts, total road time from home): how options are compared here."""
    travel = float(ctx.home_s[result.assign, np.arange(ctx.n_accounts)].sum())
    return (count_violations(graph, result.assign, ctx.workload_s), travel)


def _fair_retry(
    ctx: TerritoryContext,
    graph: csr_matrix,
    result: OptimiseResult,
    weights: DesignWeights,
    solve: Callable[..., OptimiseResult],
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult:
    """The uncapped option once more from the centre start, as a design of this size starts.

    Two reasons, both measured on Heidelberg 2,000 x 10 after adding 200 accounts:

    - The home start rebalances a grown split by border moves; where a territory is reached
      only through one-account-wide strips of another (a rep living far from the work), no
      border move keeps both in one piece, and the repair falls back to a split with enclaves
      (seed 4: 116-143 enclave accounts). The centre start builds rounder territories that
      the repair can balance.
    - Without enclaves the home start, or the best other option it starts again from, can
      still end far above a fresh design: seed 4, 504 s of travel against the design's 467 s,
      because the tidy split it started from had moved 184 accounts to keep territories in
      one piece. "Fair" should be what a new design would give.

    Tried when enclaves remain, and above ``CONTIGUOUS_FULL`` accounts x reps (where a design
    starts from the centre split too); kept only when better (fewer enclaves, then less
    travel), so the option never gets worse.
    """
    if weights.objective != "home" or weights.start != "auto":
        return result
    before = _score(ctx, graph, result)
    if before[0] == 0 and ctx.n_accounts * ctx.n_reps <= CONTIGUOUS_FULL:
        return result
    report(*stage)
    again = solve(weights=replace(weights, start="centre"), max_moves=None, move_penalty_s=0.0)
    if np.any(again.assign < 0):
        return result
    return again if _score(ctx, graph, again) < before else result


def _moves(
    accounts: Sequence[Account],
    cur: IntArray,
    new: IntArray,
    old_rep: Mapping[str, str | None],
    reps: Sequence[Rep],
) -> list[AccountMove]:
    out: list[AccountMove] = []
    for i, account in enumerate(accounts):
        to_rep = reps[int(new[i])].rep_id
        if cur[i] >= 0:
            if cur[i] != new[i]:
                out.append(
                    AccountMove(
                        account_id=account.account_id,
                        from_rep=reps[int(cur[i])].rep_id,
                        to_rep=to_rep,
                    )
                )
            continue
        previous = old_rep.get(account.account_id)
        out.append(
            AccountMove(
                account_id=account.account_id,
                from_rep=previous,
                to_rep=to_rep,
                forced=previous is not None,
            )
        )
    return out
