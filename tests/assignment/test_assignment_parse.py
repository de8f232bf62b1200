"""Parsing rules from plain data and files: every malformed rule is named with an exact message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routeplanner.assignment import CriterionField, load_rules_file, parse_rules, rule_to_data
from routeplanner.errors import InputError
from tests.assignment.factories import polygon, square
from tests.helpers import SAMPLE_DIR


def _messages(data: object, **kwargs: object) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_rules(data, source="rules.json", **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_plain_rule_reads_with_defaults_and_describes_itself() -> None:
    (rule,) = parse_rules(
        [{"criteria": [{"field": "category", "values": "pharmacy"}], "territory": "T1"}]
    )
    assert rule.rule_id == "1"  # no id: the position
    assert rule.position == 1
    assert rule.enabled
    assert rule.criteria[0].field is CriterionField.CATEGORY
    assert rule.reason == "rule 1: category = pharmacy"
    assert rule.describe_target() == "territory T1"


def test_description_of_every_field() -> None:
    area = polygon(square(8.69, 49.40, 8.72, 49.42))
    (rule,) = parse_rules(
        [
            {
                "id": "big",
                "criteria": [
                    {"field": "category", "values": ["pharmacy", "doctors"]},
                    {"field": "value_class", "values": ["a"]},
                    {"field": "tag", "values": ["key account"]},
                    {"field": "postcode", "values": ["691", "692"]},
                    {"field": "area", "values": ["zones/altstadt.geojson"], "geojson": [area]},
                    {"field": "requires", "values": ["medical"]},
                ],
                "segment": "medical",
            }
        ]
    )
    assert rule.reason == (
        "rule big: category = pharmacy or doctors and value class = a and tag = key account "
        "and postcode starts with 691 or 692 and in area altstadt.geojson and requires medical"
    )
    assert rule.describe_target() == "best fit in segment medical"


def test_no_criteria_is_a_catch_all() -> None:
    (rule,) = parse_rules([{"id": "rest", "segment": "general"}])
    assert rule.describe() == "every account"


def test_unknown_field_names_the_rule() -> None:
    assert _messages(
        [
            {"id": "ok", "criteria": [{"field": "tag", "values": "x"}], "territory": "T1"},
            {
                "id": "colours",
                "criteria": [{"field": "colour", "values": "red"}],
                "territory": "T1",
            },
        ]
    ) == [
        "rules.json:2: criteria[1].field: rule colours: unknown field 'colour'; "
        "use category, value_class, tag, postcode, area, requires"
    ]


def test_every_problem_of_every_rule_is_listed() -> None:
    assert _messages(
        [
            {"id": "a", "criteria": [{"field": "category", "values": []}], "territory": "T1"},
            {"id": "b", "criteria": [{"field": "tag", "values": ["x"]}]},
            {"id": "c", "criteria": [], "territory": "T1", "segment": "s"},
            {"id": "d", "criteria": [{"field": "value_class", "values": ["D"]}], "segment": "s"},
            {"id": "e", "criteria": [{"field": "postcode", "values": [69117]}], "segment": "s"},
            {"id": "a", "territory": "T2"},
            {"id": "f", "territroy": "T2", "segment": "s"},
            "not a rule",
            {"id": "g", "enabled": "yes", "segment": "s"},
        ]
    ) == [
        "rules.json:1: criteria[1].values: rule a: category has no values",
        "rules.json:2: territory: rule b: no target: give a territory or a segment",
        "rules.json:3: territory: rule c: give a territory or a segment as target, not both",
        "rules.json:4: criteria[1].values: rule d: value class D is not A, B or C",
        "rules.json:5: criteria[1].values: rule e: postcode values must be text or a list of "
        "text (postcodes in quotes)",
        "rules.json:6: id: rule a: id already used by the rule at position 1",
        "rules.json:7: territroy: rule f: unknown key 'territroy'; "
        "use id, name, enabled, criteria, territory, segment, note",
        "rules.json:8: rule 8: must be an object with criteria and a target",
        "rules.json:9: enabled: rule g: enabled must be true or false",
    ]


def test_rules_must_be_a_list() -> None:
    assert _messages({"id": "x"}) == ["rules.json: rules: rules must be a list of rule objects"]


@pytest.mark.parametrize(
    ("geojson", "problem"),
    [
        (
            polygon([[8.69, 49.40], [8.72, 49.40], [8.72, 49.42], [8.69, 49.42]]),
            "area x: ring 1 is not closed (the last position must repeat the first)",
        ),
        (
            polygon([[8.69, 49.40], [8.72, 49.40], [8.69, 49.40]]),
            "area x: ring 1 has 3 positions; a ring needs at least 4 (the first repeated last)",
        ),
        (
            polygon([[8.69, 49.40], [8.72, 49.42], [8.72, 49.40], [8.69, 49.42], [8.69, 49.40]]),
            "area x: is not a valid polygon: Self-intersection[8.705 49.41]",
        ),
        (
            {"type": "Point", "coordinates": [8.69, 49.40]},
            "area x: holds a Point; use a Polygon or MultiPolygon",
        ),
        (
            polygon([[8.69, 49.40], [8.72, 49.40], [8.72, "north"], [8.69, 49.40]]),
            "area x: ring 1 has a position that is not [longitude, latitude]",
        ),
        (
            polygon([[49.40, 8.69], [49.40, 188.0], [49.42, 188.0], [49.40, 8.69]]),
            "area x: ring 1 has a position outside longitude/latitude range: [49.4, 188.0]",
        ),
        (
            {"type": "FeatureCollection", "features": []},
            "area x: FeatureCollection has no features",
        ),
        (
            {"type": "MultiPolygon", "coordinates": [[square(0, 0, 1, 1)], [[[0, 0], [1, 1]]]]},
            "area x: polygon 2 ring 1 has 2 positions; a ring needs at least 4 (the first "
            "repeated last)",
        ),
    ],
)
def test_malformed_polygon_names_rule_and_defect(geojson: dict[str, object], problem: str) -> None:
    data = [
        {
            "id": "zone",
            "criteria": [{"field": "area", "values": ["x"], "geojson": [geojson]}],
            "territory": "T1",
        }
    ]
    assert _messages(data) == [f"rules.json:1: criteria[1].values: rule zone: {problem}"]


def test_area_files_are_read_relative_to_the_rules_file(tmp_path: Path) -> None:
    (tmp_path / "areas").mkdir()
    (tmp_path / "areas" / "broken.geojson").write_text("{not json", encoding="utf-8")
    (tmp_path / "areas" / "ok.geojson").write_text(
        json.dumps({"type": "Feature", "geometry": polygon(square(8.69, 49.40, 8.72, 49.42))}),
        encoding="utf-8",
    )
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "id": "ok",
                        "criteria": [{"field": "area", "values": "areas/ok.geojson"}],
                        "territory": "T1",
                    },
                    {
                        "id": "gone",
                        "criteria": [{"field": "area", "values": "areas/gone.geojson"}],
                        "territory": "T1",
                    },
                    {
                        "id": "broken",
                        "criteria": [{"field": "area", "values": "areas/broken.geojson"}],
                        "territory": "T1",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        load_rules_file(rules)
    assert [str(p) for p in info.value.problems] == [
        f"{rules}:2: criteria[1].values: rule gone: cannot read area file areas/gone.geojson: "
        "No such file or directory",
        f"{rules}:3: criteria[1].values: rule broken: area file areas/broken.geojson is not "
        "valid JSON: Expecting property name enclosed in double quotes at line 1",
    ]


def test_unreadable_or_non_json_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [}', encoding="utf-8")
    with pytest.raises(InputError, match=r"rules.json: not valid JSON: Expecting value at line 1"):
        load_rules_file(path)
    with pytest.raises(InputError, match="cannot read the rules file"):
        load_rules_file(tmp_path / "missing.json")
    path.write_text('{"rules": [], "segmnets": {}}', encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_rules_file(path)
    assert [str(p) for p in info.value.problems] == [
        f'{path}: segmnets: unknown key \'segmnets\'; use "rules" and "segments"'
    ]


def test_sample_rules_file_loads_with_segments_and_area() -> None:
    rules_file = load_rules_file(SAMPLE_DIR / "assignment_rules.json")
    assert rules_file.segments == {"T-R1": "medical", "T-R3": "medical"}
    assert [r.rule_id for r in rules_file.rules] == ["key-altstadt", "medical", "schriesheim"]
    area = rules_file.rules[0].criteria[1]
    assert area.field is CriterionField.AREA
    assert len(area.areas[0].geometry.interiors) == 1  # the hole survived


def test_plain_data_round_trip_embeds_areas() -> None:
    rules_file = load_rules_file(SAMPLE_DIR / "assignment_rules.json")
    data = [rule_to_data(r) for r in rules_file.rules]
    again = parse_rules(json.loads(json.dumps(data)), source="database")  # no files needed
    assert again == rules_file.rules
    assert "geojson" in data[0]["criteria"][1]


def test_plain_data_without_base_dir_never_reads_files(tmp_path: Path) -> None:
    """API input must not make the server read files: areas come embedded or not at all."""
    (tmp_path / "zone.geojson").write_text(
        json.dumps(polygon(square(8.69, 49.40, 8.72, 49.42))), encoding="utf-8"
    )
    data = [
        {
            "id": "z",
            "criteria": [{"field": "area", "values": [str(tmp_path / "zone.geojson")]}],
            "territory": "T1",
        }
    ]
    assert _messages(data) == [
        f"rules.json:1: criteria[1].values: rule z: area {tmp_path / 'zone.geojson'}: "
        "no geojson given (only rules files name GeoJSON files)"
    ]
    (rule,) = parse_rules(data, base_dir=tmp_path)
    assert rule.criteria[0].areas[0].label == "zone.geojson"
