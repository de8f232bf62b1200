"""The pyosmium pre-filter: osmnx's drive rules, format sniffing and splitting clipped ways."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest

from routeplanner.errors import RoadNetworkError
from routeplanner.roads.osm_filter import (
    NodeControl,
    TurnRestriction,
    closed_to_cars,
    drive_rules,
    extract_drivable,
    parse_maxspeed,
    parse_overpass_filter,
    sniff_format,
    write_drivable_xml,
)
from tests.helpers import DATA_DIR

OSM = DATA_DIR / "osm"


@pytest.mark.parametrize(
    ("tags", "drivable"),
    [
        ({"highway": "residential"}, True),
        ({"highway": "primary", "maxspeed": "50"}, True),
        ({"highway": "residential", "access": "yes"}, True),
        ({"highway": "unclassified", "service": "drive-through"}, True),
        ({}, False),
        ({"waterway": "river"}, False),
        ({"highway": "footway"}, False),
        ({"highway": "service"}, False),
        ({"highway": "track"}, False),
        ({"highway": "residential", "access": "private"}, False),
        ({"highway": "residential", "area": "yes"}, False),
        ({"highway": "residential", "motor_vehicle": "no"}, False),
        ({"highway": "residential", "motorcar": "no"}, False),
        ({"highway": "tertiary", "service": "driveway"}, False),
        # Overpass regexes are unanchored: "proposed" inside a longer value still matches.
        ({"highway": "proposed_road"}, False),
    ],
)
def test_drive_rules_follow_osmnx(tags: dict[str, str], drivable: bool) -> None:
    assert all(rule.accepts(tags) for rule in drive_rules()) is drivable


def test_parse_overpass_filter_reads_presence_match_and_negation() -> None:
    rules = parse_overpass_filter('["highway"]["surface"~"paved"]["access"!~"no"]')
    assert [(r.key, r.negate, r.pattern is None) for r in rules] == [
        ("highway", False, True),
        ("surface", False, False),
        ("access", True, False),
    ]
    # A positive match fails when the tag is absent; a negative one passes.
    assert not rules[1].accepts({"highway": "x"})
    assert rules[2].accepts({"highway": "x"})
    with pytest.raises(ValueError, match="no tag conditions"):
        parse_overpass_filter("way")


def test_sniff_format_reads_content_not_name(tmp_path: Path) -> None:
    xml = (OSM / "grid_mph.osm").read_bytes()
    cases = {
        "a.pbf": (OSM / "andorra.osm.pbf").read_bytes(),
        "b.pbf": gzip.compress(xml),
        "c.pbf": bz2.compress(xml),
        "d.pbf": xml,
    }
    found = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        found[name] = sniff_format(tmp_path / name)
    assert found == {"a.pbf": "pbf", "b.pbf": "osm.gz", "c.pbf": "osm.bz2", "d.pbf": "osm"}


def test_sniff_format_rejects_garbage(tmp_path: Path) -> None:
    bad = tmp_path / "region.osm.pbf"
    bad.write_bytes(b"this is not a map\n" * 10)
    with pytest.raises(RoadNetworkError, match=r"region\.osm\.pbf: not an OSM file"):
        sniff_format(bad)


def test_clipped_way_is_split_into_runs_of_present_nodes(tmp_path: Path) -> None:
    out = tmp_path / "f.osm"
    stats = write_drivable_xml(OSM / "clipped.osm", out)
    # Way 300 (1-2-[99]-3-4) becomes 1-2 and 3-4; way 301 ([98]-7-3) becomes 7-3.
    assert stats.ways_split == 1
    assert stats.node_refs_missing == 2
    assert stats.runs_written == 4
    text = out.read_text(encoding="utf-8")
    assert '<way id="300">\n  <nd ref="1"/>\n  <nd ref="2"/>\n  <tag' in text
    assert '<nd ref="3"/>\n  <nd ref="4"/>' in text
    assert 'ref="99"' not in text
    assert 'ref="98"' not in text


def test_filter_drops_everything_a_car_may_not_use(tmp_path: Path) -> None:
    stats = write_drivable_xml(OSM / "grid_mixed.osm", tmp_path / "f.osm")
    assert (stats.ways_read, stats.ways_kept) == (15, 6)
    assert stats.nodes_written == 9


def test_no_drivable_way_is_an_error_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(RoadNetworkError, match=r"no_roads\.osm: no drivable roads \(3 ways read"):
        write_drivable_xml(OSM / "no_roads.osm", tmp_path / "f.osm")


@pytest.mark.parametrize(
    ("tags", "closed"),
    [
        ({"highway": "primary"}, False),
        ({"highway": "primary", "construction": "primary"}, True),
        ({"highway": "primary", "construction": "minor"}, False),
        ({"highway": "primary", "access": "no"}, True),
        ({"highway": "primary", "access": "no", "motor_vehicle": "yes"}, False),
        ({"highway": "primary", "motorcar": "no", "access": "yes"}, True),
        ({"highway": "residential", "motor_vehicle": "agricultural"}, True),
        ({"highway": "residential", "access": "destination"}, False),
        ({"highway": "primary", "access": "psv"}, True),
    ],
)
def test_closed_to_cars(tags: dict[str, str], closed: bool) -> None:
    assert closed_to_cars(tags) is closed


@pytest.mark.parametrize(
    ("value", "kmh"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("10 knots", 18.52),
        ("90;30", 30.0),
        ("DE:urban", 50.0),
        ("DE:living_street", 7.0),
        ("walk", 7.0),
        ("none", None),
        ("signals", None),
        ("DE:rural", None),
        (None, None),
    ],
)
def test_posted_limits(value: str | None, kmh: float | None) -> None:
    found = parse_maxspeed(value)
    assert found == (None if kmh is None else pytest.approx(kmh))


def test_signals_signs_and_restrictions_are_read_beside_the_ways(tmp_path: Path) -> None:
    extract = extract_drivable(OSM / "junctions.osm", tmp_path / "f.osm")
    assert extract.controls == {
        2: NodeControl(kind="signal", direction="both"),
        3: NodeControl(kind="stop", direction="both"),
        8: NodeControl(kind="signal", direction="forward"),
    }
    assert extract.restrictions == (
        TurnRestriction(from_way=13, via_node=2, to_way=10, only=False),
    )
    assert extract.ways[11].maxspeed_forward == extract.ways[11].maxspeed_backward == 36.0
    assert extract.ways[12].highway == "residential"
    assert extract.stats.restrictions_read == 1


def test_closed_roads_are_left_out_only_when_asked(tmp_path: Path) -> None:
    kept = extract_drivable(OSM / "andorra.osm.pbf", tmp_path / "a.osm")
    closed = extract_drivable(OSM / "andorra.osm.pbf", tmp_path / "b.osm", closed_roads=True)
    # Two bus-only lanes (access=no) and a stretch under construction (construction=primary).
    assert closed.stats.ways_closed == 3
    assert kept.stats.ways_kept - closed.stats.ways_kept == 3
