"""Territory areas on the real sample: no overlap (unlike convex hulls), every account inside
its own territory's area, valid GeoJSON with counter-clockwise outer rings."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import pytest
import shapely

from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.io.territory_export import convex_hull, territories_geojson
from routeplanner.model import Account, GeoPoint, Territory
from routeplanner.services.territories import areas, split_reachable
from routeplanner.territories.design import design_territories
from routeplanner.territories.shapes import TerritoryShape, territory_shapes
from routeplanner.travel.road import RoadTravel
from tests.helpers import SAMPLE_DIR

if TYPE_CHECKING:
    from routeplanner.roads.graph import RoadGraph

pytestmark = [pytest.mark.osm, pytest.mark.slow]  # the Heidelberg graph and a short design

SLIVER = 1e-4
"""Largest overlap allowed, as a share of the smaller area: rounding, not land."""


@pytest.fixture(scope="module")
def sample(
    heidelberg_graph: RoadGraph,
) -> tuple[RoadTravel, list[Account], tuple[Territory, ...]]:
    travel = RoadTravel(heidelberg_graph)
    on, _ = split_reachable(travel, read_accounts(SAMPLE_DIR / "accounts.csv"))
    plan = design_territories(on, read_reps(SAMPLE_DIR / "reps.csv"), travel, time_limit_s=3.0)
    return travel, on, plan.territories


def _geometry(shape: TerritoryShape) -> shapely.MultiPolygon:
    return shapely.MultiPolygon([shapely.Polygon(p[0], p[1:]) for p in shape.polygons])


def _overlap(a: shapely.Geometry, b: shapely.Geometry) -> float:
    return float(a.intersection(b).area / min(a.area, b.area))


def test_areas_do_not_overlap_where_hulls_do(
    sample: tuple[RoadTravel, list[Account], tuple[Territory, ...]],
) -> None:
    travel, accounts, territories = sample
    by_id = {a.account_id: a for a in accounts}
    hulls = [
        shapely.Polygon(
            convex_hull([(by_id[a].location.lon, by_id[a].location.lat) for a in t.account_ids])
        )
        for t in territories
    ]
    # the designed split interleaves: its convex hulls overlap (the map this replaces)
    assert max(_overlap(a, b) for a, b in itertools.combinations(hulls, 2)) > 0.05
    found = areas(territories, accounts, travel)
    assert len(found) == len(territories)
    shapes = [_geometry(s) for s in found if s is not None]
    assert len(shapes) == len(territories)
    for shape in shapes:
        assert shape.is_valid, shapely.is_valid_reason(shape)
    for a, b in itertools.combinations(shapes, 2):
        assert _overlap(a, b) < SLIVER
    for t, shape in zip(territories, shapes, strict=True):
        for aid in t.account_ids:
            where = by_id[aid].location
            assert shape.covers(shapely.Point(where.lon, where.lat)), (t.territory_id, aid)
    # together they cover the accounts' region, not just dots around each account
    region = shapely.convex_hull(
        shapely.multipoints([(a.location.lon, a.location.lat) for a in accounts])
    )
    assert shapely.union_all(shapes).intersection(region).area > 0.9 * region.area


def test_areas_follow_the_road_cells(
    sample: tuple[RoadTravel, list[Account], tuple[Territory, ...]],
) -> None:
    """Each territory holds most of the road junctions its accounts' road cells hold: the
    areas are drawn from the network Voronoi, not from the map."""
    travel, accounts, territories = sample
    index = {aid: k for k, t in enumerate(territories) for aid in t.account_ids}
    owner = [index[a.account_id] for a in accounts]
    shapes = [
        _geometry(s)
        for s in territory_shapes([a.location for a in accounts], owner, 4, travel)
        if s is not None
    ]
    cell = travel.cell_labels([a.location for a in accounts])
    lat, lon = travel.node_locations()
    held = 0
    counted = 0
    for node in range(0, len(cell), 7):
        if cell[node] < 0:
            continue
        point = shapely.Point(lon[node], lat[node])
        inside = [k for k, s in enumerate(shapes) if s.covers(point)]
        if inside:
            counted += 1
            held += inside == [owner[cell[node]]]
    assert counted > 100
    assert held / counted > 0.97


def test_geojson_areas_are_multipolygons(
    sample: tuple[RoadTravel, list[Account], tuple[Territory, ...]],
) -> None:
    travel, accounts, territories = sample
    found = areas(territories, accounts, travel)
    named = (
        Territory(territory_id="<T&1>", name='"north"', rep_id=territories[0].rep_id),
        *territories[1:],
    )
    data = territories_geojson(named, accounts, geometry="area", areas=(None, *found[1:]))
    text = json.dumps(data, ensure_ascii=False)
    again = json.loads(text)
    assert again["features"][0]["geometry"] is None  # a territory without accounts
    assert again["features"][0]["properties"]["territory_id"] == "<T&1>"
    for feature in again["features"][1:]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        for polygon in feature["geometry"]["coordinates"]:
            outer = polygon[0]
            assert outer[0] == outer[-1]
            assert shapely.LinearRing(outer).is_ccw  # RFC 7946: outer rings counter-clockwise


def test_without_roads_the_accounts_voronoi_and_degenerate_inputs() -> None:
    places = [GeoPoint(49.40, 8.67), GeoPoint(49.41, 8.69), GeoPoint(49.43, 8.70)]
    west, east, empty = territory_shapes(places, [0, 1, 1], 3)
    assert empty is None
    assert west is not None
    assert east is not None
    assert _overlap(_geometry(west), _geometry(east)) < SLIVER
    assert _geometry(west).covers(shapely.Point(8.67, 49.40))
    (alone,) = territory_shapes(places[:1], [0], 1)
    assert alone is not None
    assert _geometry(alone).covers(shapely.Point(8.67, 49.40))
    assert territory_shapes([], [], 2) == [None, None]
    # two accounts at one spot in two territories: the first keeps the spot, no overlap
    first, second = territory_shapes([places[0], places[0], places[1]], [0, 1, 1], 2)
    assert first is not None
    assert second is not None
    assert _overlap(_geometry(first), _geometry(second)) < SLIVER
