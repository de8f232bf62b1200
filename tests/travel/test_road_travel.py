"""Road travel matrices against networkx, partial edges, same-road legs, unreachable points, legs.

The reference model is built independently of ours: every test point is inserted into a
networkx copy of the road graph as a real node splitting its edge (and the reverse edge of a
two-way road), then networkx's own Dijkstra answers. Our code instead wires virtual nodes into
a scipy sparse matrix, so agreement checks the modelling, not just the shortest-path library.
Those references are for the free-flow model (the node graph, turns free); the road model's
turn-priced engine has its own in ``test_turn_travel.py``. Tests that hold for any model run on
both (``andorra`` is parametrised).
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from routeplanner.errors import InputError
from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph
from routeplanner.roads.snap import random_road_points
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.road import RoadTravel
from routeplanner.units import haversine_m

pytestmark = pytest.mark.osm


def _nx_graph(graph: RoadGraph) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    for e, (u, v) in enumerate(zip(graph.tails.tolist(), graph.indices.tolist(), strict=True)):
        g.add_edge(u, v, key=e, time=graph.travel_time_s[e], length=graph.length_m[e])
    return g


def _points_on_distinct_roads(
    travel: RoadTravel, count: int, seed: int
) -> tuple[list[GeoPoint], list[int]]:
    lat, lon = random_road_points(travel.graph, count * 3, seed=seed, max_offset_m=300.0)
    points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    snaps = travel.snap_edges(points)
    chosen, roads = [], set()
    for i, e in enumerate(snaps.edge.tolist()):
        twin = int(travel._twin[e])
        road = min(e, twin) if twin >= 0 else e
        if road not in roads:
            roads.add(road)
            chosen.append(i)
        if len(chosen) == count:
            break
    return [points[i] for i in chosen], chosen


def _reference(travel: RoadTravel, points: list[GeoPoint]) -> tuple[np.ndarray, np.ndarray]:
    """Durations and fastest-path distances with each point spliced into its edge(s)."""
    graph = travel.graph
    g = _nx_graph(graph)
    snaps = travel.snap_edges(points)
    names = []
    for i, (e, f) in enumerate(zip(snaps.edge.tolist(), snaps.fraction.tolist(), strict=True)):
        name = f"P{i}"
        names.append(name)
        u, v = int(graph.tails[e]), int(graph.indices[e])
        t, length = graph.travel_time_s[e], graph.length_m[e]
        g.remove_edge(u, v, key=e)
        g.add_edge(u, name, time=f * t, length=f * length)
        g.add_edge(name, v, time=(1 - f) * t, length=(1 - f) * length)
        w = int(travel._twin[e])
        if w >= 0:
            tw, lw = graph.travel_time_s[w], graph.length_m[w]
            g.remove_edge(v, u, key=w)
            g.add_edge(v, name, time=(1 - f) * tw, length=(1 - f) * lw)
            g.add_edge(name, u, time=f * tw, length=f * lw)
        # A point exactly on a node of a one-way road is at that node.
        if f == 0.0:
            g.add_edge(name, u, time=0.0, length=0.0)
        if f == 1.0:
            g.add_edge(v, name, time=0.0, length=0.0)
    n = len(points)
    durations = np.zeros((n, n))
    distances = np.zeros((n, n))
    for i, src in enumerate(names):
        times, paths = nx.single_source_dijkstra(g, src, weight="time")
        for j, dst in enumerate(names):
            durations[i, j] = times[dst]
            path = paths[dst]
            distances[i, j] = sum(
                min(
                    d["length"]
                    for d in g[a][b].values()
                    if d["time"] == min(x["time"] for x in g[a][b].values())
                )
                for a, b in itertools.pairwise(path)
            )
    return durations, distances


@pytest.fixture(scope="module")
def andorra_free(andorra_free_graph: RoadGraph) -> RoadTravel:
    return RoadTravel(andorra_free_graph)


@pytest.fixture(scope="module", params=["free-flow", "road-model"])
def andorra(request: pytest.FixtureRequest, andorra_free: RoadTravel) -> RoadTravel:
    if request.param == "free-flow":
        return andorra_free
    graph: RoadGraph = request.getfixturevalue("andorra_graph")
    return RoadTravel(graph)


def test_is_a_travel_time_provider(andorra: RoadTravel) -> None:
    provider: TravelTimeProvider = andorra
    assert provider.name == "road"


def test_matrix_equals_networkx_at_nodes(andorra_free: RoadTravel) -> None:
    andorra = andorra_free
    g = andorra.graph
    rng = np.random.default_rng(5)
    nodes = rng.choice(g.nodes, 40, replace=False)
    points = [GeoPoint(float(g.lat[i]), float(g.lon[i])) for i in nodes]
    result = andorra.matrix(points)
    reference = _nx_graph(g)
    for i, src in enumerate(nodes.tolist()):
        times = nx.single_source_dijkstra_path_length(reference, src, weight="time")
        expected = np.rint([times[int(dst)] for dst in nodes])
        np.testing.assert_array_equal(result.durations_s[i], expected)


def test_matrix_equals_networkx_with_points_spliced_into_edges(andorra_free: RoadTravel) -> None:
    andorra = andorra_free
    points, _ = _points_on_distinct_roads(andorra, 40, seed=11)
    result = andorra.matrix(points)
    durations, distances = _reference(andorra, points)
    np.testing.assert_array_equal(result.durations_s, np.rint(durations))
    # Equal-time alternatives of different length are possible in principle; none here.
    np.testing.assert_allclose(result.distances_m, distances, atol=1.0)


def test_matrix_properties_on_random_points(andorra: RoadTravel) -> None:
    lat, lon = random_road_points(andorra.graph, 60, seed=2, max_offset_m=300.0)
    points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    result = andorra.matrix(points)
    d = result.durations_s
    assert d.shape == (60, 60)
    assert np.all(np.diag(d) == 0)
    assert np.all(np.diag(result.distances_m) == 0)
    off = ~np.eye(60, dtype=bool)
    assert np.all(d[off] >= 0)
    # Triangle inequality (each rounding may add half a second).
    assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1)
    # Average speeds of real trips stay within what roads allow.
    long = result.distances_m > 2000
    speed_kmh = result.distances_m[long] / d[long] * 3.6
    assert speed_kmh.min() > 5
    assert speed_kmh.max() < 130
    # Rectangular and duration-only calls give the same numbers as the square one.
    sub = andorra.matrix(points[:7], points[20:45])
    np.testing.assert_array_equal(sub.durations_s, d[:7, 20:45])
    np.testing.assert_array_equal(sub.distances_m, result.distances_m[:7, 20:45])
    np.testing.assert_array_equal(andorra.durations(points), d)


def test_repeated_points_share_one_answer(andorra: RoadTravel) -> None:
    lat, lon = random_road_points(andorra.graph, 3, seed=4, max_offset_m=300.0)
    a, b, c = (GeoPoint(float(x), float(y)) for x, y in zip(lat, lon, strict=True))
    once = andorra.matrix([a, b, c])
    repeated = andorra.matrix([b, a, c, a], [c, a, c])
    expected = once.durations_s[np.ix_([1, 0, 2, 0], [2, 0, 2])]
    np.testing.assert_array_equal(repeated.durations_s, expected)
    np.testing.assert_array_equal(
        repeated.distances_m, once.distances_m[np.ix_([1, 0, 2, 0], [2, 0, 2])]
    )
    far = GeoPoint(42.0, 1.0)
    with pytest.raises(InputError) as info:
        andorra.matrix([far, a, far])
    assert [p.field for p in info.value.problems] == ["origins[0]", "origins[2]"]


def _along(travel: RoadTravel, edge: int, fraction: float) -> GeoPoint:
    total = float(travel.index.edge_len_m[edge])
    lat, lon = travel.index.sub_polyline(edge, 0.0, fraction * total)[-1]
    return GeoPoint(lat, lon)


def test_same_one_way_road(andorra_free: RoadTravel) -> None:
    andorra = andorra_free
    g = andorra.graph
    one_way = np.flatnonzero((andorra._twin < 0) & (g.length_m > 300) & (g.tails != g.indices))
    e = int(one_way[0])
    a, b = _along(andorra, e, 0.2), _along(andorra, e, 0.8)
    result = andorra.matrix([a, b])
    t, u, v = g.travel_time_s[e], int(g.tails[e]), int(g.indices[e])
    # Forward: 60 % of the edge. Backward: on to the head, round to the tail, 20 % in again.
    back = nx.dijkstra_path_length(_nx_graph(g), v, u, weight="time")
    assert result.durations_s[0, 1] == round(0.6 * t)
    assert result.durations_s[1, 0] == round(0.4 * t + back)
    assert result.distances_m[0, 1] == round(0.6 * g.length_m[e])


def test_same_two_way_road(andorra: RoadTravel) -> None:
    g = andorra.graph
    two_way = np.flatnonzero((andorra._twin >= 0) & (g.length_m > 300))
    e = int(two_way[0])
    w = int(andorra._twin[e])
    a, b = _along(andorra, e, 0.25), _along(andorra, e, 0.75)
    result = andorra.matrix([a, b])
    assert result.durations_s[0, 1] == round(0.5 * g.travel_time_s[e])
    assert result.durations_s[1, 0] == round(0.5 * g.travel_time_s[w])
    # Both legs run straight along the road, half its length, in opposite directions.
    half = 0.5 * float(andorra.index.edge_len_m[e])
    there, back = andorra.leg_geometry(a, b), andorra.leg_geometry(b, a)
    assert _polyline_m(there) == pytest.approx(half, rel=1e-3)
    assert _polyline_m(back) == pytest.approx(half, rel=1e-3)
    np.testing.assert_allclose(
        [(p.lat, p.lon) for p in back], [(p.lat, p.lon) for p in reversed(there)], atol=1e-9
    )


def test_unreachable_points_are_all_listed(andorra: RoadTravel) -> None:
    g = andorra.graph
    near = GeoPoint(float(g.lat[0]), float(g.lon[0]))
    far1, far2 = GeoPoint(42.0, 1.0), GeoPoint(43.0, 2.0)
    d1, d2 = andorra.snap_edges([far1, far2]).distance_m
    with pytest.raises(InputError) as info:
        andorra.matrix([near, far1], [far2, near])
    assert [str(p) for p in info.value.problems] == [
        f"travel matrix: origins[1]: point (42.00000, 1.00000) is {d1:.0f} m from the nearest"
        " drivable road (limit 1000 m)",
        f"travel matrix: destinations[0]: point (43.00000, 2.00000) is {d2:.0f} m from the"
        " nearest drivable road (limit 1000 m)",
    ]
    with pytest.raises(InputError, match=r"^travel matrix: destination: point \(42\.00000, 1\.0"):
        andorra.leg_geometry(near, far1)


def test_snap_report_names_unreachable_points(andorra: RoadTravel) -> None:
    g = andorra.graph
    report = andorra.snap(
        [("acct-1", GeoPoint(float(g.lat[3]), float(g.lon[3]))), ("acct-far", GeoPoint(42.0, 1.0))]
    )
    assert [s.point_id for s in report.unreachable] == ["acct-far"]
    far = report.by_id()["acct-far"]
    assert far.snapped is None
    assert far.distance_m > 1000
    ok = report.by_id()["acct-1"]
    assert ok.reachable
    assert ok.distance_m == pytest.approx(0.0, abs=1e-6)
    assert report.max_snap_m == 1000
    # A larger limit makes the same point reachable, snapped onto the road.
    wide = RoadTravel(g, max_snap_m=far.distance_m + 1).snap([("acct-far", GeoPoint(42.0, 1.0))])
    assert wide.snaps[0].reachable
    assert wide.snaps[0].snapped is not None


def test_empty_inputs(andorra: RoadTravel) -> None:
    assert andorra.matrix([]).durations_s.shape == (0, 0)
    g = andorra.graph
    one = [GeoPoint(float(g.lat[0]), float(g.lon[0]))]
    assert andorra.matrix(one, []).distances_m.shape == (1, 0)
    with pytest.raises(ValueError, match="max_snap_m must be positive"):
        RoadTravel(g, max_snap_m=0)


def _polyline_m(line: list[GeoPoint]) -> float:
    return sum(haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(line))


def test_leg_geometry_follows_the_roads(andorra: RoadTravel) -> None:
    lat, lon = random_road_points(andorra.graph, 12, seed=9, max_offset_m=300.0)
    points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    result = andorra.matrix(points)
    snaps = andorra.snap_edges(points)
    for i, j in [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (1, 0)]:
        line = andorra.leg_geometry(points[i], points[j])
        assert line[0] == points[i]
        assert line[-1] == points[j]
        snapped_o = GeoPoint(float(snaps.lat[i]), float(snaps.lon[i]))
        assert haversine_m(line[1].lat, line[1].lon, snapped_o.lat, snapped_o.lon) < 0.01
        # Road part = matrix distance; plus the two straight connectors to the points.
        road = _polyline_m(line) - snaps.distance_m[i] - snaps.distance_m[j]
        assert road == pytest.approx(result.distances_m[i, j], rel=0.005, abs=2.0)
        inner = andorra.snap_edges(line[1:-1]).distance_m
        assert inner.max() < 0.5


def test_leg_geometry_on_one_road_and_to_itself(andorra: RoadTravel) -> None:
    g = andorra.graph
    e = int(np.flatnonzero((andorra._twin < 0) & (g.length_m > 300) & (g.tails != g.indices))[0])
    a, b = _along(andorra, e, 0.2), _along(andorra, e, 0.8)
    line = andorra.leg_geometry(a, b)
    assert _polyline_m(line) == pytest.approx(0.6 * float(andorra.index.edge_len_m[e]), rel=1e-3)
    assert andorra.leg_geometry(a, a) == [a, a]


@pytest.mark.slow
def test_heidelberg_matrix_equals_networkx(heidelberg_free_graph: RoadGraph) -> None:
    travel = RoadTravel(heidelberg_free_graph)
    points, _ = _points_on_distinct_roads(travel, 30, seed=1)
    result = travel.matrix(points)
    durations, distances = _reference(travel, points)
    np.testing.assert_array_equal(result.durations_s, np.rint(durations))
    np.testing.assert_allclose(result.distances_m, distances, atol=1.0)
