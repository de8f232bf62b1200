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

A region job measures the rule for its own accounts from its own matrix (its columns reach the
candidates outside the region); :func:`organisation_measured` measures it for every account in
chunks of origins, each asking only for the road times to that chunk's candidates.

Here, too: :func:`organisation_context`, the organisation's context with no matrix over all
accounts, which both the design (:mod:`~.organisation`) and the KPIs (:mod:`~.metrics`) use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.spatial import cKDTree

from routeplanner.model.account import Account
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rep import Rep
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.regions import local_xy
from routeplanner.territories.workload import (
    CONTIGUITY_NEIGHBOURS,
    TRAVEL_NEIGHBOURS,
    FloatArray,
    IntArray,
    RoadCells,
    TerritoryContext,
    check_inputs,
    context_from_times,
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
    sources = np.arange(ctx.n_accounts, dtype=np.int64)
    locations = [a.location for a in ctx.accounts]
    _, neighbours, estimate = measure_rows(
        locations, near, travel, sources, lone_travel_s(ctx), chunk=chunk
    )
    graph = graph_of(ctx.n_accounts, np.concatenate([pairs, neighbour_pairs(sources, neighbours)]))
    return with_travel(ctx, estimate), graph


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
