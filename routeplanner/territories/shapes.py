"""Territory areas that do not overlap: each territory as the union of its accounts' road cells.

An account's road cell is the part of the road network nearer to it by road time than to any
other account (see :mod:`routeplanner.territories.contiguity`). The cell is a set of roads, not
an area, so to draw it every labelled road junction, and every account itself, becomes a site
of a planar Voronoi diagram: each site gets the land nearest to it, and the land of a
territory is the union of the sites its accounts' cells hold. The sites' Voronoi polygons
tile the plane, so two territories can only share a border, never overlap, and a river
without a bridge separates them where the roads do. Without a road network the accounts alone
are the sites (a plain Voronoi of the accounts).

The areas are clipped to the accounts' neighbourhood (the far ends of the network belong to
nobody in particular) and simplified as one coverage, so neighbours keep one shared border.
Geometry is computed in a local metric plane (equirectangular, as the maps are drawn).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import shapely

from routeplanner.model.geo import GeoPoint

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

METRES_PER_DEGREE = 111_320.0
SIMPLIFY_M = 30.0
"""Default simplification: about one pixel of a 1000-unit map of a 30 km region."""
MARGIN_SHARE = 0.05
"""Clip margin around the accounts, as a share of the region's larger side."""
MIN_MARGIN_M = 300.0
GRID_M = 0.1
SITE_GRID_M = 10.0
"""Road junctions closer than this are one Voronoi site (a third of the simplification)."""

Ring = tuple[tuple[float, float], ...]
"""A closed ring of ``(lon, lat)`` points, first point repeated last."""


@dataclass(frozen=True, slots=True)
class TerritoryShape:
    """One territory's area: polygons, each an outer ring (counter-clockwise) and its holes
    (clockwise), in ``(lon, lat)`` as GeoJSON wants them; ``area_m2`` is before rounding."""

    polygons: tuple[tuple[Ring, ...], ...]
    area_m2: float


@runtime_checkable
class RoadCellLabels(Protocol):
    """A travel provider that can tell whose road cell each road junction lies in."""

    def cell_labels(self, points: Sequence[GeoPoint]) -> IntArray:
        """Per road graph node, the index of the point whose road cell holds it (or -1)."""
        ...

    def node_locations(self) -> tuple[FloatArray, FloatArray]:
        """Latitude and longitude of every road graph node."""
        ...


@dataclass(frozen=True, slots=True)
class _Plane:
    lat0: float
    lon0: float
    kx: float

    def xy(self, lat: FloatArray, lon: FloatArray) -> FloatArray:
        x = (lon - self.lon0) * self.kx * METRES_PER_DEGREE
        y = (lat - self.lat0) * METRES_PER_DEGREE
        return np.column_stack([x, y])

    def lonlat(self, xy: FloatArray) -> list[tuple[float, float]]:
        lon = xy[:, 0] / (self.kx * METRES_PER_DEGREE) + self.lon0
        lat = xy[:, 1] / METRES_PER_DEGREE + self.lat0
        return [(round(float(a), 8), round(float(b), 8)) for a, b in zip(lon, lat, strict=True)]


def territory_shapes(
    locations: Sequence[GeoPoint],
    owner: Sequence[int],
    territories: int,
    cells: RoadCellLabels | None = None,
    *,
    simplify_m: float = SIMPLIFY_M,
) -> list[TerritoryShape | None]:
    """The area of each of ``territories`` territories; ``owner[i]`` is the territory index
    of the account at ``locations[i]`` (``-1``: none). ``None`` for a territory without
    accounts. With ``cells`` the areas follow the road cells, else the accounts' Voronoi."""
    if not locations:
        return [None] * territories
    lat = np.array([p.lat for p in locations], dtype=np.float64)
    lon = np.array([p.lon for p in locations], dtype=np.float64)
    plane = _Plane(float(lat.mean()), float(lon.mean()), math.cos(math.radians(float(lat.mean()))))
    owners = np.asarray(owner, dtype=np.int64)
    account_xy = plane.xy(lat, lon)
    clip = _clip_area(account_xy)
    sites, labels = account_xy, owners
    if cells is not None and len(locations) >= 1:
        node_xy, node_label = _road_sites(cells, locations, owners, plane, clip)
        sites = np.concatenate([account_xy, node_xy])
        labels = np.concatenate([owners, node_label])
    areas = _label_areas(sites, labels, territories, clip)
    shown = areas
    if simplify_m > 0:
        shown = shapely.coverage_simplify(areas, simplify_m)
        shown = _accounts_inside(shown, areas, account_xy, owners, simplify_m)
        shown = _without_crumbs(shown, account_xy, owners, (3 * simplify_m) ** 2)
    sizes = shapely.area(areas)
    # On a 10 cm grid no two vertices come close enough for rounding degrees to 8 places
    # (about 1 mm) to make a ring cross itself.
    shown = shapely.set_precision(shown, GRID_M)
    return [_shape(g, plane, float(a)) for g, a in zip(shown, sizes, strict=True)]


def _accounts_inside(
    shown: npt.NDArray[np.object_],
    exact: npt.NDArray[np.object_],
    account_xy: FloatArray,
    owners: IntArray,
    simplify_m: float,
) -> npt.NDArray[np.object_]:
    """Give back to each territory the exact land around any of its accounts that the
    simplification moved across a border, taking it from whichever area holds it now, so
    every account lies in its own area and areas still do not overlap."""
    points = shapely.points(account_xy)
    out = shown.copy()
    for i in np.flatnonzero(owners >= 0):
        k = int(owners[i])
        if shapely.covers(out[k], points[i]):
            continue
        patch = shapely.intersection(exact[k], shapely.buffer(points[i], 2 * simplify_m))
        out = shapely.difference(out, patch)
        out[k] = shapely.union(out[k], patch)
    return out


def _without_crumbs(
    shown: npt.NDArray[np.object_], account_xy: FloatArray, owners: IntArray, min_m2: float
) -> npt.NDArray[np.object_]:
    """Drop the tiny pieces without an account that the Voronoi leaves between roads: at map
    scale they are specks, not land a rep covers."""
    points = shapely.points(account_xy)
    out = shown.copy()
    for k, geometry in enumerate(shown):
        parts = shapely.get_parts(geometry)
        mine = points[owners == k]
        keep = [p for p in parts if shapely.area(p) >= min_m2 or shapely.intersects(p, mine).any()]
        out[k] = shapely.union_all(keep) if keep else shapely.Polygon()
    return out


def _clip_area(account_xy: FloatArray) -> shapely.Geometry:
    span = float(np.ptp(account_xy, axis=0).max()) if len(account_xy) > 1 else 0.0
    margin = max(MIN_MARGIN_M, MARGIN_SHARE * span)
    return shapely.buffer(shapely.convex_hull(shapely.multipoints(account_xy)), margin)


def _road_sites(
    cells: RoadCellLabels,
    locations: Sequence[GeoPoint],
    owners: IntArray,
    plane: _Plane,
    clip: shapely.Geometry,
) -> tuple[FloatArray, IntArray]:
    """Road junctions inside the clip area that some account's cell holds (at most one per
    :data:`SITE_GRID_M` square), labelled with that account's territory."""
    cell_of = cells.cell_labels(locations)
    node_lat, node_lon = cells.node_locations()
    reached = cell_of >= 0
    xy = plane.xy(node_lat[reached], node_lon[reached])
    inside = shapely.contains_xy(clip, xy[:, 0], xy[:, 1])
    xy, label = xy[inside], owners[cell_of[reached][inside]]
    # One junction per grid square: a dense city network adds sites, not shape, so the
    # Voronoi's cost stays bounded by the area drawn, not by the size of the network.
    _, first = np.unique(np.floor(xy / SITE_GRID_M), axis=0, return_index=True)
    first.sort()
    return xy[first], label[first]


def _label_areas(
    sites: FloatArray, labels: IntArray, territories: int, clip: shapely.Geometry
) -> npt.NDArray[np.object_]:
    """Per territory the union of its sites' Voronoi polygons within ``clip`` (empty when
    it has none). Sites at one spot keep the first one's label: accounts come first."""
    rounded = np.round(sites, 1)
    _, first = np.unique(rounded, axis=0, return_index=True)
    first.sort()
    sites, labels = rounded[first], labels[first]
    empty = shapely.Polygon()
    if len(sites) < 2:
        return np.array([clip if labels[0] == k else empty for k in range(territories)])
    cells = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=clip, ordered=True)
    pieces = shapely.intersection(np.asarray(shapely.get_parts(cells)), clip)
    out = np.empty(territories, dtype=object)
    for k in range(territories):
        mine = pieces[labels == k]
        out[k] = shapely.coverage_union_all(mine) if len(mine) else empty
    return out


def _shape(geometry: shapely.Geometry, plane: _Plane, area_m2: float) -> TerritoryShape | None:
    polygons = []
    for part in shapely.get_parts(geometry):
        if not isinstance(part, shapely.Polygon) or part.is_empty:
            continue
        part = shapely.orient_polygons(part)
        rings = [part.exterior, *part.interiors]
        polygons.append(tuple(tuple(plane.lonlat(np.asarray(r.coords))) for r in rings))
    if not polygons:
        return None
    return TerritoryShape(tuple(polygons), area_m2)
