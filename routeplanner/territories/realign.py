"""Realignment: rebalance existing territories while moving as few accounts as the manager wants.

After accounts are added or removed, reps join or leave, or frequencies change, the design's
phases (see :mod:`routeplanner.territories.design`) run with the current owner of every
account known, and either a hard limit on moved accounts (a constraint in every step, so it is
never exceeded) or a price per move. Several limits give points on the curve from "stable"
(0 moves) to "fair" (unlimited), each with its KPIs and a before/after comparison, so the
manager picks one. One more option is always offered: moves priced at ``TIDY_PRICE_S``, the
fewest moves that keep every territory in one piece; capped options start again from it when it
fits their cap, and the fair option from the best other option when that beats it.

What counts as a move: an account that has a current rep who is still in ``reps`` and ends up
with a different rep. New accounts (in no territory) and orphans (their rep left, or lacks a
qualification the account now requires) must be given to someone anyway; they appear in the
move list flagged ``forced`` / with ``from_rep=None`` and never count against the limit.
Locked territories stay exactly as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from scipy.sparse import csr_matrix

from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.assign import count_moves
from routeplanner.territories.contiguity import count_violations, neighbour_graph
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import (
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
from routeplanner.territories.problem import fits_one_mip
from routeplanner.territories.regions import RegionMapper, RegionSettings
from routeplanner.territories.workload import (
    IntArray,
    TerritoryContext,
    build_context,
    resolve_locks,
)
from routeplanner.travel.provider import TravelTimeProvider

REALIGN_TIME_LIMIT_S = 1800.0
"""Default limit of a whole realignment: it solves every option (some twice), each about as
long as a design, and this leaves each of them room to converge on a busy machine."""
REALIGN_SOLVE_LIMIT_S = 20.0
"""Longest single MIP solve of a realignment: a move cap makes the balanced solve harder than
a design's, so it gets twice the design's."""
TIDY_PRICE_S = 3600.0
"""Price of one move, in seconds of road time, of the option that keeps territories in one
piece with few moves: far above what a move saves in travel, so moves are bought for balance
and contiguity, not for shorter drives."""
TIDY_LABEL = f"{TIDY_PRICE_S:.0f} s per move (few moves, in one piece)"
STEP_SHARES = (100, 30, 10)
"""Default move limits besides 0 and unlimited: 1 %, about 3 % and 10 % of the accounts, a few
points along the curve from stable to fair."""
CAP_SHARES = (4, 2)
"""With a cap given, options at a quarter and a half of it besides 0 and the cap itself."""
OWN_SHARE = 0.5
"""Share of an option's time for its own solve when a second one from another split may
follow; the second gets what is left."""


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
    notes: tuple[str, ...] = ()
    """How the option was found, when there is something to say (an organisation's regions)."""

    @property
    def moved_accounts(self) -> int:
        """Accounts taken from a rep who stays and given to another (the limited quantity)."""
        return self.comparison.moved_accounts


@dataclass(frozen=True, slots=True)
class RealignAsk:
    """One option asked for: its label, move cap and price per move (plain data: each region
    job of an organisation's realignment carries its share of every ask)."""

    label: str
    limit: int | None
    penalty: float | None

    @property
    def unmoved(self) -> bool:
        return self.limit == 0 and self.penalty is None

    @property
    def fair(self) -> bool:
        return self.limit is None and not self.penalty


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
    time_limit_s: float | None = None,
    progress: Progress | None = None,
    regions: RegionSettings | None = None,
    map_regions: RegionMapper | None = None,
) -> list[RealignOption]:
    """Options from "stable" to "fair"; every option respects ``max_moves`` when it is given.

    Above ``regions`` (:class:`~.regions.RegionSettings`: 4,000 accounts and 20 reps by
    default) the realignment goes through regions of whole current territories, realigned as
    independent jobs that ``map_regions`` runs (see :mod:`~.org_realign`).

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
    time_limit_s
        Limit of the whole realignment (default ``REALIGN_TIME_LIMIT_S``), shared out among
        the options still to solve.

    Raises
    ------
    InputError
        As :func:`~routeplanner.territories.design.design_territories`, plus a negative
        ``max_moves`` or ``move_penalty``, or an account in two current territories.
    """
    deadline = Deadline.after(REALIGN_TIME_LIMIT_S if time_limit_s is None else time_limit_s)
    check_realign_inputs(current, max_moves, move_penalty)
    asks = realign_asks(len(accounts), max_moves, move_penalty, move_limits)
    settings = regions or RegionSettings()
    if settings.applies(len(accounts), len(reps)):
        # Imported here: the region jobs run ``realign_on_context`` from this module.
        from routeplanner.territories.org_realign import realign_organisation

        return realign_organisation(
            current, accounts, reps, travel, asks,
            deadline=deadline, horizon_days=horizon_days, start=start, locked=locked or {},
            weights=weights or DesignWeights(), tolerance=tolerance, settings=settings,
            map_regions=map_regions, progress=progress,
        )  # fmt: skip
    if progress is not None:
        progress("travel times", 0.0)
    ctx = build_context(accounts, reps, travel, horizon_days=horizon_days, start=start)
    return realign_on_context(
        ctx, current, asks, locked=locked or {}, weights=weights or DesignWeights(),
        tolerance=tolerance, max_iterations=max_iterations, repair_rounds=repair_rounds,
        deadline=deadline, progress=progress,
    )  # fmt: skip


def realign_on_context(
    ctx: TerritoryContext,
    current: Sequence[Territory],
    asks: Sequence[RealignAsk],
    *,
    locked: Mapping[str, str],
    weights: DesignWeights,
    tolerance: float,
    deadline: Deadline,
    max_iterations: int = 4,
    repair_rounds: int = 2,
    progress: Progress | None = None,
) -> list[RealignOption]:
    """The options ``asks`` on a prepared context, in :func:`solve_order`; an option whose
    limit cannot be met with the locks is left out. Sorted from "stable" to "fair"."""
    report = progress or (lambda _s, _f: None)
    job = _Realignment.of(
        ctx,
        current,
        locked,
        weights=weights,
        tolerance=tolerance,
        max_iterations=max_iterations,
        repair_rounds=repair_rounds,
    )
    ordered = solve_order(asks)
    options: list[RealignOption] = []
    solved = _Solved()
    for k, ask in enumerate(ordered):
        report(f"option {k + 1}/{len(ordered)}: {ask.label}", k / len(ordered))
        stage = (ask.label, k / len(ordered))
        share = deadline.share(1 / (len(ordered) - k))
        result = _solve_option(job, ask, solved, share, report, stage)
        if result is not None:
            options.append(job.option(ask, result))
    report("done", 1.0)
    # Along the curve from "stable" to "fair": fewest moves first, the uncapped option last.
    options.sort(key=lambda o: (o.max_moves is None and o.move_penalty_s is None, o.moved_accounts))
    return options


def check_realign_inputs(
    current: Sequence[Territory], max_moves: int | None, move_penalty: float | None
) -> None:
    """Every problem with the arguments at once: negative limits, an account in two territories."""
    problems: list[Problem] = []
    if max_moves is not None and max_moves < 0:
        problems.append(Problem("realign", None, "max_moves", "must be 0 or more"))
    if move_penalty is not None and move_penalty < 0:
        problems.append(Problem("realign", None, "move_penalty", "must be 0 or more"))
    seen: dict[str, str] = {}
    for t in current:
        for aid in t.account_ids:
            if aid in seen:
                message = f"account {aid} is in territories {seen[aid]} and {t.territory_id}"
                problems.append(Problem("territories", None, "account_id", message))
            seen[aid] = t.territory_id
    if problems:
        raise InputError(problems)


def current_locks(
    ctx: TerritoryContext, current: Sequence[Territory], pins: Mapping[str, str]
) -> tuple[dict[int, int], frozenset[int]]:
    """The pins and the current locked territories (cut to the accounts ``ctx`` knows, of
    reps still in it) as fixed account indices and frozen rep indices."""
    locked_territories = [
        replace(t, account_ids=tuple(a for a in t.account_ids if a in ctx.account_index))
        for t in current
        if t.locked and t.rep_id is not None and t.rep_id in ctx.rep_index
    ]
    return resolve_locks(ctx, dict(pins), locked_territories)


def realign_asks(
    n: int,
    max_moves: int | None,
    move_penalty: float | None,
    move_limits: Sequence[int | None] | None,
) -> list[RealignAsk]:
    """The options to solve, in the order they build on each other.

    The 0-move option first (the tidy one starts again from it), then the tidy option (capped
    options start again from it when it fits their cap), the fair one last (it starts again
    from the best of the others when that beats it).
    """
    if move_limits is not None:
        limits: list[int | None] = list(move_limits)
    elif max_moves is not None:
        limits = [*sorted({0, *(max_moves // d for d in CAP_SHARES), max_moves})]
    else:
        limits = [0, *(max(1, n // d) for d in STEP_SHARES), None]
    if max_moves is not None:
        limits = list(dict.fromkeys(max_moves if x is None else min(x, max_moves) for x in limits))
    asks = [
        RealignAsk("fair (unlimited moves)" if x is None else f"at most {x} moves", x, None)
        for x in limits
    ]
    if move_penalty is not None:
        asks.append(RealignAsk(f"{move_penalty:.0f} s per move", max_moves, move_penalty))
    asks.append(RealignAsk(TIDY_LABEL, max_moves, TIDY_PRICE_S))
    return solve_order(asks)


def solve_order(asks: Sequence[RealignAsk]) -> list[RealignAsk]:
    """``asks`` in the order they build on each other (see :func:`realign_asks`)."""
    return sorted(asks, key=lambda a: (not a.unmoved, a.label != TIDY_LABEL, a.fair))


@dataclass(slots=True)
class _Solved:
    """The options solved so far that later ones start again from."""

    unmoved: OptimiseResult | None = None
    tidy: OptimiseResult | None = None
    others: list[OptimiseResult] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Realignment:
    """What every option of one realignment shares: the context, locks and current split."""

    ctx: TerritoryContext
    graph: csr_matrix
    cur: IntArray
    fixed: Mapping[int, int]
    frozen: frozenset[int]
    weights: DesignWeights
    tolerance: float
    max_iterations: int
    repair_rounds: int
    ids: Mapping[str, str]
    old_rep: Mapping[str, str | None]
    before: PlanKpis

    @classmethod
    def of(
        cls,
        ctx: TerritoryContext,
        current: Sequence[Territory],
        locked: Mapping[str, str],
        *,
        weights: DesignWeights,
        tolerance: float,
        max_iterations: int,
        repair_rounds: int,
    ) -> _Realignment:
        """The shared part, from the current territories (locked ones cut to known accounts)."""
        cur = assignment_of(ctx, current)
        fixed, frozen = current_locks(ctx, current, locked)
        ids = {t.rep_id: t.territory_id for t in current if t.rep_id is not None}
        before = assignment_kpis(
            ctx,
            cur,
            territory_ids=[ids.get(r.rep_id, f"T-{r.rep_id}") for r in ctx.reps],
            locked_reps=frozen,
        )
        return cls(
            ctx=ctx,
            graph=neighbour_graph(ctx.neighbours, ctx.account_s),
            cur=staying(ctx, cur),
            fixed=fixed,
            frozen=frozen,
            ids=ids,
            old_rep={aid: t.rep_id for t in current for aid in t.account_ids},
            before=before,
            weights=weights,
            tolerance=tolerance,
            max_iterations=max_iterations,
            repair_rounds=repair_rounds,
        )

    def solve(
        self,
        deadline: Deadline,
        *,
        max_moves: int | None,
        move_penalty_s: float,
        weights: DesignWeights | None = None,
        start: IntArray | None = None,
    ) -> OptimiseResult:
        """One run of the design phases for an option; an account left at ``-1`` means the
        option's limit cannot be met with the locks."""
        return optimise(
            self.ctx,
            fixed=self.fixed,
            frozen=self.frozen,
            weights=weights or self.weights,
            tolerance=self.tolerance,
            deadline=deadline,
            solve_limit_s=REALIGN_SOLVE_LIMIT_S,
            max_iterations=self.max_iterations,
            repair_rounds=self.repair_rounds,
            current=self.cur,
            max_moves=max_moves,
            move_penalty_s=move_penalty_s,
            start=start,
        )

    def score(self, result: OptimiseResult) -> tuple[int, float]:
        """(enclave accounts, total road time from home): how options are compared here."""
        travel = float(self.ctx.home_s[result.assign, np.arange(self.ctx.n_accounts)].sum())
        return (count_violations(self.graph, result.assign, self.ctx.workload_s), travel)

    def option(self, ask: RealignAsk, result: OptimiseResult) -> RealignOption:
        """The option as shown: territories, KPIs before and after, and the moves between."""
        ctx = self.ctx
        territories = build_territories(ctx, result.assign, ids=self.ids, frozen=self.frozen)
        after = assignment_kpis(
            ctx,
            result.assign,
            territory_ids=[t.territory_id for t in territories],
            locked_reps=self.frozen,
        )
        moves = account_moves(ctx.accounts, self.cur, result.assign, self.old_rep, ctx.reps)
        deviation = after.max_balance_dev_pct(self.weights.workload, self.weights.value)
        return RealignOption(
            label=ask.label,
            max_moves=ask.limit,
            move_penalty_s=ask.penalty,
            territories=territories,
            kpis=after,
            comparison=compare_kpis(self.before, after, moves),
            within_tolerance=deviation <= 100.0 * self.tolerance + 1e-9,
            optimal=result.optimal,
        )


def _solve_option(
    job: _Realignment,
    ask: RealignAsk,
    solved: _Solved,
    deadline: Deadline,
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult | None:
    """Solve one option, then again from a better split where one is known; None when its
    limit cannot be met with the locks (noted by ``optimise``)."""
    may_retry = (
        ask.label == TIDY_LABEL or ask.fair or (ask.limit is not None and solved.tidy is not None)
    )
    own = deadline.share(OWN_SHARE) if may_retry else deadline
    result = job.solve(own, max_moves=ask.limit, move_penalty_s=ask.penalty or 0.0)
    if np.any(result.assign < 0):
        return None
    if ask.unmoved:
        solved.unmoved = result
    if ask.label == TIDY_LABEL:
        result = _tidy_from_unmoved(job, result, solved.unmoved, ask.limit, deadline)
        solved.tidy = result
    elif ask.limit is not None and solved.tidy is not None:
        result = _from_tidy(job, result, solved.tidy, ask.limit, deadline, report, stage)
    if ask.fair:
        result = _fair_from_best(job, result, solved.others, deadline.share(0.5), report, stage)
        retry_stage = (f"{ask.label}: again from the centre split", stage[1])
        result = _fair_retry(job, result, deadline, report, retry_stage)
    solved.others.append(result)
    return result


def _from_tidy(
    job: _Realignment,
    result: OptimiseResult,
    tidy: OptimiseResult,
    limit: int,
    deadline: Deadline,
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult:
    """A capped option again from the tidy split, when that fits the cap and has fewer enclaves.

    New accounts rewire the neighbour graph and cut thin chains of the old territories; a cap
    spent on the worst pieces first cannot join them all again, while the tidy option often
    does it with a dozen moves, leaving the rest of the cap for travel.
    """
    if not np.all(tidy.assign >= 0) or count_moves(tidy.assign, job.cur) > limit:
        return result
    workload = job.ctx.workload_s
    mine = count_violations(job.graph, result.assign, workload)
    if mine == 0 or count_violations(job.graph, tidy.assign, workload) >= mine:
        return result
    if deadline.expired():
        return result
    report(f"{stage[0]}: again from the {TIDY_PRICE_S:.0f} s per move split", stage[1])
    return _again_from(job, result, tidy.assign, limit, deadline, cur=job.cur)


def _tidy_from_unmoved(
    job: _Realignment,
    result: OptimiseResult,
    unmoved: OptimiseResult | None,
    limit: int | None,
    deadline: Deadline,
) -> OptimiseResult:
    """The tidy option again from the 0-move split; the better one kept.

    From the MIP's split the repair joins the pieces new accounts cut off by handing whole
    strips to a neighbour, which the annealing cannot give back one account at a time; the
    0-move split only needs its own pieces joined. Better = fewer enclaves, then less travel
    plus the price of the moves (what the tidy option minimises).
    """
    if count_moves(result.assign, job.cur) == 0 and job.score(result)[0] == 0:
        return result
    if deadline.expired():
        return result
    if unmoved is None:  # no 0-move option asked for (it is set only when complete)
        unmoved = job.solve(deadline.share(OWN_SHARE), max_moves=0, move_penalty_s=0.0)
        if np.any(unmoved.assign < 0):
            return result
    again = job.solve(deadline, max_moves=limit, move_penalty_s=TIDY_PRICE_S, start=unmoved.assign)
    if np.any(again.assign < 0):
        return result

    def score(found: OptimiseResult) -> tuple[int, float]:
        enclaves, travel = job.score(found)
        return enclaves, travel + TIDY_PRICE_S * count_moves(found.assign, job.cur)

    return again if score(again) < score(result) else result


def _fair_from_best(
    job: _Realignment,
    result: OptimiseResult,
    others: Sequence[OptimiseResult],
    deadline: Deadline,
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult:
    """The uncapped option again from the best other option, when that one beats it.

    Every other option's split is open to the uncapped one, but its own search starts from
    the LP split and can end worse; polished from the better split it is never worse than an
    option offered beside it (fewer enclaves first, then travel).
    """
    mine = job.score(result)
    scored = [(job.score(o), k) for k, o in enumerate(others) if np.all(o.assign >= 0)]
    if not scored or min(scored)[0] >= mine or deadline.expired():
        return result
    best = others[min(scored)[1]]
    report(f"{stage[0]}: again from a better option's split", stage[1])
    return _again_from(job, result, best.assign, None, deadline, cur=None)


def _again_from(
    job: _Realignment,
    result: OptimiseResult,
    start: IntArray,
    limit: int | None,
    deadline: Deadline,
    *,
    cur: IntArray | None,
) -> OptimiseResult:
    """``result``'s option polished again from ``start`` (no balanced solves); the better kept.

    Better = fewer enclaves, then less travel; a split that misses an account or moves more
    than ``limit`` (counted against ``cur``) is never kept.
    """
    again = job.solve(deadline, max_moves=limit, move_penalty_s=0.0, start=start)
    if np.any(again.assign < 0):
        return result
    if limit is not None and count_moves(again.assign, cur) > limit:
        return result
    return again if job.score(again) < job.score(result) else result


def _fair_retry(
    job: _Realignment,
    result: OptimiseResult,
    deadline: Deadline,
    report: Progress,
    stage: tuple[str, float],
) -> OptimiseResult:
    """The uncapped option again from the centre start, as a large design starts.

    The home start rebalances a grown split by border moves, which cannot keep a territory
    reached only through thin strips of another in one piece; and from the split it started
    again from it can end far above a fresh design. "Fair" should be what a new design gives.
    Tried when enclaves remain or above ``CONTIGUOUS_FULL``; kept only when better.
    """
    weights = job.weights
    if weights.objective != "home" or weights.start != "auto" or deadline.expired():
        return result
    before = job.score(result)
    if before[0] == 0 and fits_one_mip(job.ctx.n_accounts, job.ctx.n_reps):
        return result
    report(*stage)
    again = job.solve(
        deadline, weights=replace(weights, start="centre"), max_moves=None, move_penalty_s=0.0
    )
    if np.any(again.assign < 0):
        return result
    return again if job.score(again) < before else result


def staying(ctx: TerritoryContext, cur: IntArray) -> IntArray:
    """The current split as moves count from: ``-1`` (no rep to stay with) where the current
    rep lacks a qualification the account requires, so placing it elsewhere is forced, not a
    move a cap holds back."""
    owned = np.flatnonzero(cur >= 0)
    out = cur.copy()
    out[owned[~ctx.allowed[owned, cur[owned]]]] = -1
    return out


def account_moves(
    accounts: Sequence[Account],
    cur: IntArray,
    new: IntArray,
    old_rep: Mapping[str, str | None],
    reps: Sequence[Rep],
) -> list[AccountMove]:
    """Every account whose rep changes from ``cur`` to ``new``: a move when its rep stays, else
    forced (its rep left or may no longer keep it: ``-1`` in ``cur``, see :func:`staying`) or
    new (it had none, ``from_rep=None``)."""
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
