"""Territory design at organisation scale: regions designed as independent jobs, then a polish
along their borders.

Above :class:`~.regions.RegionSettings` (4,000 accounts and 20 reps by default) one design
over all accounts would need every pair of road times (20,000 accounts: 400 million) and an
assignment LP too large to finish in useful time. Instead:

1. *Regions* (:mod:`~.regions`): groups of whole reps with about their capacity share of the
   workload, each one piece on the road network, cut over the accounts and reps outside
   locked territories (which stay as they are); an account whose region has no rep holding
   its required qualifications goes to the region of the nearest rep who does.
2. *Region jobs*: each region's territories are designed by the single path, with a share of
   the tolerance (``REGION_BAND``), through a job mapper (in process by default, a cluster
   when the caller gives one). A job measures its accounts' road neighbours and per-visit
   travel by the organisation's rule (:mod:`~.org_graph`) from one matrix whose columns reach
   their candidates in other regions (the job's halo), and designs on the rule's graph
   restricted to its region; the organisation keeps those figures as its workloads and graph.
   A job whose time runs out before its road times are in cuts its region into one piece per
   rep instead, and the organisation measures that region's accounts itself (within the
   polish's time; what is left unmeasured is noted).
3. *Border polish*: on the organisation's graph (every account's road neighbours by the rule
   and the road cells of all accounts: the graph :func:`~.metrics.compute_kpis` measures the
   design on later), enclaves are joined with the
   loads passed on into the band (:mod:`~.enclave_repair`), then, for what that leaves, by
   border moves among the territories along region borders, out of band or with enclaves;
   then an annealing run moves and swaps accounts of the territories that touch another
   region's. Each step is kept only when it adds no
   enclave and stays in the band (or brings a territory into it).

The job's one deadline bounds the region jobs and the polish; what every split needs (checking
the input, cutting the regions, measuring the result) runs whatever the time.

Travel from home is the drive from the home to the account here (one direction: the way back
would need a search from every account); the region jobs use both directions as the single
path does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.sparse import csr_matrix

from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.bridging import bridged_graph, open_enclaves, restricted_accounts
from routeplanner.territories.contiguity import count_violations, fragments, make_contiguous
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import DESIGN_SOLVE_LIMIT_S, check_capacity, optimise
from routeplanner.territories.enclave_repair import join_enclaves_in_band
from routeplanner.territories.localsearch import improve_travel
from routeplanner.territories.metrics import PlanKpis, assignment_kpis
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
from routeplanner.territories.problem import REPAIR_BAND, DesignWeights, IntArray, Progress
from routeplanner.territories.regions import (
    RegionJob,
    RegionMapper,
    RegionResult,
    RegionRunner,
    RegionSettings,
    RegionSplit,
    local_xy,
    qualified_regions,
    run_in_turn,
    split_regions,
)
from routeplanner.territories.workload import (
    BoolArray,
    FloatArray,
    TerritoryContext,
    account_value,
    rep_capacity_s,
    resolve_locks,
    visits_in,
)
from routeplanner.travel.provider import TravelTimeProvider

REGION_BAND = 0.8
"""Share of the tolerance each region's design aims for: the rest absorbs how far a region's
workload lies from its reps' capacity share, which the straight-line cut only approximates."""
REGIONS_SHARE = 0.75
"""Share of what is left of the job after the regions are cut that the region designs may use
together; the border polish gets the rest."""
POLISH_SHARE = 0.95
"""Share of what is left after the region designs that the border polish may use: the rest is
for measuring the result (enclaves and loads over the whole organisation's graph)."""
BORDER_ANNEAL_STEPS = 2000
"""Annealing steps per account of the territories along region borders."""
CUT_NOTE = "a region had too little time for its road times and was cut into territories"
BORDER_SEED = 0
"""Seed of the border annealing: the same input gives the same design."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganisationDesign:
    """An organisation's split: rep index per account, its KPIs, the context and graph it was
    measured on (workloads as the region jobs measured them) and the notes of every step."""

    assign: IntArray
    kpis: PlanKpis
    context: TerritoryContext
    graph: csr_matrix
    regions: RegionSplit
    locked_reps: frozenset[int]
    notes: tuple[str, ...]


def design_organisation(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    deadline: Deadline,
    horizon_days: int = 28,
    start: date | None = None,
    locked: Mapping[str, str] | None = None,
    locked_territories: Sequence[Territory] = (),
    weights: DesignWeights | None = None,
    tolerance: float = 0.05,
    settings: RegionSettings | None = None,
    map_regions: RegionMapper | None = None,
    progress: Progress | None = None,
) -> OrganisationDesign:
    """Regions, their designs as jobs through ``map_regions``, then the border polish.

    ``locked_territories`` stay exactly as given: their accounts and reps are in no region,
    and the polish moves nothing into or out of them.

    Raises
    ------
    InputError
        As ``design_territories`` does for bad accounts, reps or locks.
    """
    settings = settings or RegionSettings()
    weights = weights or DesignWeights()
    report = progress or (lambda _stage, _fraction: None)
    report("regions", 0.0)
    ctx, pairs = organisation_context(
        accounts, reps, travel, horizon_days=horizon_days, start=start
    )
    fixed, frozen = resolve_locks(ctx, dict(locked or {}), locked_territories)
    check_capacity(ctx, frozen)
    xy = local_xy(*lat_lon(ctx.accounts))
    regions = open_regions(
        ctx, xy, balance_shares(ctx, weights), pairs, fixed, frozen, settings.reps_per_region
    )
    regions_deadline = deadline.share(REGIONS_SHARE)
    near = candidates(xy)
    jobs = region_jobs(
        ctx, regions, fixed, weights, tolerance, regions_deadline, settings, start,
        road_pairs=pairs, near=near,
    )  # fmt: skip
    report(f"designing {len(jobs)} regions", 0.05)
    if map_regions is None:
        results = run_in_turn(region_runner(travel), jobs, regions_deadline)
    else:
        results = list(map_regions(region_runner(travel), jobs))
    ctx, assign, graph_pairs, unmeasured = _assemble(ctx, regions, results, pairs, fixed)
    report("polishing region borders", 0.8)
    polish_deadline = deadline.share(POLISH_SHARE)
    ctx, graph, measure_notes = measure_unmeasured(
        ctx, graph_pairs, unmeasured, travel, near, polish_deadline
    )
    balance = balance_shares(ctx, weights)
    assign, polish_notes = polish_borders(
        ctx, graph, assign, balance, regions, tolerance, fixed=frozenset(fixed), still=frozen,
        deadline=polish_deadline,
    )  # fmt: skip
    kpis = assignment_kpis(ctx, assign, graph=graph, locked_reps=frozen)
    notes = [n for r in results for n in r.notes]
    return OrganisationDesign(
        assign=assign,
        kpis=kpis,
        context=ctx,
        graph=graph,
        regions=regions,
        locked_reps=frozen,
        notes=(*dict.fromkeys(notes), *measure_notes, *polish_notes),
    )


def open_regions(
    ctx: TerritoryContext,
    xy: FloatArray,
    balance: FloatArray,
    road_pairs: IntArray,
    fixed: Mapping[int, int],
    frozen: frozenset[int],
    reps_per_region: int,
) -> RegionSplit:
    """Regions (:func:`~.regions.split_regions`) of the accounts and reps outside locked
    territories, which get region ``-1``. An account whose region has no rep holding its
    required qualifications then goes to a region with one (:func:`~.regions.place_qualified`),
    and the regions are brought back to their capacity share around it
    (:func:`~.regions.qualified_regions`)."""
    n, m = ctx.n_accounts, ctx.n_reps
    locked_out = np.array(sorted(i for i, j in fixed.items() if j in frozen), dtype=np.int64)
    acc = np.setdiff1d(np.arange(n), locked_out)
    rep = np.array([j for j in range(m) if j not in frozen], dtype=np.int64)
    position = np.full(n, -1, dtype=np.int64)
    position[acc] = np.arange(len(acc))
    rep_position = np.full(m, -1, dtype=np.int64)
    rep_position[rep] = np.arange(len(rep))
    pairs = road_pairs.reshape(-1, 2)
    pairs = position[pairs[np.all(position[pairs] >= 0, axis=1)]]
    home_xy = local_xy(*home_lat_lon(ctx.reps))[rep]
    locks = {int(position[i]): int(rep_position[j]) for i, j in fixed.items() if j not in frozen}
    capacity = ctx.capacity_s[rep]
    cut = split_regions(
        xy[acc], balance[acc], home_xy, capacity,
        reps_per_region=reps_per_region, locks=locks, road_pairs=pairs,
    )  # fmt: skip
    region = cut.account_region.copy()
    qualified_regions(
        region, cut.rep_region, ctx.allowed[np.ix_(acc, rep)], (xy[acc], home_xy),
        graph_of(len(acc), pairs), (balance[acc], capacity), locks,
    )  # fmt: skip
    account_region = np.full(n, -1, dtype=np.int64)
    account_region[acc] = region
    rep_region = np.full(m, -1, dtype=np.int64)
    rep_region[rep] = cut.rep_region
    return RegionSplit(account_region=account_region, rep_region=rep_region)


def region_runner(travel: TravelTimeProvider) -> RegionRunner:
    """A runner designing region jobs on ``travel`` (what a worker process would hold)."""

    def run(job: RegionJob) -> RegionResult:
        return design_region(job, travel)

    return run


def design_region(job: RegionJob, travel: TravelTimeProvider) -> RegionResult:
    """The single-path design of one region's accounts among its reps, or, when the job's time
    runs out before its road times are in, its region cut into one piece per rep."""
    deadline = Deadline.after(job.time_limit_s)
    measured = region_context(job, travel, deadline)
    if measured is None:
        return cut_region(job)
    ctx, pairs = measured
    fixed, frozen = resolve_locks(ctx, dict(job.locked), ())
    result = optimise(
        ctx,
        fixed=fixed,
        frozen=frozen,
        weights=job.weights,
        tolerance=job.tolerance,
        deadline=deadline,
        solve_limit_s=DESIGN_SOLVE_LIMIT_S,
    )
    return RegionResult(
        region=job.region,
        rep_ids=tuple(ctx.reps[int(j)].rep_id for j in result.assign),
        travel_estimate_s=tuple(float(t) for t in ctx.travel_estimate_s),
        neighbour_pairs=tuple((int(a), int(b)) for a, b in pairs),
        notes=result.notes,
        measured=True,
    )


def cut_region(job: RegionJob) -> RegionResult:
    """A region's territories without road times: the bisection that cut the regions, down to
    one rep each, on the organisation's travel guess. Balanced on that guess and one piece
    each on the road cells; the border polish takes it from there."""
    horizon = job.horizon_days
    visits = np.array([visits_in(a, horizon) for a in job.accounts], dtype=np.float64)
    service = np.array([a.visit_duration_s for a in job.accounts], dtype=np.float64)
    workload = visits * (service + np.asarray(job.travel_estimate_s, dtype=np.float64))
    value = np.array([account_value(a) for a in job.accounts], dtype=np.float64)
    balance = job.weights.workload * workload / (float(workload.sum()) or 1.0)
    balance = balance + job.weights.value * value / (float(value.sum()) or 1.0)
    index = {a.account_id: i for i, a in enumerate(job.accounts)}
    rep_index = {r.rep_id: j for j, r in enumerate(job.reps)}
    cut = split_regions(
        local_xy(*lat_lon(job.accounts)),
        balance,
        local_xy(*home_lat_lon(job.reps)),
        np.array([rep_capacity_s(r, horizon, start=job.start) for r in job.reps]),
        reps_per_region=1,
        road_pairs=np.asarray(job.reach.road_pairs, dtype=np.int64).reshape(-1, 2),
        locks={index[a]: rep_index[r] for a, r in job.locked},
    )
    owner = np.empty(len(job.reps), dtype=np.int64)
    owner[cut.rep_region] = np.arange(len(job.reps))
    return RegionResult(
        region=job.region,
        rep_ids=tuple(job.reps[int(owner[k])].rep_id for k in cut.account_region),
        travel_estimate_s=job.travel_estimate_s,
        neighbour_pairs=(),
        notes=(CUT_NOTE,),
        measured=False,
    )


def region_jobs(
    ctx: TerritoryContext,
    regions: RegionSplit,
    fixed: Mapping[int, int],
    weights: DesignWeights,
    tolerance: float,
    deadline: Deadline,
    settings: RegionSettings,
    start: date | None,
    *,
    road_pairs: IntArray,
    near: IntArray,
) -> list[RegionJob]:
    """One job per region, each with its share of ``deadline`` (``parallel`` run at once: a
    mapper that runs them side by side gives each the time it says) and, from ``near`` (every
    account's candidates), the halo its road times must reach."""
    count = regions.count
    per_job = deadline.remaining() * min(settings.parallel, count) / count
    jobs = []
    for k in range(count):
        acc, rep = regions.members(k)
        rep_ids = {ctx.reps[int(j)].rep_id for j in rep}
        locks = tuple(
            (ctx.accounts[i].account_id, ctx.reps[j].rep_id)
            for i, j in sorted(fixed.items())
            if regions.account_region[i] == k and ctx.reps[j].rep_id in rep_ids
        )
        jobs.append(
            RegionJob(
                region=k,
                accounts=tuple(ctx.accounts[int(i)] for i in acc),
                reps=tuple(ctx.reps[int(j)] for j in rep),
                horizon_days=ctx.horizon_days,
                start=start,
                tolerance=REGION_BAND * tolerance,
                weights=weights,
                locked=locks,
                time_limit_s=per_job,
                travel_estimate_s=tuple(float(t) for t in ctx.travel_estimate_s[acc]),
                reach=region_reach(ctx.accounts, acc, near, road_pairs),
            )
        )
    return jobs


def _assemble(
    ctx: TerritoryContext,
    regions: RegionSplit,
    results: Sequence[RegionResult],
    road_pairs: IntArray,
    fixed: Mapping[int, int],
) -> tuple[TerritoryContext, IntArray, IntArray, IntArray]:
    """The organisation's split, its context with the measured workloads, the pairs its graph
    is made of (road cells and the jobs' road neighbours), and the accounts no job measured
    (of the regions whose job measured nothing, and of locked territories)."""
    n = ctx.n_accounts
    assign = np.full(n, -1, dtype=np.int64)
    locked_in = np.flatnonzero(regions.account_region < 0)
    assign[locked_in] = [fixed[int(i)] for i in locked_in]
    estimate = ctx.travel_estimate_s.copy()
    pairs: list[IntArray] = [road_pairs.reshape(-1, 2)]
    unmeasured: list[IntArray] = [locked_in]
    for result in results:
        acc, _ = regions.members(result.region)
        assign[acc] = [ctx.rep_index[r] for r in result.rep_ids]
        estimate[acc] = result.travel_estimate_s
        pairs.append(np.asarray(result.neighbour_pairs, dtype=np.int64).reshape(-1, 2))
        if not result.measured:
            unmeasured.append(acc)
    if np.any(assign < 0):
        msg = "a region job returned no rep for some of its accounts"
        raise InputError(Problem("design", None, "regions", msg))
    return with_travel(ctx, estimate), assign, np.concatenate(pairs), np.concatenate(unmeasured)


def polish_borders(
    ctx: TerritoryContext,
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    regions: RegionSplit,
    tolerance: float,
    *,
    fixed: frozenset[int],
    deadline: Deadline,
    still: frozenset[int] = frozenset(),
) -> tuple[IntArray, tuple[str, ...]]:
    """Enclaves joined and loads brought into the band (:func:`_repaired`), then annealing of
    the territories along region borders; each kept only when it scores better
    (:func:`polish_score`). The territories of the ``still`` reps (locked ones) keep their
    accounts, take no other and have no band: the others share the rest of the load.

    Both stop at ``deadline`` (the repairs after their current move, the annealing at its next
    check), so the split returned is the best complete one found by then.
    """
    target = polish_targets(ctx, assign, balance, still)
    lower, upper = (
        target * (1.0 - REPAIR_BAND * tolerance),
        target * (1.0 + REPAIR_BAND * tolerance),
    )
    cost = np.ascontiguousarray(ctx.home_s.T)
    allowed: BoolArray = ctx.allowed
    restricted = restricted_accounts(ctx.allowed)
    if restricted.any():
        # Accounts only a few reps may take stay with them, and the borders are polished as
        # if they were not there (see :mod:`~.bridging`).
        graph = bridged_graph(graph, restricted)
        fixed = fixed | frozenset(np.flatnonzero(restricted).tolist())
    if still:
        kept = np.array(sorted(still), dtype=np.int64)
        inside = np.flatnonzero(np.isin(assign, kept))
        allowed = allowed.copy()
        allowed[:, kept] = False
        allowed[inside, assign[inside]] = True
        fixed = fixed | frozenset(inside.tolist())

    def score(split: IntArray) -> tuple[float, int, float]:
        return polish_score(graph, split, balance, target, tolerance, cost)

    best, best_score = _repaired(
        graph, assign, balance, regions, (lower, upper, tolerance), score,
        cost=cost, allowed=allowed, fixed=fixed, deadline=deadline,
    )  # fmt: skip
    movable = np.isin(best, border_territories(graph, best, regions))
    steps = BORDER_ANNEAL_STEPS * int(movable.sum())
    if steps and deadline.remaining() > 0:
        annealed = improve_travel(
            graph,
            best,
            balance,
            lower,
            upper,
            cost,
            allowed=allowed,
            fixed=fixed | frozenset(np.flatnonzero(~movable).tolist()),
            iterations=steps,
            time_limit_s=deadline.remaining(),
            seed=BORDER_SEED,
        )
        annealed_score = score(annealed)
        if annealed_score < best_score:
            best, best_score = annealed, annealed_score
    out = int(np.sum(load_deviation(best, balance, target) > tolerance + 1e-9))
    enclaves = open_enclaves(graph, best, balance, restricted)
    notes = []
    if out:
        notes.append(f"{out} territories outside the balance band after the border polish")
    if enclaves:
        notes.append(f"{enclaves} enclave accounts left after the border polish")
    return best, tuple(notes)


def _repaired(
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    regions: RegionSplit,
    band: tuple[FloatArray, FloatArray, float],
    score: Callable[[IntArray], tuple[float, int, float]],
    *,
    cost: FloatArray,
    allowed: BoolArray,
    fixed: frozenset[int],
    deadline: Deadline,
) -> tuple[IntArray, tuple[float, int, float]]:
    """The polish's repair and its score: enclaves joined with the loads passed on into the
    band (:func:`~.enclave_repair.join_enclaves_in_band`), then, while enclaves or band misses
    are left, the border repair among the territories the regions' designs left unsettled and
    among all; each result kept only when it scores better. ``band``: the repair's lower and
    upper loads per territory, and the design's tolerance."""
    lower, upper, tolerance = band
    target = (lower + upper) / 2.0

    def join_in_band(split: IntArray) -> IntArray:
        return join_enclaves_in_band(
            graph, split, balance, lower, upper, cost, allowed=allowed, fixed=fixed,
            deadline=deadline,
        )  # fmt: skip

    def among_unsettled(split: IntArray) -> IntArray:
        unsettled = _unsettled(graph, split, balance, regions, target, tolerance)
        still = fixed | frozenset(np.flatnonzero(~np.isin(split, unsettled)).tolist())
        return make_contiguous(
            graph, split, balance, lower, upper, cost, allowed=allowed, fixed=still,
            improve_passes=0, deadline=deadline,
        )  # fmt: skip

    def among_all(split: IntArray) -> IntArray:
        # Stuck between settled territories at their band's edge: every territory may pass
        # load on now, for what is left of the time.
        return make_contiguous(
            graph, split, balance, lower, upper, cost, allowed=allowed, fixed=fixed,
            improve_passes=0, deadline=deadline,
        )  # fmt: skip

    best, best_score = assign, score(assign)
    for step in (join_in_band, among_unsettled, among_all):
        if best_score[:2] == (0.0, 0) or deadline.expired():
            break
        found = step(best)
        found_score = score(found)
        if found_score < best_score:
            best, best_score = found, found_score
    return best, best_score


def polish_score(
    graph: csr_matrix,
    split: IntArray,
    balance: FloatArray,
    target: FloatArray,
    tolerance: float,
    cost: FloatArray,
) -> tuple[float, int, float]:
    """What the border polish minimises, in this order: how far territories are out of the
    band (summed, not counted: one territory 20 % out is worse than four 1 % out; rounded, so
    float noise is no difference), enclave accounts, then travel.

    The band comes first: when region jobs ran out of time and left enclaves, the repair that
    joins every territory again hands whole fragments over and can leave territories far out
    of band (75 % on a 20,000-account run), and a workload a rep cannot carry is worse than a
    territory in two pieces, which a realignment can join later.
    """
    miss = np.maximum(load_deviation(split, balance, target) - tolerance, 0.0)
    return (
        round(float(miss.sum()), 6),
        count_violations(graph, split, balance),
        float(cost[np.arange(len(split)), split].sum()),
    )


def polish_targets(
    ctx: TerritoryContext, assign: IntArray, balance: FloatArray, still: frozenset[int]
) -> FloatArray:
    """Each territory's load at the centre of its band: the ``still`` reps' as they are, the
    others' their capacity share of what is left."""
    load = np.bincount(assign, weights=balance, minlength=ctx.n_reps)
    kept = np.zeros(ctx.n_reps, dtype=bool)
    kept[sorted(still)] = True
    capacity = np.where(kept, 0.0, ctx.capacity_s)
    left = float(load[~kept].sum())
    share = capacity / capacity.sum() if capacity.sum() > 0 else capacity
    return np.asarray(np.where(kept, load, left * share), dtype=np.float64)


def load_deviation(split: IntArray, balance: FloatArray, target: FloatArray) -> FloatArray:
    """Each territory's relative distance from its target load (infinite for load where the
    target is none)."""
    load = np.bincount(split, weights=balance, minlength=len(target))
    ratio = np.where(load > 0, np.inf, 1.0)
    np.divide(load, target, out=ratio, where=target > 0)
    return np.asarray(np.abs(ratio - 1.0), dtype=np.float64)


def _unsettled(
    graph: csr_matrix,
    assign: IntArray,
    balance: FloatArray,
    regions: RegionSplit,
    target: FloatArray,
    tolerance: float,
) -> IntArray:
    """Reps whose territory touches another region's, is out of the band or has enclaves:
    the only ones the repair may change (the regions' designs settled the others)."""
    out = np.flatnonzero(load_deviation(assign, balance, target) > REPAIR_BAND * tolerance)
    pieces = [f.rep for f in fragments(graph, assign, balance)]
    return np.unique(np.concatenate([border_territories(graph, assign, regions), out, pieces]))


def border_territories(graph: csr_matrix, assign: IntArray, regions: RegionSplit) -> IntArray:
    """Reps whose territory touches a territory of another region on the road graph."""
    coo = graph.tocoo()
    a, b = assign[coo.row], assign[coo.col]
    across = regions.rep_region[a] != regions.rep_region[b]
    return np.unique(np.concatenate([a[across], b[across]]))


def balance_shares(ctx: TerritoryContext, weights: DesignWeights) -> FloatArray:
    """Each account's share of the balanced quantity, as the single path weighs it."""
    w_tot = float(ctx.workload_s.sum()) or 1.0
    v_tot = float(ctx.value.sum()) or 1.0
    return np.asarray(
        weights.workload * ctx.workload_s / w_tot + weights.value * ctx.value / v_tot,
        dtype=np.float64,
    )
