"""The territory map: accounts coloured by territory, areas, homes, escaping, offline."""

from __future__ import annotations

import re

from routeplanner.model import GeoPoint
from routeplanner.territories.shapes import territory_shapes
from routeplanner.web.maps import TerritoryLayer, territory_colour, territory_svg

HOME_A = GeoPoint(49.3988, 8.6724)
HOME_B = GeoPoint(49.4300, 8.7000)
NORTH = [GeoPoint(49.43, 8.69), GeoPoint(49.44, 8.70), GeoPoint(49.435, 8.71)]
SOUTH = [GeoPoint(49.40, 8.67), GeoPoint(49.39, 8.68)]


def _layers() -> list[TerritoryLayer]:
    north, south = territory_shapes(NORTH + SOUTH, [0, 0, 0, 1, 1], 2)
    return [
        TerritoryLayer(
            territory_id="T-A <1>",
            colour=territory_colour(0),
            accounts=[(f"N{i}", "Bäckerei <Müller> & Söhne", p) for i, p in enumerate(NORTH)],
            home=HOME_B,
            home_title="Anna Schäfer",
            area=north,
        ),
        TerritoryLayer(
            territory_id="T-B",
            colour=territory_colour(1),
            accounts=[(f"S{i}", "Apotheke", p) for i, p in enumerate(SOUTH)],
            home=HOME_A,
            home_title="Jürgen Weiß",
            area=south,
        ),
    ]


def test_accounts_areas_and_homes() -> None:
    svg = territory_svg(_layers(), None, unassigned=[("X1", "Neu", GeoPoint(49.41, 8.69))])
    assert svg.startswith('<svg class="map territory-map"')
    assert svg.count('class="account"') == 5
    assert svg.count('class="account unassigned"') == 1
    # every territory has an area, even one of two accounts (a Voronoi, not a hull)
    found = re.findall(r'<path class="area" data-territory="([^"]+)"', svg)
    assert found == ["T-A &lt;1&gt;", "T-B"]
    assert svg.count('class="marker home"') == 2
    assert f'fill="{territory_colour(0)}"' in svg
    assert territory_colour(0) != territory_colour(1)
    assert territory_colour(0) == territory_colour(12)  # the palette repeats
    assert "Bäckerei &lt;Müller&gt; &amp; Söhne" in svg
    assert "<Müller>" not in svg
    assert "T-A <1>" not in svg
    assert "<image" not in svg  # nothing fetched by default
    # areas lie under the points
    assert svg.index('class="area"') < svg.index('class="account"')


def test_without_areas_and_empty() -> None:
    assert 'class="area"' not in territory_svg(_layers(), None, areas=False)
    assert territory_svg([], None) == ""


def test_every_point_is_inside_the_frame() -> None:
    svg = territory_svg(_layers(), None)
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert box is not None
    width, height = int(box.group(1)), int(box.group(2))
    found = re.findall(r'class="account" data-account="[^"]+" cx="(-?\d+)" cy="(-?\d+)"', svg)
    assert len(found) == 5
    for x, y in found:
        assert 0 <= int(x) <= width
        assert 0 <= int(y) <= height
