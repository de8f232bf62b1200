"""Travel facts for assignment: how far accounts lie from territories, and their workloads.

The per-account travel estimate of the workload model needs every account's two nearest
neighbours by road, an n x n matrix. Up to :data:`EXACT_NEIGHBOURS_UP_TO` accounts it is computed
exactly, so balance figures equal those of ``territories show``; beyond, it is the straight-line
distance to the two nearest accounts (KD-tree) times the region's road time per straight-line
metre, measured on the anchors' road matrix (median).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from routeplanner.model.account import Account
from routeplanner.model.geo import GeoPoint
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.workload import visits_in
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]

EXACT_NEIGHBOURS_UP_TO = 2000
"""Up to this many accounts the workload uses road times to the nearest accounts exactly, as
``territories show`` does (one accounts x accounts road matrix); beyond, the calibrated
straight-line estimate."""

_MIN_CALIBRATION_M = 300.0
"""Pairs closer than this say more about snapping than about roads; left out of calibration."""


def project(lat: FloatArray, lon: FloatArray, lat0: float) -> FloatArray:
    """Equirectangular metres around ``lat0``: exact enough for a sales region's distances."""
    k = np.pi / 180.0 * EARTH_RADIUS_M
    return np.column_stack([lon * k * np.cos(np.radians(lat0)), lat * k])


def territory_anchors(
    accounts: Sequence[Account],
    owner: npt.NDArray[np.int64],
    territories: Sequence[Territory],
    rep_of: Sequence[Rep | None],
) -> list[tuple[GeoPoint, int]]:
    """Points each territory is measured from: its centre member and its rep's home."""
    anchors: list[tuple[GeoPoint, int]] = []
    lat = np.array([a.location.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.location.lon for a in accounts], dtype=np.float64)
    lat0 = float(lat.mean()) if len(lat) else 0.0
    xy = project(lat, lon, lat0)
    for j in range(len(territories)):
        members = np.nonzero(owner == j)[0]
        if len(members):
            mean = xy[members].mean(axis=0)
            centre = members[np.argmin(((xy[members] - mean) ** 2).sum(axis=1))]
            anchors.append((accounts[int(centre)].location, j))
        rep = rep_of[j]
        if rep is not None:
            anchors.append((rep.home, j))
    return anchors


def anchor_travel(
    travel: TravelTimeProvider, anchors: Sequence[GeoPoint], points: Sequence[GeoPoint]
) -> FloatArray:
    """Road seconds anchor -> point in one matrix call; points or anchors off the network get
    the straight-line estimate instead (they are reported by planning, not refused here)."""
    out = np.zeros((len(anchors), len(points)))
    if not anchors or not points:
        return out
    a_ok = np.array(
        [s.reachable for s in travel.snap([(str(k), p) for k, p in enumerate(anchors)]).snaps]
    )
    p_ok = np.array(
        [s.reachable for s in travel.snap([(str(k), p) for k, p in enumerate(points)]).snaps]
    )
    fallback = HaversineTravel()
    if not a_ok.all() or not p_ok.all():
        out[:] = fallback.matrix(anchors, points).durations_s
    ai, pi = np.nonzero(a_ok)[0], np.nonzero(p_ok)[0]
    if len(ai) and len(pi):
        sub = travel.matrix([anchors[int(k)] for k in ai], [points[int(k)] for k in pi]).durations_s
        out[np.ix_(ai, pi)] = sub
    return out


def seconds_per_metre(
    road: FloatArray, anchors: Sequence[GeoPoint], accounts: Sequence[Account]
) -> float:
    """Median road seconds per straight-line metre in the region (calibrates the estimate)."""
    fallback = HaversineTravel()
    default = fallback.detour_factor / (fallback.speed_kmh / 3.6)
    if road.size == 0:
        return default
    straight = (
        HaversineTravel(speed_kmh=3.6, detour_factor=1.0)
        .matrix(list(anchors), [a.location for a in accounts])
        .distances_m.astype(np.float64)
    )
    use = straight > _MIN_CALIBRATION_M
    if not use.any():
        return default
    return float(np.median(road[use] / straight[use]))


def estimate_workloads(
    accounts: Sequence[Account],
    per_m: float,
    horizon_days: int,
    *,
    travel_s: FloatArray | None = None,
) -> FloatArray:
    """Visits x (visit time + travel estimate).

    The estimate is ``travel_s`` where given (NaN = unknown), else the mean straight-line
    distance to the two nearest other accounts at the region's road seconds per metre.
    """
    n = len(accounts)
    if n == 0:
        return np.zeros(0)
    lat = np.array([a.location.lat for a in accounts], dtype=np.float64)
    lon = np.array([a.location.lon for a in accounts], dtype=np.float64)
    xy = project(lat, lon, float(lat.mean()))
    k = min(2, n - 1)
    if k > 0:
        dist, _ = cKDTree(xy).query(xy, k=k + 1)
        estimate = np.asarray(dist, dtype=np.float64)[:, 1:].mean(axis=1) * per_m
    else:
        estimate = np.zeros(n)
    if travel_s is not None:
        estimate = np.where(np.isnan(travel_s), estimate, travel_s)
    visits = np.array([visits_in(a, horizon_days) for a in accounts], dtype=np.float64)
    service = np.array([a.visit_duration_s for a in accounts], dtype=np.float64)
    out: FloatArray = visits * (service + estimate)
    return out


def road_neighbour_travel(
    accounts: Sequence[Account], travel: TravelTimeProvider
) -> FloatArray | None:
    """The workload model's exact travel estimate (mean road time to the two nearest other
    accounts, symmetrised, as ``territories.workload.build_context`` computes it) while an
    accounts x accounts matrix is affordable (``EXACT_NEIGHBOURS_UP_TO``); NaN for accounts
    off the network; ``None`` above the limit or below three reachable accounts.
    """
    n = len(accounts)
    if n > EXACT_NEIGHBOURS_UP_TO:
        return None
    snaps = travel.snap([(a.account_id, a.location) for a in accounts]).snaps
    ok = np.array([s.reachable for s in snaps], dtype=np.bool_)
    idx = np.nonzero(ok)[0]
    if len(idx) < 3:
        return None
    mat = travel.matrix([accounts[int(i)].location for i in idx]).durations_s.astype(np.float64)
    sym = (mat + mat.T) / 2.0
    np.fill_diagonal(sym, np.inf)
    two = np.partition(sym, 1, axis=1)[:, :2]
    out = np.full(n, np.nan)
    out[idx] = two.mean(axis=1)
    return out
