"""Snapping to the nearest edge: exact against brute force, perpendicular, better than nodes."""

from __future__ import annotations

import numpy as np
import pytest

from routeplanner.roads.graph import RoadGraph, load_road_graph
from routeplanner.roads.snap import EdgeIndex, random_road_points, to_latlon, to_xyz
from routeplanner.units import haversine_m
from tests.helpers import DATA_DIR

M_PER_DEG_LAT = 111_195.0  # on the 6,371,008.8 m sphere


@pytest.fixture(scope="module")
def grid() -> RoadGraph:
    return load_road_graph(DATA_DIR / "osm" / "grid_mph.osm")


def test_xyz_round_trip() -> None:
    lat, lon = np.array([49.4, -33.9, 0.0, 89.9]), np.array([8.7, 151.2, -179.9, 10.0])
    back_lat, back_lon = to_latlon(to_xyz(lat, lon))
    np.testing.assert_allclose(back_lat, lat, atol=1e-9)
    np.testing.assert_allclose(back_lon, lon, atol=1e-9)


def test_point_beside_a_street_snaps_perpendicular_to_the_edge(grid: RoadGraph) -> None:
    # 30 m south of the bottom street (lat 50.0, lon 8.000..8.002), half-way between the
    # simplified-away corner (8.000) and the intersection node at 8.001.
    lat, lon = 50.0 - 30 / M_PER_DEG_LAT, 8.0005
    snap = EdgeIndex(grid).query([lat], [lon])
    assert snap.distance_m[0] == pytest.approx(30.0, abs=0.05)
    assert haversine_m(snap.lat[0], snap.lon[0], 50.0, 8.0005) < 0.1
    # The nearest *node* is ~47 m away: snapping to nodes would have moved it further.
    nearest_node = min(haversine_m(lat, lon, a, b) for a, b in zip(grid.lat, grid.lon, strict=True))
    assert nearest_node == pytest.approx(np.hypot(30, 0.0005 * 71_474), rel=1e-3)


def test_fraction_locates_the_snapped_point_along_the_edge(grid: RoadGraph) -> None:
    index = EdgeIndex(grid)
    snap = index.query([50.0 - 30 / M_PER_DEG_LAT], [8.0005])
    edge = int(snap.edge[0])
    along = float(snap.fraction[0]) * float(index.edge_len_m[edge])
    end = index.sub_polyline(edge, 0.0, along)[-1]
    assert haversine_m(end[0], end[1], snap.lat[0], snap.lon[0]) < 0.01
    start = index.sub_polyline(edge, 0.0, along)[0]
    assert start == pytest.approx(grid.edge_polyline(edge)[0], abs=1e-9)


def test_sub_polyline_runs_backwards_and_keeps_inner_vertices(grid: RoadGraph) -> None:
    index = EdgeIndex(grid)
    edge = int(np.argmax(np.diff(grid.geom_offsets)))  # an edge around a corner
    full = grid.edge_polyline(edge)
    total = float(index.edge_len_m[edge])
    forward = index.sub_polyline(edge, 0.0, total)
    assert len(forward) == len(full)
    np.testing.assert_allclose(forward, full, atol=1e-9)
    np.testing.assert_allclose(index.sub_polyline(edge, total, 0.0), full[::-1], atol=1e-9)


def test_node_locations_snap_with_zero_distance(grid: RoadGraph) -> None:
    snap = EdgeIndex(grid).query(grid.lat, grid.lon)
    np.testing.assert_allclose(snap.distance_m, 0.0, atol=1e-6)


@pytest.mark.osm
def test_kd_tree_snap_equals_brute_force(andorra_graph: RoadGraph) -> None:
    index = EdgeIndex(andorra_graph)
    lat, lon = random_road_points(andorra_graph, 300, seed=7, max_offset_m=3000.0)
    snap = index.query(lat, lon)
    # Brute force: distance from every point to every segment of every edge.
    g = andorra_graph
    xyz = to_xyz(g.geom_lat, g.geom_lon)
    last = g.geom_offsets[1:] - 1
    starts = np.setdiff1d(np.arange(len(xyz) - 1), last)
    a, b = xyz[starts], xyz[starts + 1]
    ab = b - a
    p = to_xyz(lat, lon)
    best = np.empty(len(p))
    for i, q in enumerate(p):
        t = np.clip(np.einsum("ij,ij->i", q - a, ab) / np.einsum("ij,ij->i", ab, ab), 0, 1)
        best[i] = np.min(np.linalg.norm(q - (a + t[:, None] * ab), axis=1))
    np.testing.assert_allclose(snap.distance_m, best, rtol=1e-6, atol=1e-3)
    assert (snap.distance_m > 1000).any()  # the sample does include far points


@pytest.mark.osm
def test_random_road_points_are_reproducible_and_near_roads(andorra_graph: RoadGraph) -> None:
    a = random_road_points(andorra_graph, 50, seed=3, max_offset_m=150.0)
    b = random_road_points(andorra_graph, 50, seed=3, max_offset_m=150.0)
    c = random_road_points(andorra_graph, 50, seed=4, max_offset_m=150.0)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    snap = EdgeIndex(andorra_graph).query(*a)
    assert snap.distance_m.max() <= 150.0 + 1e-6
