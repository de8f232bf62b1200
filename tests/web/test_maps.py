"""The offline SVG map: our roads by default, tiles only when a tile server is configured."""

from __future__ import annotations

import itertools
import math
import re

from routeplanner.model import GeoPoint
from routeplanner.roads.graph import RoadGraph
from routeplanner.web.map_layout import MARKER_GAP_PX, MARKER_RADIUS_PX, spread_markers
from routeplanner.web.maps import MapMarker, route_svg

HOME = GeoPoint(49.3988, 8.6724)
SHOP = GeoPoint(49.4106, 8.6940)


def test_default_map_fetches_nothing() -> None:
    svg = route_svg([MapMarker(HOME, "H", "home", kind="home")], [[HOME, SHOP]], None)
    assert "<image" not in svg
    assert svg.count('<polyline class="leg"') == 1
    assert "<title>home</title>" in svg


def test_tiles_cover_the_frame_at_a_sensible_zoom() -> None:
    svg = route_svg(
        [MapMarker(HOME, "H", "home", kind="home"), MapMarker(SHOP, "1", "shop")],
        [[HOME, SHOP]],
        None,
        tile_url="https://tiles.example/{z}/{x}/{y}.png",
    )
    tiles = re.findall(r'href="https://tiles.example/(\d+)/(\d+)/(\d+).png"', svg)
    assert tiles
    zooms = {int(z) for z, _, _ in tiles}
    assert len(zooms) == 1
    zoom = zooms.pop()
    # ~2.4 km across becomes 1000 units: tiles >= 256 units wide means zoom 14 (2.4 km tiles
    # at this latitude are zoom 14; 15 would be narrower than 256 units)
    assert 13 <= zoom <= 15
    # the shop's own tile (slippy-map formula) is among them: x = (lon + 180) / 360 * 2^z
    x = int((SHOP.lon + 180) / 360 * 2**zoom)
    assert any(int(tx) == x for _, tx, _ in tiles)
    # tiles come before (under) the route
    assert svg.index("<image") < svg.index('<polyline class="leg"')


def test_markers_at_nearly_one_place_are_spread_for_tapping() -> None:
    k = 2.5  # map units per screen pixel
    places = [(500.0, 500.0), (500.0, 500.0), (510.0, 505.0), (900.0, 100.0)]
    offsets = spread_markers(places, k)
    assert offsets[3] == (0.0, 0.0)  # a lone marker stays on its place
    screen = [(x / k + dx, y / k + dy) for (x, y), (dx, dy) in zip(places, offsets, strict=True)]
    reach = 2 * MARKER_RADIUS_PX + MARKER_GAP_PX
    for i, j in itertools.combinations(range(3), 2):
        assert math.dist(screen[i], screen[j]) >= reach - 0.5, (i, j, screen)
    # zooming in (fewer units per pixel) only moves the group further apart
    closer = [
        (x / (k / 4) + dx, y / (k / 4) + dy)
        for (x, y), (dx, dy) in zip(places, offsets, strict=True)
    ]
    assert math.dist(closer[0], closer[2]) >= reach - 0.5


def test_day_map_names_main_roads_and_links_stops(heidelberg_graph: RoadGraph) -> None:
    home, shop = GeoPoint(49.3988, 8.6724), GeoPoint(49.4106, 8.6940)
    markers = [MapMarker(home, "H", "home", kind="home"), MapMarker(shop, "1", "1. Shop")]
    svg = route_svg(markers, [[home, shop], [shop, home]], heidelberg_graph)
    names = re.findall(r'startOffset="50%">([^<]+)</textPath>', svg)
    assert 1 <= len(names) <= 14
    assert len(set(names)) == len(names)
    assert set(names) <= set(heidelberg_graph.street_names.tolist())
    assert '<a class="marker stop" href="#stop-1" data-stop="1"' in svg
    assert '<g class="marker home"' in svg
    width, height = map(int, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())  # type: ignore[union-attr]
    assert 0.6 * width - 1 <= height <= width  # a screen's shape, not a tall strip


def test_a_tall_day_is_framed_no_taller_than_wide() -> None:
    north, south = GeoPoint(49.45, 8.69), GeoPoint(49.35, 8.69)
    svg = route_svg(
        [MapMarker(north, "1", "n"), MapMarker(south, "2", "s")], [[north, south]], None
    )
    width, height = map(int, re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())  # type: ignore[union-attr]
    assert height == width


def _luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rgb`` or ``#rrggbb``."""
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_marker_number_meets_text_contrast() -> None:
    """axe-core leaves one-character labels to a person (too short to judge), so the markers'
    fills are checked here against WCAG 1.4.3's 4.5:1 for text."""
    kinds = ("home", "stop", "stop done")
    points = [GeoPoint(49.40 + i / 100, 8.68) for i in range(len(kinds))]
    markers = [
        MapMarker(p, str(i), k, kind=k) for i, (p, k) in enumerate(zip(points, kinds, strict=True))
    ]
    svg = route_svg(markers, [points], None)
    pairs = re.findall(r'class="face" r="[^"]+" fill="(#\w+)"[^>]*/><text [^>]*fill="(#\w+)"', svg)
    assert len(pairs) == len(kinds)
    assert all(_contrast(face, text) >= 4.5 for face, text in pairs), pairs
