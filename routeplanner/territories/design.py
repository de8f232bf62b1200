"""Territory design from scratch: balanced workload, compact on road time, no enclaves.

A design is a list of phases run on one :class:`~.problem.DesignProblem` (see
docs/territories.md for the method and what it guarantees):

1. *Start*: the balanced assignment (LP, then an exact MIP over the few split accounts); a
   centre start re-prices it around each territory's medoid and repairs fragments, and the
   split with the fewest enclaves within the compactness slack is kept.
2. *Contiguity*: one contiguity MIP re-decides every account where that fits, then the local
   repair hands the remaining fragments over and rebalances along borders.
3. *Polish*: pairwise re-splits of touching territories, border moves and swaps, and an
   annealed local search, each kept only when it lowers travel without adding enclaves.

The phases end on convergence and step counts, so the same input gives the same design; one
:class:`~.deadline.Deadline` bounds the whole job, and its shares are only safety nets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.metrics import PlanKpis, assignment_kpis
from routeplanner.territories.polish import (
    anneal_borders,
    finish_contiguity,
    home_cost,
    mixed_cost,
)
from routeplanner.territories.problem import (
    OBJECTIVES as OBJECTIVES,
)
from routeplanner.territories.problem import (
    STARTS as STARTS,
)
from routeplanner.territories.problem import (
    DesignProblem,
    DesignWeights,
    IntArray,
    Phase,
    Progress,
    build_problem,
    first_split,
    run_phases,
)
from routeplanner.territories.regions import RegionMapper, RegionSettings
from routeplanner.territories.resplit import contiguity_mip, resplit_pairs
from routeplanner.territories.start import (
    balanced_solves,
    choose_split,
    fragment_rounds,
    local_repair,
)
from routeplanner.territories.workload import (
    TerritoryContext,
    build_context,
    resolve_locks,
)
from routeplanner.travel.provider import TravelTimeProvider

__all__ = [
    "OBJECTIVES",
    "STARTS",
    "DesignWeights",
    "OptimiseResult",
    "Progress",
    "TerritoryPlan",
    "build_territories",
    "design_phases",
    "design_territories",
    "optimise",
]

DESIGN_TIME_LIMIT_S = 600.0
"""Default limit of a whole design: 2,000 accounts converge in a fifth of it on a 2-core
machine shared with other jobs, so it only stops a machine far too slow for the data."""
DESIGN_SOLVE_LIMIT_S = 10.0
"""Longest single MIP solve of a design: each is cut there even when the job has time left,
so one hard solve cannot use up the phases after it."""
CENTRE_PAIRS_SHARE = 0.4
"""Share of what is left for the re-splits of a centre start on the centre-mixed cost; the
round on home time then gets its share of the rest."""
PAIRS_SHARE = 0.6
"""Share of what is left for the last round of pairwise re-splits; the annealing gets most
of the remainder."""


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
    time_limit_s: float | None = None,
    progress: Progress | None = None,
    regions: RegionSettings | None = None,
    map_regions: RegionMapper | None = None,
) -> TerritoryPlan:
    """Divide ``accounts`` into one territory per rep (see the module docstring for the method).

    Above ``regions`` (:class:`~.regions.RegionSettings`: 4,000 accounts and 20 reps by
    default) the design goes through regions designed as independent jobs, which
    ``map_regions`` runs (in this process by default; see :mod:`~.organisation`).

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
        Limit of the whole design, travel times included (default ``DESIGN_TIME_LIMIT_S``);
        a design that reaches it returns its best split so far.

    Raises
    ------
    InputError
        Bad accounts/reps (see ``build_context``), bad locks, or locked workload above a rep's
        capacity (see ``resolve_locks``).
    """
    deadline = Deadline.after(DESIGN_TIME_LIMIT_S if time_limit_s is None else time_limit_s)
    report = progress or _no_progress
    if not 0.0 < tolerance < 1.0:
        raise InputError(Problem("design", None, "tolerance", "must be between 0 and 1"))
    settings = regions or RegionSettings()
    if settings.applies(len(accounts), len(reps)):
        return _by_regions(
            accounts,
            reps,
            travel,
            deadline=deadline,
            horizon_days=horizon_days,
            start=start,
            locked=locked,
            locked_territories=locked_territories,
            weights=weights or DesignWeights(),
            tolerance=tolerance,
            settings=settings,
            map_regions=map_regions,
            progress=report,
        )
    report("travel times", 0.0)
    ctx = build_context(accounts, reps, travel, horizon_days=horizon_days, start=start)
    fixed, frozen = resolve_locks(ctx, dict(locked or {}), locked_territories)
    check_capacity(ctx, frozen)
    weights = weights or DesignWeights()
    result = optimise(
        ctx,
        fixed=fixed,
        frozen=frozen,
        weights=weights,
        tolerance=tolerance,
        deadline=deadline,
        solve_limit_s=DESIGN_SOLVE_LIMIT_S,
        max_iterations=max_iterations,
        repair_rounds=repair_rounds,
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


def _by_regions(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    weights: DesignWeights,
    tolerance: float,
    progress: Progress,
    locked_territories: Sequence[Territory],
    **options: Any,
) -> TerritoryPlan:
    """The organisation-scale path, as a ``TerritoryPlan``."""
    # Imported here: region jobs run ``optimise`` from this module.
    from routeplanner.territories.organisation import design_organisation

    found = design_organisation(
        accounts, reps, travel, weights=weights, tolerance=tolerance, progress=progress,
        locked_territories=locked_territories, **options,
    )  # fmt: skip
    progress("done", 1.0)
    ids = {t.rep_id: t.territory_id for t in locked_territories if t.rep_id is not None}
    return TerritoryPlan(
        territories=build_territories(
            found.context, found.assign, ids=ids, frozen=found.locked_reps
        ),
        kpis=found.kpis,
        iterations=found.regions.count,
        optimal=False,
        within_tolerance=found.kpis.max_balance_dev_pct(weights.workload, weights.value)
        <= 100.0 * tolerance + 1e-9,
        tolerance=tolerance,
        notes=(f"designed as {found.regions.count} regions", *found.notes),
    )


def _no_progress(stage: str, fraction: float) -> None:
    """Default progress callback: ignore."""


def check_capacity(ctx: TerritoryContext, frozen: frozenset[int]) -> None:
    """An error when no rep outside a locked territory has working hours."""
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
    deadline: Deadline,
    solve_limit_s: float = DESIGN_SOLVE_LIMIT_S,
    max_iterations: int = 8,
    repair_rounds: int = 8,
    current: IntArray | None = None,
    max_moves: int | None = None,
    move_penalty_s: float = 0.0,
    progress: Progress | None = None,
    start: IntArray | None = None,
) -> OptimiseResult:
    """Run the design phases on the accounts outside locked territories; shared by realignment.

    ``current``/``max_moves``/``move_penalty_s`` turn the design into a realignment: moves are
    accounts whose rep differs from ``current`` (``-1`` = no current rep, never a move).
    ``start`` (a complete split within ``max_moves``) replaces the balanced solves, which lets
    a realignment spend a cap's remaining moves on a split that is already in one piece.
    """
    assign = np.full(ctx.n_accounts, -1, dtype=np.int64)
    for i, j in fixed.items():
        if j in frozen:
            assign[i] = j
    problem = build_problem(
        ctx,
        fixed=fixed,
        frozen=frozen,
        weights=weights,
        tolerance=tolerance,
        current=current,
        max_moves=max_moves,
        move_penalty_s=move_penalty_s,
        max_iterations=max_iterations,
        repair_rounds=repair_rounds,
        solve_limit_s=solve_limit_s,
        report=progress,
    )
    if problem is None:
        return OptimiseResult(assign, 0, True, ("nothing to assign",))
    split = first_split(problem, start)
    phases = design_phases(problem, solve=start is None)
    split = run_phases(problem, split, phases, deadline)
    if split.complete:
        assign[problem.active_accounts] = problem.active_reps[split.assign]
    return OptimiseResult(assign, split.iterations, split.optimal and split.complete, split.notes)


def design_phases(problem: DesignProblem, *, solve: bool = True) -> list[Phase]:
    """The phases of one design or realignment option, in order.

    ``solve=False`` leaves out the balanced solves, for a split given to start from. The
    one-shot contiguity MIP runs only for unlimited moves (it knows no move cap or price).
    """
    phases: list[Phase] = [balanced_solves] if solve else []
    if problem.centre_start:
        phases.append(fragment_rounds)
    phases.append(choose_split)
    if problem.centre_start:
        phases.append(local_repair)
    if problem.free_moves and problem.one_shot_mip:
        phases.append(contiguity_mip)
    return phases + polish_phases(problem)


def polish_phases(problem: DesignProblem) -> list[Phase]:
    """Border repair, then rounds of pairwise re-splits, border moves and annealing.

    A centre start for the home objective is re-split on the centre-mixed cost first and
    polished on home time after: without that round the home re-splits pull it back into the
    scattered shape it was started to avoid.
    """
    if problem.centre_start and problem.weights.objective == "home":
        rounds = [(mixed_cost, CENTRE_PAIRS_SHARE, False), (home_cost, PAIRS_SHARE, True)]
    else:
        final = home_cost if problem.weights.objective == "home" else mixed_cost
        rounds = [(final, PAIRS_SHARE, True)]
    phases = [finish_contiguity(rounds[0][0])]
    for cost_of, share, anneal in rounds:
        phases += [resplit_pairs(cost_of, share), finish_contiguity(cost_of, swaps=True)]
        if anneal:
            phases.append(anneal_borders(cost_of))
    return phases
