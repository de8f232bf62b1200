"""Road-cell contiguity neighbours (a network Voronoi of the accounts) on the real sample roads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from territory_factories import make_reps

from routeplanner.errors import InputError
from routeplanner.model import Account, GeoPoint, VisitRule
from routeplanner.roads.snap import random_road_points
from routeplanner.territories.contiguity import count_violations, neighbour_graph
from routeplanner.territories.workload import CONTIGUITY_NEIGHBOURS, RoadCells, build_context
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.road import RoadTravel
from routeplanner.units import MINUTE

if TYPE_CHECKING:
    from routeplanner.roads.graph import RoadGraph

pytestmark = [pytest.mark.osm, pytest.mark.slow]  # loads the Heidelberg graph (~8 s once)


@pytest.fixture(scope="module")
def heidelberg(heidelberg_graph: RoadGraph) -> RoadTravel:
    return RoadTravel(heidelberg_graph)


def _street(travel: RoadTravel, vertices: int = 6) -> list[GeoPoint]:
    """The inner vertices of the first long one-piece road, in order along it."""
    g = travel.graph
    for e in range(g.edges):
        a, b = int(g.geom_offsets[e]), int(g.geom_offsets[e + 1])
        if b - a >= vertices + 2 and travel.index.edge_len_m[e] > 300:
            return [
                GeoPoint(float(g.geom_lat[k]), float(g.geom_lon[k])) for k in range(a + 1, b - 1)
            ]
    raise AssertionError("no long road in the sample graph")


def _pairs(pairs: np.ndarray) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in pairs}


def _connected(pairs: np.ndarray, n: int, members: list[int], via: tuple[int, ...] = ()) -> bool:
    """Whether ``members`` lie in one piece of the graph on ``members`` and ``via``."""
    inside = [*members, *via]
    keep = np.isin(pairs[:, 0], inside) & np.isin(pairs[:, 1], inside)
    p = pairs[keep]
    graph = coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return len(set(labels[members].tolist())) == 1


def _account(aid: str, where: GeoPoint) -> Account:
    return Account(
        account_id=aid,
        name=aid,
        location=where,
        visit_rule=VisitRule.parse("every 2 weeks"),
        visit_duration_s=30 * MINUTE,
    )


def test_road_travel_offers_road_cells(heidelberg: RoadTravel) -> None:
    assert isinstance(heidelberg, RoadCells)
    assert not isinstance(HaversineTravel(), RoadCells)


def test_accounts_along_one_street_form_a_chain(heidelberg: RoadTravel) -> None:
    street = _street(heidelberg)
    lat, lon = random_road_points(heidelberg.graph, 200, seed=5)
    others = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    pairs = _pairs(heidelberg.cell_adjacency(street + others))
    # An inner point's cell is the stretch of road between its two neighbours along the street.
    for i in range(1, len(street) - 1):
        touching = {b for a, b in pairs if a == i} | {a for a, b in pairs if b == i}
        assert touching == {i - 1, i + 1}


def test_account_between_two_of_a_territory_keeps_it_connected(heidelberg: RoadTravel) -> None:
    street = _street(heidelberg)
    n = len(street)
    before = heidelberg.cell_adjacency(street)
    assert (1, 2) in _pairs(before)
    middle = GeoPoint((street[1].lat + street[2].lat) / 2, (street[1].lon + street[2].lon) / 2)
    after = heidelberg.cell_adjacency([*street, middle])
    assert (1, 2) not in _pairs(after)
    assert {(1, n), (2, n)} <= _pairs(after)
    assert _connected(after, n + 1, [*range(n), n])


def test_new_accounts_only_split_cells_locally(heidelberg: RoadTravel) -> None:
    """Two accounts that were neighbours stay joined, at worst through the new accounts.

    So a territory connected before stays connected when the new accounts between its
    members join it (what a capped realignment needs), unlike the k-nearest graph, where a new
    account anywhere near can push a neighbour out of the k nearest.
    """
    lat, lon = random_road_points(heidelberg.graph, 330, seed=11)
    points = [GeoPoint(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
    old, new = list(range(300)), list(range(300, 330))
    before = heidelberg.cell_adjacency(points[:300])
    after = heidelberg.cell_adjacency(points)
    lost = _pairs(before) - _pairs(after)
    assert lost  # the new accounts do split some cells
    for i, j in lost:
        assert _connected(after, 330, [i, j], via=tuple(new))
    assert _connected(after, 330, old + new)


def test_duplicate_snaps_and_tiny_inputs(heidelberg: RoadTravel) -> None:
    street = _street(heidelberg)
    twice = [street[0], street[0], street[0], street[3]]
    pairs = _pairs(heidelberg.cell_adjacency(twice))
    # Three accounts at one address are joined to each other (in a chain) and to the fourth.
    assert _connected(np.array(sorted(pairs)), 4, [0, 1, 2, 3])
    assert (0, 1) in pairs or (0, 2) in pairs
    assert heidelberg.cell_adjacency([street[0]]).shape == (0, 2)
    assert heidelberg.cell_adjacency([]).shape == (0, 2)


def test_context_joins_road_cells_to_the_k_nearest(heidelberg: RoadTravel) -> None:
    lat, lon = random_road_points(heidelberg.graph, 60, seed=2)
    accounts = [
        _account(f"A{i:02d}", GeoPoint(float(a), float(b)))
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]
    reps = make_reps(2, 0, accounts)
    ctx = build_context(accounts, reps, heidelberg)
    off = build_context(accounts, reps, heidelberg, road_cells=False)
    masked = ctx.account_s + np.diag(np.full(60, np.inf))
    nearest = np.argsort(masked, axis=1, kind="stable")[:, :CONTIGUITY_NEIGHBOURS]
    np.testing.assert_array_equal(off.neighbours, nearest)
    cells = _pairs(heidelberg.cell_adjacency([a.location for a in accounts]))
    # Rows are padded with their own index, which neighbour_graph drops.
    rows = {(i, int(j)) for i in range(60) for j in ctx.neighbours[i] if int(j) != i}
    knn = {(i, int(j)) for i in range(60) for j in nearest[i]}
    assert rows == cells | {(b, a) for a, b in cells} | knn
    assert not cells <= knn  # road cells add links the 8 nearest miss
    # The travel estimate still is the mean time to the two nearest accounts.
    np.testing.assert_allclose(ctx.travel_estimate_s, off.travel_estimate_s)
    np.testing.assert_allclose(ctx.travel_estimate_s, np.sort(masked, axis=1)[:, :2].mean(axis=1))
    graph = neighbour_graph(ctx.neighbours, ctx.account_s)
    assert count_violations(graph, np.zeros(60, dtype=np.int64), ctx.workload_s) == 0


def test_unreachable_account_is_named_before_any_cell_is_drawn(heidelberg: RoadTravel) -> None:
    street = _street(heidelberg)
    accounts = [_account(f"A{i}", p) for i, p in enumerate(street)]
    accounts.append(_account("FAR", GeoPoint(49.0, 8.0)))  # south of Karlsruhe, off the extract
    with pytest.raises(InputError) as info:
        build_context(accounts, make_reps(1, 0, accounts[:-1]), heidelberg)
    assert len(info.value.problems) == 1
    assert str(info.value.problems[0]).startswith(
        "accounts: location: account FAR is not reachable on the road network ("
    )


def test_straight_line_travel_keeps_the_k_nearest() -> None:
    lat, lon = np.linspace(49.40, 49.45, 20), np.linspace(8.65, 8.70, 20)
    accounts = [
        _account(f"A{i:02d}", GeoPoint(float(a), float(b)))
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]
    ctx = build_context(accounts, make_reps(2, 0, accounts), HaversineTravel())
    assert ctx.neighbours.shape == (20, CONTIGUITY_NEIGHBOURS)
    assert all(i not in ctx.neighbours[i] for i in range(20))
