"""The offline SVG map: our roads by default, tiles only when a tile server is configured."""

from __future__ import annotations

import re

from routeplanner.model import GeoPoint
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
