"""Criteria matching: polygon areas with holes, postcode prefixes, case-insensitive text."""

from __future__ import annotations

from typing import Any

from routeplanner.assignment import parse_rules
from routeplanner.assignment.rules import AccountTable, match_matrix, rule_matches
from routeplanner.model import GeoPoint
from tests.assignment.factories import account, polygon, square


def _rule(*criteria: dict[str, Any]) -> Any:
    return parse_rules([{"criteria": list(criteria), "territory": "T1"}])[0]


def test_polygon_with_hole() -> None:
    # Outer box 8.69..8.72 x 49.40..49.42, hole 8.70..8.71 x 49.405..49.415.
    area = polygon(square(8.69, 49.40, 8.72, 49.42), square(8.70, 49.405, 8.71, 49.415))
    rule = _rule({"field": "area", "values": ["zone"], "geojson": [area]})
    inside = account("in", GeoPoint(49.402, 8.695))
    in_hole = account("hole", GeoPoint(49.410, 8.705))
    outside = account("out", GeoPoint(49.43, 8.705))
    on_edge = account("edge", GeoPoint(49.41, 8.69))  # on the outer boundary: counts as inside
    on_hole_edge = account("hole-edge", GeoPoint(49.41, 8.70))  # boundary of the hole: inside
    got = {
        a.account_id: rule_matches(rule, a)
        for a in (inside, in_hole, outside, on_edge, on_hole_edge)
    }
    assert got == {"in": True, "hole": False, "out": False, "edge": True, "hole-edge": True}


def test_multipolygon_and_feature_collection() -> None:
    multi = {
        "type": "MultiPolygon",
        "coordinates": [[square(8.60, 49.40, 8.61, 49.41)], [square(8.70, 49.40, 8.71, 49.41)]],
    }
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": polygon(square(8.60, 49.40, 8.61, 49.41)),
            }
        ],
    }
    east = account("east", GeoPoint(49.405, 8.705))
    west = account("west", GeoPoint(49.405, 8.605))
    middle = account("middle", GeoPoint(49.405, 8.655))
    by_multi = _rule({"field": "area", "values": ["m"], "geojson": [multi]})
    by_features = _rule({"field": "area", "values": ["f"], "geojson": [collection]})
    assert [rule_matches(by_multi, a) for a in (east, west, middle)] == [True, True, False]
    assert [rule_matches(by_features, a) for a in (east, west, middle)] == [False, True, False]


def test_postcode_prefix_from_column_or_address() -> None:
    rule = _rule({"field": "postcode", "values": ["691", "SW1 A"]})
    column = account("col", postcode="69117")
    address = account("addr", address="Hauptstraße 12, 69120 Heidelberg")
    other = account("other", address="Kirchgasse 1, 69198 Schriesheim", postcode="68161")
    london = account("uk", postcode="sw1a 2aa")
    none = account("none", address="Marktplatz 3")
    got = [rule_matches(rule, a) for a in (column, address, other, london, none)]
    assert got == [True, True, False, True, False]


def test_text_fields_ignore_case_and_spaces() -> None:
    rule = _rule(
        {"field": "category", "values": ["Pharmacy"]},
        {"field": "tag", "values": ["Key Account", "vip"]},
        {"field": "value_class", "values": ["a", "B"]},
    )
    yes = account(
        "yes", category=" pharmacy", tags=frozenset({"key account", "x"}), value_class="A"
    )
    wrong_tag = account("no-tag", category="pharmacy", tags=frozenset({"x"}), value_class="A")
    wrong_class = account("no-class", category="PHARMACY", tags=frozenset({"VIP"}), value_class="C")
    assert [rule_matches(rule, a) for a in (yes, wrong_tag, wrong_class)] == [True, False, False]


def test_requires_matches_required_qualifications() -> None:
    rule = _rule({"field": "requires", "values": ["Medical"]})
    assert rule_matches(rule, account("m", required_qualifications=frozenset({"medical", "x"})))
    assert not rule_matches(rule, account("n", required_qualifications=frozenset({"x"})))


def test_match_matrix_leaves_disabled_rules_out() -> None:
    rules = parse_rules(
        [
            {"criteria": [{"field": "category", "values": "a"}], "territory": "T1"},
            {
                "criteria": [{"field": "category", "values": "a"}],
                "territory": "T1",
                "enabled": False,
            },
            {"territory": "T1"},
        ]
    )
    table = AccountTable.of([account("x", category="a"), account("y", category="b")])
    assert match_matrix(rules, table).tolist() == [[True, False, True], [False, False, True]]
