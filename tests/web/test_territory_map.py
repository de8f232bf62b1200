"""The territory map: accounts coloured by territory, hulls, homes, escaping, offline."""

from __future__ import annotations

import re

from routeplanner.model import GeoPoint
from routeplanner.web.maps import TerritoryLayer, territory_colour, territory_svg

HOME_A = GeoPoint(49.3988, 8.6724)
HOME_B = GeoPoint(49.4300, 8.7000)
NORTH = [GeoPoint(49.43, 8.69), GeoPoint(49.44, 8.70), GeoPoint(49.435, 8.71)]
SOUTH = [GeoPoint(49.40, 8.67), GeoPoint(49.39, 8.68)]


def _layers() -> list[TerritoryLayer]:
    return [
        TerritoryLayer(
            territory_id="T-A",
            colour=territory_colour(0),
            accounts=[(f"N{i}", "Bäckerei <Müller> & Söhne", p) for i, p in enumerate(NORTH)],
            home=HOME_B,
            home_title="Anna Schäfer",
        ),
        TerritoryLayer(
            territory_id="T-B",
            colour=territory_colour(1),
            accounts=[(f"S{i}", "Apotheke", p) for i, p in enumerate(SOUTH)],
            home=HOME_A,
            home_title="Jürgen Weiß",
        ),
    ]


def test_accounts_hulls_and_homes() -> None:
    svg = territory_svg(_layers(), None, unassigned=[("X1", "Neu", GeoPoint(49.41, 8.69))])
    assert svg.startswith('<svg class="map territory-map"')
    assert svg.count('class="account"') == 5
    assert svg.count('class="account unassigned"') == 1
    # a hull needs three corners: T-B (two accounts) has none
    assert re.findall(r'<polygon class="hull" data-territory="([^"]+)"', svg) == ["T-A"]
    assert svg.count('class="marker home"') == 2
    assert f'fill="{territory_colour(0)}"' in svg
    assert territory_colour(0) != territory_colour(1)
    assert territory_colour(0) == territory_colour(12)  # the palette repeats
    assert "Bäckerei &lt;Müller&gt; &amp; Söhne" in svg
    assert "<Müller>" not in svg
    assert "<image" not in svg  # nothing fetched by default
    # hulls lie under the points
    assert svg.index('class="hull"') < svg.index('class="account"')


def test_without_hulls_and_empty() -> None:
    assert 'class="hull"' not in territory_svg(_layers(), None, hulls=False)
    assert territory_svg([], None) == ""


def test_every_point_is_inside_the_frame() -> None:
    svg = territory_svg(_layers(), None)
    box = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    assert box is not None
    width, height = int(box.group(1)), int(box.group(2))
    for x, y in re.findall(r'<circle class="account" cx="(-?\d+)" cy="(-?\d+)"', svg):
        assert 0 <= int(x) <= width
        assert 0 <= int(y) <= height
