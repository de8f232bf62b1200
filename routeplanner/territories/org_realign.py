"""Realignment at organisation scale: regions of whole territories realigned as independent jobs.

Above :class:`~.regions.RegionSettings` a realignment, like a design (:mod:`~.organisation`),
never builds one road-time matrix or one LP over all accounts:

1. *Regions of whole territories*: the current territories are grouped by the same bisection
   that cuts a design's regions, run on the territories themselves (each a point at its
   accounts' centre, joined to the territories its road cells touch, locked to its rep), so a
   region holds at most ``reps_per_region`` reps with their whole current territories: the
   current split is the best start, and its moves are what the manager counts. An account with
   no current rep (new, or its rep left) goes to the region of the nearest owned account, a
   locked account to its rep's region; then, since placing an account without a rep is no
   move, those on region borders pass from regions over their reps' capacity share to
   neighbours under it (:mod:`~.region_balance`, every owned account held).
2. *Region jobs*: each region is realigned by the single path
   (:func:`~.realign.realign_on_context`) on its own accounts and reps, as a job with plain
   data in and out, through the mapper design region jobs use. Like a design's region job, it
   measures its accounts' road neighbours and per-visit travel by the organisation's rule
   (:mod:`~.org_graph`) from one matrix whose columns reach their candidates in other regions,
   and realigns on the rule's graph restricted to its region. Every region gets the
   organisation's asks with each move limit, less what step 4 holds back, shared out by the
   region's movable accounts (largest remainders, so the shares add up exactly).
3. *Balance across regions*: when a region's workload lies off its reps' capacity share, the
   fair option is realigned on regions rebalanced by border moves (:mod:`~.region_balance`),
   in extra jobs for the regions that changed, and then polished along region borders.
4. *Across region borders within a cap*: a capped or priced option is then brought toward
   the band by moves between neighbouring territories (:mod:`~.band_moves`), across region
   borders too, each counted against the option's cap; the region jobs get the cap less what
   those moves are estimated to need before the jobs start (the fewest flows that bring the
   current territories into the band), so the total never exceeds it.
5. *Options*: the organisation's option k is the union of the regions' option k (after step
   4), with KPIs and moves counted on the whole organisation.

Steps 3 to 5 work on the organisation's graph and workloads by the rule: the jobs' road
neighbours and travel, and the road cells of all accounts; the graph and workloads
:func:`~.metrics.compute_kpis` measures an applied option on. The stable option moves nothing
(new and orphaned accounts are only placed); the fair option is realigned on rebalanced
regions and polished along their borders. A region job that fails twice, or has too little
time for its road times, leaves that region's territories as they are (accounts without a rep
go to the region's nearest rep), named in the notes; no move enters or leaves them or a locked
territory. Its accounts are measured by the rule here instead (within the time the border
polish would have; what is left unmeasured is noted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Self

import numpy as np
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.assign import count_moves
from routeplanner.territories.band_moves import band_moves, band_need
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import build_territories
from routeplanner.territories.metrics import (
    PlanKpis,
    assignment_kpis,
    assignment_of,
    compare_kpis,
)
from routeplanner.territories.org_graph import (
    candidates,
    graph_of,
    home_lat_lon,
    lat_lon,
    measure_unmeasured,
    organisation_context,
    region_context,
    region_reach,
    with_travel,
)
from routeplanner.territories.organisation import (
    POLISH_SHARE,
    REGION_BAND,
    REGIONS_SHARE,
    balance_shares,
    polish_borders,
)
from routeplanner.territories.problem import DesignWeights, IntArray, Progress
from routeplanner.territories.realign import (
    TIDY_LABEL,
    RealignAsk,
    RealignOption,
    account_moves,
    current_locks,
    realign_on_context,
    staying,
)
from routeplanner.territories.regions import (
    RegionMapper,
    RegionReach,
    RegionSettings,
    RegionSplit,
    local_xy,
    qualified_regions,
    run_in_turn,
    split_regions,
    to_capacity_share,
)
from routeplanner.territories.workload import (
    FloatArray,
    TerritoryContext,
)
from routeplanner.travel.provider import TravelTimeProvider

ATTEMPTS = 2
"""A region job runs at most twice in this process, as on the Ray workers."""
Key = tuple[int | None, float | None]
"""An ask as a region job knows it: its move limit there and its price per move."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RealignJob:
    """One region's realignment: plain data only, so any process or machine can run it."""

    region: int
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    current: tuple[Territory, ...]
    """The region's territories, cut to the job's accounts (others are new to the job)."""
    asks: tuple[RealignAsk, ...]
    horizon_days: int
    start: date | None
    tolerance: float
    weights: DesignWeights
    locked: tuple[tuple[str, str], ...]
    time_limit_s: float
    reach: RegionReach
    """What the job's road times must reach to measure the organisation's rule for its
    accounts (:mod:`~.org_graph`)."""

    def with_time_limit(self, seconds: float) -> Self:
        return replace(self, time_limit_s=seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionOption:
    """A region's answer to one ask: the rep of each of the job's accounts (job order)."""

    limit: int | None
    penalty: float | None
    rep_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RealignResult:
    """What a region job found: its options, the travel one visit of each account costs
    (job order) and each account's pairs with its road neighbours (organisation indices,
    neighbours in other regions too), both by the organisation's rule (:mod:`~.org_graph`),
    and notes. ``kept``: the job failed and its region keeps its territories; it measured
    nothing (no travel, no pairs)."""

    region: int
    options: tuple[RegionOption, ...]
    travel_estimate_s: tuple[float, ...]
    neighbour_pairs: tuple[tuple[int, int], ...]
    notes: tuple[str, ...]
    kept: bool = False

    def option(self, key: Key) -> tuple[str, ...] | None:
        for found in self.options:
            if (found.limit, found.penalty) == key:
                return found.rep_ids
        return None


def realign_region(job: RealignJob, travel: TravelTimeProvider) -> RealignResult:
    """The single-path realignment of one region on the organisation's rule restricted to
    it (:func:`~.org_graph.region_context`), or its territories kept when its time runs out
    before its road times are in."""
    deadline = Deadline.after(job.time_limit_s)
    measured = region_context(job, travel, deadline)
    if measured is None:
        return kept_region(job, "had too little time for its road times")
    ctx, pairs = measured
    found = realign_on_context(
        ctx,
        job.current,
        job.asks,
        locked=dict(job.locked),
        weights=job.weights,
        tolerance=job.tolerance,
        deadline=deadline,
    )
    options = []
    for option in found:
        owner = {aid: t.rep_id for t in option.territories for aid in t.account_ids}
        rep_ids = tuple(str(owner[a.account_id]) for a in job.accounts)
        options.append(
            RegionOption(limit=option.max_moves, penalty=option.move_penalty_s, rep_ids=rep_ids)
        )
    return RealignResult(
        region=job.region,
        options=tuple(options),
        travel_estimate_s=tuple(float(t) for t in ctx.travel_estimate_s),
        neighbour_pairs=tuple((int(a), int(b)) for a, b in pairs),
        notes=(),
    )


def kept_region(job: RealignJob, reason: str) -> RealignResult:
    """A region whose job gave no options: its territories stay as they are."""
    note = f"region {job.region + 1} {reason}: its territories are kept as they are"
    return RealignResult(
        region=job.region,
        options=(),
        travel_estimate_s=(),
        neighbour_pairs=(),
        notes=(note,),
        kept=True,
    )


def region_runner(travel: TravelTimeProvider) -> Callable[[RealignJob], RealignResult]:
    """A runner realigning region jobs in this process on ``travel``: a job that raises is
    tried once more, then its region keeps its territories (as the Ray mapper does)."""

    def run(job: RealignJob) -> RealignResult:
        reason = ""
        for _ in range(ATTEMPTS):
            try:
                return realign_region(job, travel)
            except Exception as exc:  # any failure: the region keeps its territories
                reason = f"{type(exc).__name__}: {exc}"
        return kept_region(job, f"failed twice ({reason})")

    return run


def realign_organisation(
    current: Sequence[Territory],
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    asks: Sequence[RealignAsk],
    *,
    deadline: Deadline,
    horizon_days: int,
    start: date | None,
    locked: Mapping[str, str],
    weights: DesignWeights,
    tolerance: float,
    settings: RegionSettings,
    map_regions: RegionMapper | None = None,
    progress: Progress | None = None,
    border_moves: bool = True,
) -> list[RealignOption]:
    """The options ``asks`` through regions of whole territories (see the module docstring);
    ``border_moves=False`` keeps capped and priced options inside their regions (as measured).

    Raises
    ------
    InputError
        As :func:`~.realign.realign_territories` for bad accounts, reps or locks.
    """
    report = progress or (lambda _stage, _fraction: None)
    report("regions of the current territories", 0.0)
    ctx, pairs = organisation_context(
        accounts, reps, travel, horizon_days=horizon_days, start=start
    )
    org = _Organisation.of(ctx, current, locked, pairs, weights, tolerance)
    regions = territory_regions(org, settings.reps_per_region)
    balanced = balanced_regions(org, regions)
    reserve = org.band_need() if border_moves else 0  # held back from the jobs' caps
    plan = _JobPlan.of(org, regions, balanced, asks, (horizon_days, start), reserve)
    jobs_deadline = deadline.share(REGIONS_SHARE)
    jobs = plan.jobs(jobs_deadline, settings.parallel)
    report(f"realigning {regions.count} regions in {len(jobs)} jobs", 0.05)
    results = _run_jobs(jobs, travel, jobs_deadline, map_regions)
    report("options of the organisation", 0.8)
    measured, graph, measure_notes = org.measured(
        plan, results, travel, deadline.share(POLISH_SHARE)
    )
    before = org.before(measured, graph)
    kept = frozenset(int(j) for job, r in enumerate(results) if r.kept for j in plan.reps[job])
    notes = (
        f"realigned as {regions.count} regions",
        *(n for r in results for n in r.notes),
        *measure_notes,
    )
    split = RegionSplit(account_region=balanced, rep_region=regions.rep_region)
    options = []
    for k, ask in enumerate(asks):
        report(f"option {k + 1}/{len(asks)}: {ask.label}", 0.8 + 0.2 * k / len(asks))
        assign, extra = org.across_regions(
            ask, plan.assemble(ask, results), (measured, graph), split, kept,
            deadline=deadline, border_moves=border_moves,
        )  # fmt: skip
        if ask.limit is not None and count_moves(assign, org.cur) > ask.limit:
            continue  # a pin across regions took more than the cap: never offered
        options.append(org.option(measured, graph, before, ask, assign, (*notes, *extra)))
    report("done", 1.0)
    options.sort(key=lambda o: (o.max_moves is None and o.move_penalty_s is None, o.moved_accounts))
    return options


def _run_jobs(
    jobs: list[RealignJob],
    travel: TravelTimeProvider,
    deadline: Deadline,
    map_regions: RegionMapper | None,
) -> list[RealignResult]:
    """The jobs' results: through ``map_regions``, else one after the other in this process."""
    if map_regions is None:
        return run_in_turn(region_runner(travel), jobs, deadline)
    return list(map_regions(region_runner(travel), jobs))


@dataclass(frozen=True, slots=True, kw_only=True)
class _Organisation:
    """What every region and option of one realignment shares: the organisation's context
    (no all-pairs matrix), its road-cell pairs, every account's candidates for road
    neighbours (:func:`~.org_graph.candidates`), the current split and the locks."""

    ctx: TerritoryContext
    pairs: IntArray
    near: IntArray
    cur: IntArray
    fixed: Mapping[int, int]
    frozen: frozenset[int]
    current: tuple[Territory, ...]
    pins: Mapping[str, str]
    ids: Mapping[str, str]
    weights: DesignWeights
    tolerance: float
    xy: FloatArray
    home_xy: FloatArray

    @classmethod
    def of(
        cls,
        ctx: TerritoryContext,
        current: Sequence[Territory],
        pins: Mapping[str, str],
        pairs: IntArray,
        weights: DesignWeights,
        tolerance: float,
    ) -> _Organisation:
        fixed, frozen = current_locks(ctx, current, pins)
        lat, lon = lat_lon(ctx.accounts)
        home_lat, home_lon = home_lat_lon(ctx.reps)
        xy = local_xy(np.concatenate([lat, home_lat]), np.concatenate([lon, home_lon]))
        return cls(
            ctx=ctx,
            pairs=pairs,
            near=candidates(local_xy(lat, lon)),
            cur=staying(ctx, assignment_of(ctx, current)),
            fixed=fixed,
            frozen=frozen,
            current=tuple(current),
            pins=dict(pins),
            ids={t.rep_id: t.territory_id for t in current if t.rep_id is not None},
            weights=weights,
            tolerance=tolerance,
            xy=xy[: ctx.n_accounts],
            home_xy=xy[ctx.n_accounts :],
        )

    @property
    def balance(self) -> FloatArray:
        return balance_shares(self.ctx, self.weights)

    def account_graph(self) -> csr_matrix:
        """The symmetric graph of the accounts' road-cell pairs."""
        return graph_of(self.ctx.n_accounts, self.pairs)

    def place_qualified(
        self, account_region: IntArray, rep_region: IntArray, held: Mapping[int, int]
    ) -> None:
        """Every account in a region with an open rep holding its required qualifications,
        the regions rebalanced around those that moved (:func:`~.regions.qualified_regions`);
        in place."""
        qualified_regions(
            account_region, rep_region, self.ctx.allowed, (self.xy, self.home_xy),
            self.account_graph(), (self.balance, self.ctx.capacity_s), held, closed=self.frozen,
        )  # fmt: skip

    def measured(
        self,
        plan: _JobPlan,
        results: Sequence[RealignResult],
        travel: TravelTimeProvider,
        deadline: Deadline,
    ) -> tuple[TerritoryContext, csr_matrix, tuple[str, ...]]:
        """The context and graph the options are judged on (:func:`measured_organisation`)."""
        return measured_organisation(
            self.ctx, self.pairs, self.near, (plan.members, results), travel, deadline
        )

    def polish(
        self,
        measured: TerritoryContext,
        graph: csr_matrix,
        assign: IntArray,
        regions: RegionSplit,
        kept: frozenset[int],
        deadline: Deadline,
    ) -> tuple[IntArray, tuple[str, ...]]:
        """The fair option's border polish (:func:`~.organisation.polish_borders`), with no
        account moved into or out of a locked territory or one of the ``kept`` reps (of a
        region whose job failed)."""
        if deadline.expired():
            return assign, ()
        return polish_borders(
            measured, graph, assign, balance_shares(measured, self.weights), regions,
            self.tolerance, fixed=frozenset(self.fixed), still=self.frozen | kept,
            deadline=deadline,
        )  # fmt: skip

    def band_need(self) -> int:
        """About how many moves bring the current territories into the band (accounts
        without a rep with the nearest owned account's): what each cap holds back from the
        region jobs for :meth:`toward_band`."""
        assign, owned = self.cur.copy(), self.cur >= 0
        lost = np.flatnonzero(~owned)
        if len(lost) and owned.any():
            _, near = cKDTree(self.xy[owned]).query(self.xy[lost])
            assign[lost] = self.cur[np.flatnonzero(owned)[near]]
        elif len(lost):
            return 0
        for i, j in self.fixed.items():
            assign[i] = j
        return band_need(
            assign, self.account_graph(), self.balance, self.ctx.capacity_s,
            band=REGION_BAND * self.tolerance, still=self.frozen, fixed=frozenset(self.fixed),
        )  # fmt: skip

    def across_regions(
        self,
        ask: RealignAsk,
        assign: IntArray,
        measured: tuple[TerritoryContext, csr_matrix],
        regions: RegionSplit,
        kept: frozenset[int],
        *,
        deadline: Deadline,
        border_moves: bool,
    ) -> tuple[IntArray, tuple[str, ...]]:
        """An option's split after its moves across region borders: the fair option polished
        along them (within ``deadline``), a capped or priced one brought toward the band
        (unless not ``border_moves``), and notes."""
        ctx, graph = measured
        if ask.fair:
            return self.polish(ctx, graph, assign, regions, kept, deadline.share(POLISH_SHARE))
        if border_moves:
            return self.toward_band(ctx, graph, assign, ask, kept), ()
        return assign, ()

    def toward_band(
        self,
        measured: TerritoryContext,
        graph: csr_matrix,
        assign: IntArray,
        ask: RealignAsk,
        kept: frozenset[int],
    ) -> IntArray:
        """A capped or priced option's territories brought toward the band across region
        borders (:func:`~.band_moves.band_moves`) with the moves its cap leaves (any for a
        price per move), none into or out of a locked territory or a failed region's."""
        budget = None if ask.limit is None else ask.limit - count_moves(assign, self.cur)
        return band_moves(
            assign, self.cur, graph, balance_shares(measured, self.weights),
            measured.capacity_s, measured.home_s, band=REGION_BAND * self.tolerance, budget=budget,
            still=self.frozen | kept, fixed=frozenset(self.fixed), allowed=measured.allowed,
        )  # fmt: skip

    def option(
        self,
        measured: TerritoryContext,
        graph: csr_matrix,
        before: PlanKpis,
        ask: RealignAsk,
        assign: IntArray,
        notes: tuple[str, ...],
    ) -> RealignOption:
        """The option as shown: territories, KPIs before and after over the whole
        organisation, and the moves between."""
        territories = build_territories(measured, assign, ids=self.ids, frozen=self.frozen)
        after = assignment_kpis(
            measured,
            assign,
            territory_ids=[t.territory_id for t in territories],
            locked_reps=self.frozen,
            graph=graph,
        )
        old_rep = {aid: t.rep_id for t in self.current for aid in t.account_ids}
        moves = account_moves(measured.accounts, self.cur, assign, old_rep, measured.reps)
        deviation = after.max_balance_dev_pct(self.weights.workload, self.weights.value)
        return RealignOption(
            label=ask.label,
            max_moves=ask.limit,
            move_penalty_s=ask.penalty,
            territories=territories,
            kpis=after,
            comparison=compare_kpis(before, after, moves),
            within_tolerance=deviation <= 100.0 * self.tolerance + 1e-9,
            optimal=False,
            notes=notes,
        )

    def before(self, measured: TerritoryContext, graph: csr_matrix) -> PlanKpis:
        """KPIs of the current split on the measured context."""
        ids = [self.ids.get(r.rep_id, f"T-{r.rep_id}") for r in measured.reps]
        was = assignment_of(measured, self.current)
        return assignment_kpis(
            measured, was, territory_ids=ids, locked_reps=self.frozen, graph=graph
        )


def measured_organisation(
    ctx: TerritoryContext,
    pairs: IntArray,
    near: IntArray,
    jobs: tuple[Sequence[IntArray], Sequence[RealignResult]],
    travel: TravelTimeProvider,
    deadline: Deadline,
) -> tuple[TerritoryContext, csr_matrix, tuple[str, ...]]:
    """The organisation's context and graph by its rule (:mod:`~.org_graph`) after the region
    jobs (``jobs``: each job's accounts, organisation indices, and its result): each account's
    travel and road neighbours as the first job that measured it found them (its home
    region's, else a rebalanced region's), the road-cell ``pairs``, and the accounts no job
    measured (their regions were kept) measured here from ``near`` (every account's
    candidates) until ``deadline``; and notes of what that time left unmeasured."""
    estimate = ctx.travel_estimate_s.copy()
    seen = np.zeros(ctx.n_accounts, dtype=bool)
    found: list[IntArray] = [pairs.reshape(-1, 2)]
    for acc, result in zip(*jobs, strict=True):
        if result.kept:
            continue
        fresh = ~seen[acc]
        estimate[acc[fresh]] = np.asarray(result.travel_estimate_s, dtype=np.float64)[fresh]
        own = np.asarray(result.neighbour_pairs, dtype=np.int64).reshape(-1, 2)
        found.append(own[np.isin(own[:, 0], acc[fresh])])
        seen[acc] = True
    return measure_unmeasured(
        with_travel(ctx, estimate), np.concatenate(found), np.flatnonzero(~seen), travel, near,
        deadline,
    )  # fmt: skip


def territory_regions(org: _Organisation, reps_per_region: int) -> RegionSplit:
    """Regions of whole current territories (see the module docstring); accounts without a
    current rep in the region of the nearest owned account, locked ones in their rep's."""
    ctx, cur = org.ctx, org.cur
    m, owned = ctx.n_reps, org.cur >= 0
    count = np.bincount(cur[owned], minlength=m).astype(np.float64)
    sums = np.column_stack(
        [np.bincount(cur[owned], weights=org.xy[owned, d], minlength=m) for d in (0, 1)]
    )
    centre = np.where(count[:, None] > 0, sums / np.maximum(count, 1.0)[:, None], org.home_xy)
    load = np.bincount(cur[owned], weights=org.balance[owned], minlength=m).astype(np.float64)
    a, b = org.pairs[:, 0], org.pairs[:, 1]
    across = owned[a] & owned[b] & (cur[a] != cur[b])
    touching = np.sort(np.column_stack([cur[a[across]], cur[b[across]]]), axis=1)
    territory_pairs = np.unique(touching, axis=0).reshape(-1, 2).astype(np.int64)
    split = split_regions(
        centre, load, centre, ctx.capacity_s,
        reps_per_region=reps_per_region, road_pairs=territory_pairs,
        locks={j: j for j in range(m)},
    )  # fmt: skip
    rep_region = split.rep_region
    account_region = np.zeros(ctx.n_accounts, dtype=np.int64)
    account_region[owned] = rep_region[cur[owned]]
    lost = np.flatnonzero(~owned)
    if len(lost):
        if owned.any():
            _, near = cKDTree(org.xy[owned]).query(org.xy[lost])
            account_region[lost] = account_region[np.flatnonzero(owned)[near]]
        else:
            _, near = cKDTree(org.home_xy).query(org.xy[lost])
            account_region[lost] = rep_region[near]
    for i, j in org.fixed.items():
        account_region[i] = rep_region[j]
    # Placing an account without a rep is no move: those on region borders go where they
    # bring regions nearer their reps' share (a region that lost a rep gives its orphans on).
    held = np.flatnonzero(owned).tolist() + list(org.fixed)
    _rebalance(org, account_region, rep_region, dict.fromkeys(held, 0))
    org.place_qualified(account_region, rep_region, dict.fromkeys(held, 0))
    return RegionSplit(account_region=account_region, rep_region=rep_region)


def balanced_regions(org: _Organisation, regions: RegionSplit) -> IntArray:
    """The accounts' regions with border accounts moved until each region holds its reps'
    capacity share (:func:`~.region_balance.rebalance_regions`); locked accounts stay."""
    region = regions.account_region.copy()
    _rebalance(org, region, regions.rep_region, org.fixed)
    org.place_qualified(region, regions.rep_region, org.fixed)
    return region


def _rebalance(
    org: _Organisation, region: IntArray, rep_region: IntArray, held: Mapping[int, int]
) -> None:
    """``region`` (in place) with border accounts but ``held`` ones moved until each region
    holds its reps' capacity share (:func:`~.regions.to_capacity_share`)."""
    to_capacity_share(
        region, rep_region, org.account_graph(), (org.balance, org.ctx.capacity_s), held
    )


def share_out(total: int, sizes: IntArray) -> IntArray:
    """``total`` split in proportion to ``sizes`` by largest remainders: the parts add up to
    ``total`` exactly (equal parts when every size is 0)."""
    weights = sizes.astype(np.float64) if sizes.sum() > 0 else np.ones(len(sizes))
    exact = total * weights / weights.sum()
    parts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - parts), kind="stable")
    parts[order[: total - int(parts.sum())]] += 1
    return np.asarray(parts, dtype=np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class _JobPlan:
    """The region jobs of one realignment: for each, its accounts and reps (organisation
    indices) and the region key of every organisation ask it answers. ``home[k]`` is region
    k's job on its own territories (asked everything but, when ``fair`` names another job for
    it, the fair option, which that job answers on the rebalanced region). Each cap, less the
    ``reserve`` held back for the moves toward the band, is shared out among the regions."""

    org: _Organisation
    region: list[int]
    members: list[IntArray]
    reps: list[IntArray]
    asks: list[tuple[RealignAsk, ...]]
    keys: list[dict[str, Key]]
    home: list[int]
    fair: dict[int, int]
    horizon_days: int
    start: date | None

    @classmethod
    def of(
        cls,
        org: _Organisation,
        regions: RegionSplit,
        balanced: IntArray,
        asks: Sequence[RealignAsk],
        horizon: tuple[int, date | None],
        reserve: int,
    ) -> _JobPlan:
        movable = (org.cur >= 0) & ~np.isin(org.cur, np.array(sorted(org.frozen), dtype=np.int64))
        sizes = np.bincount(regions.account_region[movable], minlength=regions.count)
        limits = [
            None if a.limit is None else share_out(a.limit - min(a.limit, reserve), sizes)
            for a in asks
        ]
        plan = cls(
            org=org, region=[], members=[], reps=[], asks=[], keys=[], home=[], fair={},
            horizon_days=horizon[0], start=horizon[1],
        )  # fmt: skip
        moved = []
        for k in range(regions.count):
            acc, rep = regions.members(k)
            changed = not np.array_equal(acc, np.flatnonzero(balanced == k))
            mine = [
                (a, None if lim is None else int(lim[k]))
                for a, lim in zip(asks, limits, strict=True)
                if not (a.fair and changed)
            ]
            plan.home.append(plan._add(k, acc, rep, mine))
            if changed:
                moved.append(k)
        for k in moved:
            fair = [(a, None) for a in asks if a.fair]
            if fair:
                plan.fair[k] = plan._add(
                    k, np.flatnonzero(balanced == k), regions.members(k)[1], fair
                )
        return plan

    def _add(
        self,
        region: int,
        acc: IntArray,
        rep: IntArray,
        asks: Sequence[tuple[RealignAsk, int | None]],
    ) -> int:
        """One more job; the organisation's asks that come to the same region key are asked
        once (under the tidy label when it is one of them: the realignment treats it apart)."""
        keyed: dict[Key, RealignAsk] = {}
        keys: dict[str, Key] = {}
        for ask, limit in asks:
            key = (limit, ask.penalty)
            keys[ask.label] = key
            if key not in keyed or ask.label == TIDY_LABEL:
                keyed[key] = RealignAsk(ask.label, limit, ask.penalty)
        self.region.append(region)
        self.members.append(acc)
        self.reps.append(rep)
        self.asks.append(tuple(keyed.values()))
        self.keys.append(keys)
        return len(self.members) - 1

    def jobs(self, deadline: Deadline, parallel: int) -> list[RealignJob]:
        """The jobs as plain data, each with its share of ``deadline`` (``parallel`` run at
        once: a mapper that runs them side by side gives each the time it says)."""
        org, ctx = self.org, self.org.ctx
        count = len(self.members)
        per_job = deadline.remaining() * min(parallel, count) / count
        jobs = []
        for job, (acc, rep) in enumerate(zip(self.members, self.reps, strict=True)):
            account_ids = {ctx.accounts[int(i)].account_id for i in acc}
            rep_ids = {ctx.reps[int(j)].rep_id for j in rep}
            current = tuple(
                replace(t, account_ids=tuple(a for a in t.account_ids if a in account_ids))
                for t in org.current
                if t.rep_id in rep_ids
            )
            jobs.append(
                RealignJob(
                    region=self.region[job],
                    accounts=tuple(ctx.accounts[int(i)] for i in acc),
                    reps=tuple(ctx.reps[int(j)] for j in rep),
                    current=current,
                    asks=self.asks[job],
                    horizon_days=self.horizon_days,
                    start=self.start,
                    tolerance=REGION_BAND * org.tolerance,
                    weights=org.weights,
                    locked=tuple(
                        (a, r)
                        for a, r in sorted(org.pins.items())
                        if a in account_ids and r in rep_ids
                    ),
                    time_limit_s=per_job,
                    reach=region_reach(ctx.accounts, acc, org.near, org.pairs),
                )
            )
        return jobs

    def assemble(self, ask: RealignAsk, results: Sequence[RealignResult]) -> IntArray:
        """The organisation's split for ``ask``: each region's answer to it (the fair one
        from the rebalanced region's job when there is one), else the region's stable
        option, else its current territories."""
        assign = np.full(self.org.ctx.n_accounts, -1, dtype=np.int64)
        rep_index = self.org.ctx.rep_index
        for k, home in enumerate(self.home):
            job = self.fair.get(k, home) if ask.fair else home
            result, key = results[job], self.keys[job].get(ask.label)
            rep_ids = result.option(key) if key is not None else None
            if rep_ids is None:
                rep_ids = result.option((0, None))
            if rep_ids is None:
                assign[self.members[job]] = self.kept(job)
            else:
                assign[self.members[job]] = [rep_index[r] for r in rep_ids]
        return assign

    def kept(self, job: int) -> IntArray:
        """A job's accounts with their current (or locked) rep; an account with neither goes
        to the nearest rep of the region whose territory is not locked."""
        org, acc, rep = self.org, self.members[job], self.reps[job]
        out = org.cur[acc].copy()
        for position, i in enumerate(acc):
            if int(i) in org.fixed:
                out[position] = org.fixed[int(i)]
        open_reps = rep[~np.isin(rep, np.array(sorted(org.frozen), dtype=np.int64))]
        choice = open_reps if len(open_reps) else rep
        lost = out < 0
        if lost.any():
            home_s = org.ctx.home_s[choice][:, acc[lost]]
            home_s = np.where(org.ctx.allowed[np.ix_(acc[lost], choice)].T, home_s, np.inf)
            out[lost] = choice[np.argmin(home_s, axis=0)]
        return out
