"""An organisation's contiguity graph and per-visit travel without all pairs of road times.

Above the single path's size (:class:`~.regions.RegionSettings`) neither a design nor its KPIs
may ask for every pair of road times, so both use this one rule, which does not depend on how
the organisation is cut into regions or in which chunk an account is measured:

- *candidates*: each account's ``CANDIDATES`` nearest other accounts in a straight line;
- *road neighbours*: of those, the ``CONTIGUITY_NEIGHBOURS`` with the least road time from the
  account (ties to the lower organisation index);
- *graph*: every account joined to its road neighbours and to the accounts whose road cells
  touch its own (the straight-line nearest when the provider draws no road cells), both ways;
- *per-visit travel*: the mean road time to the ``TRAVEL_NEIGHBOURS`` nearest road neighbours
  (a lone account: the trip from the nearest home and back, as the single path has it).

A region job, a design's or a realignment's, measures the rule for its own accounts from its
own matrix (:func:`region_context`; its columns reach the candidates outside the region, as
:func:`region_reach` sets them out); :func:`organisation_measured` measures it for every account
in chunks of origins, each asking only for the road times to that chunk's candidates, and
:func:`measure_unmeasured` for the accounts of regions whose job measured nothing.

Here, too: :func:`organisation_context`, the organisation's context with no matrix over all
accounts, which both the design (:mod:`~.organisation`) and the KPIs (:mod:`~.metrics`) use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Protocol

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.spatial import cKDTree

from routeplanner.model.account import Account
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rep import Rep
from routeplanner.territories.assign import OutOfTimeError
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.regions import RegionReach, local_xy
from routeplanner.territories.timed import MATRIX_SLICE, timed_travel
from routeplanner.territories.workload import (
    CONTIGUITY_NEIGHBOURS,
    TRAVEL_NEIGHBOURS,
    FloatArray,
    IntArray,
    RoadCells,
    TerritoryContext,
    check_inputs,
    context_from_times,
    with_pairs,
)
from routeplanner.travel.provider import TravelTimeProvider

CANDIDATES = 3 * CONTIGUITY_NEIGHBOURS
"""Straight-line nearest accounts among which the road neighbours are chosen: three times as
many as are kept, so a river or a motorway between two close accounts rarely leaves fewer
than ``CONTIGUITY_NEIGHBOURS`` reachable ones to choose from."""
MEASURE_CHUNK = 256
"""Origins per road-time call when the rule is measured for the whole organisation: the
call's matrix is at most this many rows by their candidates (256 x 6,144)."""
CALIBRATION_SAMPLE = 64
"""Accounts whose road time to their nearest neighbours fits the provisional travel (one
search each)."""
UNMEASURED_NOTE = (
    "their workloads are estimated and their enclaves counted on road cells only until the "
    "territories' KPIs are measured again"
)


class MeasuringJob(Protocol):
    """A region job that measures the rule for its accounts (a design's or a realignment's)."""

    @property
    def accounts(self) -> tuple[Account, ...]: ...

    @property
    def reps(self) -> tuple[Rep, ...]: ...

    @property
    def horizon_days(self) -> int: ...

    @property
    def start(self) -> date | None: ...

    @property
    def reach(self) -> RegionReach: ...


def candidates(xy: FloatArray, count: int = CANDIDATES) -> IntArray:
    """``(n, c)``: each point's ``c = min(count, n - 1)`` nearest other points by straight
    line, nearest first."""
    n = len(xy)
    c = min(count, n - 1)
    if c < 1:
        return np.zeros((n, 0), dtype=np.int64)
    _, near = cKDTree(xy).query(xy, k=c + 1)
    near = np.asarray(near, dtype=np.int64).reshape(n, c + 1)
    own = near == np.arange(n)[:, None]
    # Points at one spot may list another before the point itself: then the farthest goes.
    own[~own.any(axis=1), -1] = True
    return np.asarray(near[~own].reshape(n, c), dtype=np.int64)


def nearest_first(times: FloatArray, keys: IntArray) -> IntArray:
    """``(s, k)`` positions along each row of ``times`` (road time to each candidate) of its
    ``k = min(CONTIGUITY_NEIGHBOURS, c)`` road neighbours, least time first, ties to the lower
    ``keys`` (the candidates' organisation indices)."""
    k = min(CONTIGUITY_NEIGHBOURS, times.shape[1])
    order = np.lexsort((keys, times), axis=1)
    return np.asarray(order[:, :k], dtype=np.int64)


def travel_estimate(nearest_s: FloatArray, lone_s: FloatArray) -> FloatArray:
    """Per-visit travel from the road times to the road neighbours (least first): the mean of
    the first ``TRAVEL_NEIGHBOURS``; ``lone_s`` when there are none."""
    kt = min(TRAVEL_NEIGHBOURS, nearest_s.shape[1])
    if kt == 0:
        return np.asarray(lone_s, dtype=np.float64)
    return np.asarray(nearest_s[:, :kt].mean(axis=1), dtype=np.float64)


def neighbour_pairs(sources: IntArray, neighbours: IntArray) -> IntArray:
    """``(p, 2)`` pairs of each source and each of its road neighbours (row by row)."""
    rows = np.repeat(sources, neighbours.shape[1])
    return np.column_stack([rows, neighbours.ravel()]).astype(np.int64).reshape(-1, 2)


def graph_of(n: int, pairs: IntArray) -> csr_matrix:
    """The symmetric 0/1 graph of ``pairs`` over ``n`` accounts."""
    pairs = pairs.reshape(-1, 2)
    graph = csr_matrix(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), (n, n)))
    return csr_matrix((graph + graph.T).astype(bool).astype(np.float64))


def measure_rows(
    locations: Sequence[GeoPoint],
    near: IntArray,
    travel: TravelTimeProvider,
    sources: IntArray,
    lone_s: FloatArray,
    *,
    chunk: int = MEASURE_CHUNK,
    deadline: Deadline | None = None,
) -> tuple[IntArray, IntArray, FloatArray]:
    """The rule for ``sources``: the sources measured, their road neighbours and per-visit
    travel. ``near``: every account's candidates; ``lone_s``: each source's travel when it
    has no neighbour. Asks ``chunk`` origins at a time for the road times to their candidates
    only; stops before a chunk once ``deadline`` has passed (the sources measured are then a
    prefix of ``sources``)."""
    width = min(CONTIGUITY_NEIGHBOURS, near.shape[1])
    found: list[IntArray] = [np.zeros((0, width), dtype=np.int64)]
    estimates: list[FloatArray] = [np.zeros(0)]
    done = 0
    for first in range(0, len(sources), max(chunk, 1)):
        if deadline is not None and deadline.expired():
            break
        rows = sources[first : first + chunk]
        cand = near[rows]
        targets = np.unique(cand)
        durations = travel.matrix(
            [locations[i] for i in rows], [locations[j] for j in targets]
        ).durations_s
        times = durations[np.arange(len(rows))[:, None], np.searchsorted(targets, cand)]
        order = nearest_first(times.astype(np.float64), cand)
        found.append(np.take_along_axis(cand, order, axis=1))
        nearest_s = np.take_along_axis(times, order, axis=1).astype(np.float64)
        estimates.append(travel_estimate(nearest_s, lone_s[first : first + len(rows)]))
        done += len(rows)
    return sources[:done], np.concatenate(found), np.concatenate(estimates)


def region_reach(
    accounts: Sequence[Account], acc: IntArray, near: IntArray, road_pairs: IntArray
) -> RegionReach:
    """What the job of the organisation's accounts ``acc`` (indices into ``accounts``) needs to
    measure the rule for them: ``near`` is every account's candidates, ``road_pairs`` the
    organisation's road-cell pairs (those inside the job are kept, in job positions)."""
    columns = np.concatenate([acc, np.setdiff1d(np.unique(near[acc]), acc)])
    order = np.argsort(columns, kind="stable")
    where = order[np.searchsorted(columns[order], near[acc])].astype(np.int64)
    position = np.full(len(accounts), -1, dtype=np.int64)
    position[acc] = np.arange(len(acc))
    pairs = road_pairs.reshape(-1, 2)
    inside = pairs[(position[pairs[:, 0]] >= 0) & (position[pairs[:, 1]] >= 0)]
    return RegionReach(
        road_pairs=tuple((int(a), int(b)) for a, b in position[inside]),
        halo=tuple(accounts[int(i)] for i in columns[len(acc) :]),
        columns=tuple(int(i) for i in columns),
        candidates=tuple(
            tuple(int(c) for c in row) for row in where.reshape(len(acc), near.shape[1])
        ),
    )


def region_context(
    job: MeasuringJob, travel: TravelTimeProvider, deadline: Deadline
) -> tuple[TerritoryContext, IntArray] | None:
    """A region job's context on the rule, and its accounts' pairs with their road neighbours
    (organisation indices); ``None`` when its road times are not in by ``deadline``.

    One matrix from the job's accounts to them and the halo gives the region's road times and
    every candidate's. The context's neighbours are the road neighbours inside the region and
    the region's road-cell pairs: a subset of the organisation's graph, so a territory in one
    piece on it is one piece on the organisation's.
    """
    timed = timed_travel(travel, deadline)
    allowed = check_inputs(job.accounts, job.reps, timed, job.horizon_days)
    locations = [a.location for a in job.accounts]
    homes = [r.home for r in job.reps]
    try:
        rows = timed.matrix(locations, locations + [a.location for a in job.reach.halo])
        out = timed.matrix(homes, locations).durations_s.astype(np.float64)
        back = timed.matrix(locations, homes).durations_s.astype(np.float64)
    except OutOfTimeError:
        return None
    n = len(locations)
    times = rows.durations_s.astype(np.float64)
    account_s = (times[:, :n] + times[:, :n].T) / 2.0
    np.fill_diagonal(account_s, 0.0)
    home_s = (out + back.T) / 2.0
    columns = np.asarray(job.reach.columns, dtype=np.int64)
    near = np.asarray(job.reach.candidates, dtype=np.int64).reshape(n, -1)
    near_s = np.take_along_axis(times, near, axis=1)
    order = nearest_first(near_s, columns[near])
    chosen = np.take_along_axis(near, order, axis=1)
    estimate = travel_estimate(np.take_along_axis(near_s, order, axis=1), 2.0 * home_s.min(axis=0))
    local = neighbour_pairs(np.arange(n, dtype=np.int64), chosen)
    local = local[local[:, 1] < n]
    road = np.asarray(job.reach.road_pairs, dtype=np.int64).reshape(-1, 2)
    ctx = context_from_times(
        job.accounts,
        job.reps,
        horizon_days=job.horizon_days,
        start=job.start,
        travel_estimate_s=estimate,
        account_s=account_s,
        home_s=home_s,
        neighbours=with_pairs(np.zeros((n, 0), dtype=np.int64), np.concatenate([local, road])),
        allowed=allowed,
    )
    return ctx, neighbour_pairs(columns[:n], columns[chosen])


def measure_unmeasured(
    ctx: TerritoryContext,
    pairs: IntArray,
    unmeasured: IntArray,
    travel: TravelTimeProvider,
    near: IntArray,
    deadline: Deadline | None,
    *,
    chunk: int = MATRIX_SLICE,
) -> tuple[TerritoryContext, csr_matrix, tuple[str, ...]]:
    """The organisation's context and graph (``pairs``: road cells and the jobs' road
    neighbours) with the rule measured here for the ``unmeasured`` accounts, of regions whose
    job had no road times (in chunks, until ``deadline``), so a split is judged on the graph
    its KPIs are measured on later; what the time leaves unmeasured is named in a note."""
    done, neighbours, estimate = measure_rows(
        [a.location for a in ctx.accounts], near, travel, unmeasured,
        lone_travel_s(ctx)[unmeasured], chunk=chunk, deadline=deadline,
    )  # fmt: skip
    if len(done):
        measured = ctx.travel_estimate_s.copy()
        measured[done] = estimate
        ctx = with_travel(ctx, measured)
    graph = graph_of(ctx.n_accounts, np.concatenate([pairs, neighbour_pairs(done, neighbours)]))
    left = len(unmeasured) - len(done)
    notes = (f"{left} accounts without measured road neighbours: {UNMEASURED_NOTE}",)
    return ctx, graph, notes if left else ()


def with_travel(ctx: TerritoryContext, estimate: FloatArray) -> TerritoryContext:
    """``ctx`` with ``estimate`` as its per-visit travel and the workloads that follow."""
    return replace(
        ctx, travel_estimate_s=estimate, workload_s=ctx.visits * (ctx.service_s + estimate)
    )


def lone_travel_s(ctx: TerritoryContext) -> FloatArray:
    """An account's visit with no other account near: a trip from the nearest home and back."""
    return np.asarray(2.0 * ctx.home_s.min(axis=0), dtype=np.float64)


def organisation_measured(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int,
    start: date | None,
    chunk: int = MEASURE_CHUNK,
) -> tuple[TerritoryContext, csr_matrix]:
    """The organisation's context with every account's per-visit travel by the rule, and its
    graph: what a design at organisation scale ends with, measured without one."""
    ctx, pairs = organisation_context(
        accounts, reps, travel, horizon_days=horizon_days, start=start
    )
    near = candidates(local_xy(*lat_lon(ctx.accounts)))
    every = np.arange(ctx.n_accounts, dtype=np.int64)
    ctx, graph, _ = measure_unmeasured(ctx, pairs, every, travel, near, None, chunk=chunk)
    return ctx, graph


def organisation_context(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int,
    start: date | None,
) -> tuple[TerritoryContext, IntArray]:
    """The organisation's context without all pairs of road times, and its road-cell pairs.

    Per-visit travel is the straight-line guess of the cut until it is measured by the rule;
    travel from home is one search from each home.
    """
    allowed = check_inputs(accounts, reps, travel, horizon_days)
    locations = [a.location for a in accounts]
    xy = local_xy(*lat_lon(tuple(accounts)))
    pairs = travel.cell_adjacency(locations) if isinstance(travel, RoadCells) else nearest_pairs(xy)
    home_s = travel.matrix([r.home for r in reps], locations).durations_s.astype(np.float64)
    n = len(accounts)
    ctx = context_from_times(
        accounts,
        reps,
        horizon_days=horizon_days,
        start=start,
        travel_estimate_s=provisional_travel_s(xy, locations, travel),
        account_s=np.zeros((0, 0)),
        home_s=home_s,
        neighbours=np.arange(n, dtype=np.int64)[:, None],
        allowed=allowed,
    )
    return ctx, pairs


def provisional_travel_s(
    xy: FloatArray, locations: Sequence[GeoPoint], travel: TravelTimeProvider
) -> FloatArray:
    """Per-visit travel guessed for the cut: the straight-line gap to the nearest accounts,
    turned into road time by a line fitted to real road times of a sample of them."""
    n = len(xy)
    k = min(TRAVEL_NEIGHBOURS, n - 1)
    if k < 1:
        return np.zeros(n)
    dist, near = cKDTree(xy).query(xy, k=k + 1)
    gap = np.asarray(dist[:, 1:].mean(axis=1), dtype=np.float64)
    sample = np.unique(np.linspace(0, n - 1, min(CALIBRATION_SAMPLE, n)).astype(np.int64))
    targets = near[sample, 1:].ravel()
    times = travel.matrix([locations[i] for i in sample], [locations[j] for j in targets])
    rows = np.repeat(np.arange(len(sample)), k)
    measured = times.durations_s[rows, np.arange(len(targets))].reshape(-1, k).mean(axis=1)
    if len(sample) < 2 or np.ptp(gap[sample]) == 0:
        return np.full(n, float(np.mean(measured)))
    slope, offset = np.polyfit(gap[sample], measured.astype(np.float64), 1)
    return np.asarray(max(offset, 0.0) + max(slope, 0.0) * gap, dtype=np.float64)


def nearest_pairs(xy: FloatArray) -> IntArray:
    """Neighbour pairs by straight line when the provider draws no road cells."""
    k = min(CONTIGUITY_NEIGHBOURS, len(xy) - 1)
    if k < 1:
        return np.zeros((0, 2), dtype=np.int64)
    _, near = cKDTree(xy).query(xy, k=k + 1)
    rows = np.repeat(np.arange(len(xy)), k)
    return np.column_stack([rows, near[:, 1:].ravel()]).astype(np.int64)


def lat_lon(accounts: Sequence[Account]) -> tuple[FloatArray, FloatArray]:
    lat = np.array([a.location.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.location.lon for a in accounts], dtype=np.float64)
    return lat, lon


def home_lat_lon(reps: Sequence[Rep]) -> tuple[FloatArray, FloatArray]:
    lat = np.array([r.home.lat for r in reps], dtype=np.float64)
    lon = np.array([r.home.lon for r in reps], dtype=np.float64)
    return lat, lon
