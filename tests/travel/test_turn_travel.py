"""The road model's turn-priced matrices against networkx on an explicitly expanded graph.

The reference is built independently of the numba search: networkx nodes are the road edges
("about to drive this edge"), joined by every allowed turn at the price of the edge, the wait at
its head and the turn. Each test point becomes an origin node wired to the edges it can turn
into after the rest of its own edge (or its reverse twin), and a destination node reached from
its edge (or twin) after the part of it up to the point; points on a node leave and arrive by
any road there. Two points on one road may also drive straight along it. networkx's Dijkstra
then answers.
"""

from __future__ import annotations

import dataclasses
import itertools

import networkx as nx
import numpy as np
import pytest

from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph
from routeplanner.roads.snap import random_road_points
from routeplanner.travel.expanded import AT_END
from routeplanner.travel.road import RoadTravel
from routeplanner.units import haversine_m

pytestmark = pytest.mark.osm


def _expanded_reference(travel: RoadTravel, points: list[GeoPoint]) -> np.ndarray:
    g = travel.graph
    t, h, twin = g.travel_time_s, g.head_delay_s, travel._twin
    ref = nx.DiGraph()
    owner = np.repeat(np.arange(g.edges), np.diff(g.turn_indptr))
    for k, (e, q) in enumerate(zip(owner.tolist(), g.turn_to.tolist(), strict=True)):
        ref.add_edge(("edge", e), ("edge", q), w=t[e] + h[e] + g.turn_cost_s[k])
    snaps = travel.snap_edges(points)
    ends = [(int(e), float(f)) for e, f in zip(snaps.edge, snaps.fraction, strict=True)]
    for i, (e, f) in enumerate(ends):
        sides = [(e, f)] + ([(int(twin[e]), 1 - f)] if twin[e] >= 0 else [])
        for edge, frac in sides:
            for k in range(int(g.turn_indptr[edge]), int(g.turn_indptr[edge + 1])):
                cost = (1 - frac) * t[edge] + h[edge] + g.turn_cost_s[k]
                _add_min(ref, ("from", i), ("edge", int(g.turn_to[k])), cost)
            _add_min(ref, ("edge", edge), ("to", i), frac * t[edge])
        node = int(g.tails[e]) if f <= AT_END else int(g.indices[e]) if f >= 1 - AT_END else -1
        if node >= 0:
            for q in range(int(g.indptr[node]), int(g.indptr[node + 1])):
                _add_min(ref, ("from", i), ("edge", q), 0.0)
            for q in np.flatnonzero(g.indices == node).tolist():
                _add_min(ref, ("edge", q), ("to", i), t[q])
            _add_min(ref, ("from", i), ("node", node), 0.0)
            _add_min(ref, ("node", node), ("to", i), 0.0)
    for (i, (e, f)), (j, (ej, fj)) in itertools.product(enumerate(ends), repeat=2):
        for edge, start in [(e, f)] + ([(int(twin[e]), 1 - f)] if twin[e] >= 0 else []):
            end = fj if ej == edge else (1 - fj) if twin[ej] == edge and twin[ej] >= 0 else None
            if end is not None and end >= start:
                _add_min(ref, ("from", i), ("to", j), (end - start) * t[edge])
    n = len(points)
    out = np.zeros((n, n))
    for i in range(n):
        reach = nx.single_source_dijkstra_path_length(ref, ("from", i), weight="w")
        out[i] = [0.0 if i == j else reach[("to", j)] for j in range(n)]
    return out


def _add_min(graph: nx.DiGraph, a: object, b: object, w: float) -> None:
    if not graph.has_edge(a, b) or graph[a][b]["w"] > w:
        graph.add_edge(a, b, w=float(w))


def _random_points(graph: RoadGraph, count: int, seed: int) -> list[GeoPoint]:
    lat, lon = random_road_points(graph, count, seed=seed, max_offset_m=300.0)
    points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    # Some points exactly on nodes: leaving and arriving by any road there.
    points += [GeoPoint(float(graph.lat[k]), float(graph.lon[k])) for k in (0, 7, 11)]
    return points


@pytest.fixture(scope="module")
def andorra(andorra_graph: RoadGraph) -> RoadTravel:
    return RoadTravel(andorra_graph)


def test_road_model_graph_has_priced_turns(andorra: RoadTravel) -> None:
    g = andorra.graph
    assert g.has_turns
    assert len(g.turn_to) > g.edges  # several turns per road on average
    assert np.all(g.turn_cost_s >= 0)
    # Every turn joins two edges meeting at a node.
    owner = np.repeat(np.arange(g.edges), np.diff(g.turn_indptr))
    np.testing.assert_array_equal(g.indices[owner], g.tails[g.turn_to])


def test_matrix_equals_networkx_on_the_expanded_graph(andorra: RoadTravel) -> None:
    points = _random_points(andorra.graph, 45, seed=3)
    result = andorra.matrix(points)
    np.testing.assert_array_equal(result.durations_s, np.rint(_expanded_reference(andorra, points)))
    np.testing.assert_array_equal(andorra.durations(points), result.durations_s)


def test_turns_and_waits_make_trips_longer_not_shorter(
    andorra: RoadTravel, andorra_graph: RoadGraph
) -> None:
    """Pricing turns never makes a trip faster than driving its roads alone."""
    points = _random_points(andorra_graph, 30, seed=8)
    # The same roads and edge times with no turn table: turns and junction waits are free.
    no_turns = dataclasses.replace(
        andorra_graph,
        turn_indptr=np.zeros(andorra_graph.edges + 1, dtype=np.int64),
        turn_to=np.zeros(0, dtype=np.int64),
        turn_cost_s=np.zeros(0),
    )
    free_turns = RoadTravel(no_turns)
    priced = andorra.matrix(points).durations_s
    unpriced = free_turns.matrix(points).durations_s
    assert np.all(priced >= unpriced - 1)
    assert np.median(priced[unpriced > 300] / unpriced[unpriced > 300]) > 1.02


def test_leg_geometry_follows_the_priced_route(andorra: RoadTravel) -> None:
    points = _random_points(andorra.graph, 12, seed=9)
    result = andorra.matrix(points)
    snaps = andorra.snap_edges(points)
    for i, j in [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (1, 0), (12, 13), (3, 12)]:
        line = andorra.leg_geometry(points[i], points[j])
        assert line[0] == points[i]
        assert line[-1] == points[j]
        length = sum(haversine_m(a.lat, a.lon, b.lat, b.lon) for a, b in itertools.pairwise(line))
        road = length - snaps.distance_m[i] - snaps.distance_m[j]
        assert road == pytest.approx(result.distances_m[i, j], rel=0.005, abs=2.0)
        assert andorra.snap_edges(line[1:-1]).distance_m.max() < 0.5


@pytest.mark.slow
def test_heidelberg_matrix_equals_networkx_on_the_expanded_graph(
    heidelberg_graph: RoadGraph,
) -> None:
    """Heidelberg has turn restrictions, signals and stop signs: all in the reference too."""
    assert heidelberg_graph.stats["restrictions_placed"] > 300
    travel = RoadTravel(heidelberg_graph)
    points = _random_points(heidelberg_graph, 25, seed=1)
    result = travel.matrix(points)
    np.testing.assert_array_equal(result.durations_s, np.rint(_expanded_reference(travel, points)))
