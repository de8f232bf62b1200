"""Rules checked against territories and reps: unknown targets and rules that can never win."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routeplanner.assignment import AssignMode, assign_accounts, parse_rules, validate_rules
from routeplanner.errors import InputError
from routeplanner.travel.haversine import HaversineTravel
from tests.assignment.factories import account, polygon, rep, square, territory

TERRITORIES = [
    territory("T1", "R1", segment="medical"),
    territory("T2", "R2"),
    territory("T3", "R3", segment="medical"),
    territory("T9", None),
]
REPS = [rep("R1", quals=("medical",)), rep("R2"), rep("R3", quals=("medical", "lab"))]


def _crit(field: str, *values: str, **extra: Any) -> dict[str, Any]:
    return {"field": field, "values": list(values), **extra}


def _problems(rules: list[dict[str, Any]], reps: Any = REPS) -> list[str]:
    with pytest.raises(InputError) as info:
        validate_rules(parse_rules(rules), TERRITORIES, reps, source="rules.json")
    return [str(p) for p in info.value.problems]


def test_good_rules_pass() -> None:
    validate_rules(
        parse_rules(
            [
                {"criteria": [_crit("category", "pharmacy")], "segment": "medical"},
                {"criteria": [_crit("postcode", "691")], "territory": "T2"},
                {"segment": "medical"},
            ]
        ),
        TERRITORIES,
        REPS,
    )


def test_unknown_targets_and_rep_less_territory() -> None:
    assert _problems(
        [
            {"id": "a", "territory": "T7"},
            {"id": "b", "segment": "key accounts"},
            {"id": "c", "territory": "T9"},
            {"id": "off", "territory": "T8", "enabled": False},  # disabled: not checked
        ]
    ) == [
        "rules.json:1: territory: rule a: territory T7 does not exist",
        "rules.json:2: segment: rule b: no territory belongs to segment key accounts",
        "rules.json:3: territory: rule c: territory T9 has no rep",
    ]


def test_contradictory_criteria_in_one_rule() -> None:
    assert _problems(
        [
            {
                "id": "cat",
                "criteria": [_crit("category", "pharmacy"), _crit("category", "bakery")],
                "territory": "T2",
            },
            {
                "id": "pc",
                "criteria": [_crit("postcode", "691", "692"), _crit("postcode", "6931")],
                "territory": "T2",
            },
            {
                "id": "zones",
                "criteria": [
                    _crit("area", "west", geojson=[polygon(square(8.60, 49.40, 8.65, 49.42))]),
                    _crit("area", "east", geojson=[polygon(square(8.70, 49.40, 8.75, 49.42))]),
                ],
                "territory": "T2",
            },
            # compatible: 691 and 6911 can both hold (6911...), tags can be combined
            {
                "id": "fine",
                "criteria": [
                    _crit("postcode", "691"),
                    _crit("postcode", "6911"),
                    _crit("tag", "a"),
                    _crit("tag", "b"),
                ],
                "territory": "T2",
            },
        ]
    ) == [
        "rules.json:1: criteria: rule cat: can never match: category = pharmacy and "
        "category = bakery exclude each other",
        "rules.json:2: criteria: rule pc: can never match: postcode starts with 691 or 692 and "
        "postcode starts with 6931 exclude each other",
        "rules.json:3: criteria: rule zones: can never match: in area west and in area east "
        "do not overlap",
    ]


def test_rule_shadowed_by_an_earlier_broader_rule() -> None:
    inner = polygon(square(8.69, 49.40, 8.70, 49.41))
    outer = polygon(square(8.68, 49.39, 8.72, 49.42))
    assert _problems(
        [
            {
                "id": "pharm",
                "criteria": [_crit("category", "pharmacy", "doctors")],
                "segment": "medical",
            },
            {
                "id": "pharm-a",
                "criteria": [_crit("category", "pharmacy"), _crit("value_class", "A")],
                "territory": "T1",
            },
            {"id": "hd", "criteria": [_crit("postcode", "691")], "territory": "T2"},
            {"id": "hd-old", "criteria": [_crit("postcode", "69117", "6912")], "territory": "T2"},
            {"id": "big", "criteria": [_crit("area", "outer", geojson=[outer])], "territory": "T2"},
            {
                "id": "small",
                "criteria": [_crit("area", "inner", geojson=[inner]), _crit("tag", "x")],
                "territory": "T2",
            },
        ]
    ) == [
        "rules.json:2: criteria: rule pharm-a: can never win: every account it matches is "
        "taken first by rule pharm (category = pharmacy or doctors)",
        "rules.json:4: criteria: rule hd-old: can never win: every account it matches is taken "
        "first by rule hd (postcode starts with 691)",
        "rules.json:6: criteria: rule small: can never win: every account it matches is taken "
        "first by rule big (in area outer)",
    ]


def test_catch_all_shadows_everything_after_it() -> None:
    assert _problems(
        [
            {"id": "all", "territory": "T2"},
            {"id": "late", "criteria": [_crit("tag", "x")], "territory": "T2"},
        ]
    ) == [
        "rules.json:2: criteria: rule late: can never win: every account it matches is taken "
        "first by rule all (every account)"
    ]


def test_qualifications_can_make_a_later_rule_win() -> None:
    """T2's rep R2 has no qualification: an account requiring "medical" falls through rule 1,
    so rule 2 (to T1, rep R1 "medical") can win and is not reported."""
    rules = [
        {"id": "all-t2", "criteria": [_crit("category", "pharmacy")], "territory": "T2"},
        {"id": "pharm-t1", "criteria": [_crit("category", "pharmacy")], "territory": "T1"},
    ]
    validate_rules(parse_rules(rules), TERRITORIES, REPS)
    # Without rep data only the same rep counts as accepting the same accounts:
    validate_rules(parse_rules(rules), TERRITORIES, None)
    # The other way round R1 has every qualification R2 has (none), so rule 2 is dead:
    swapped = [rules[1] | {"id": "a"}, rules[0] | {"id": "b"}]
    assert _problems(swapped) == [
        "rules.json:2: criteria: rule b: can never win: every account it matches is taken "
        "first by rule a (category = pharmacy)"
    ]


def test_rule_for_accounts_requiring_what_its_target_lacks() -> None:
    assert _problems(
        [{"id": "lab", "criteria": [_crit("requires", "lab")], "territory": "T1"}]
    ) == [
        "rules.json:1: criteria: rule lab: can never win: every account it matches requires "
        "lab, which no rep of its target (territory T1) has"
    ]
    # T3 (R3) in the same segment has "lab": fine.
    validate_rules(
        parse_rules([{"criteria": [_crit("requires", "lab")], "segment": "medical"}]),
        TERRITORIES,
        REPS,
    )


@st.composite
def _rules_and_accounts(draw: st.DrawFn) -> tuple[Any, ...]:
    cats = st.sampled_from(["pharmacy", "doctors", "bakery"])
    field_values = {
        "category": st.lists(cats, min_size=1, max_size=2),
        "value_class": st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, max_size=2),
        "tag": st.lists(st.sampled_from(["vip", "new"]), min_size=1, max_size=2),
        "postcode": st.lists(st.sampled_from(["69", "691", "6911", "692"]), min_size=1, max_size=2),
        "requires": st.lists(st.sampled_from(["medical", "lab"]), min_size=1, max_size=2),
    }
    targets = [
        {"territory": "T1"},
        {"territory": "T2"},
        {"territory": "T3"},
        {"segment": "medical"},
    ]
    rules = []
    for k in range(draw(st.integers(1, 6))):
        criteria = [
            {"field": f, "values": draw(field_values[f])}
            for f in draw(st.lists(st.sampled_from(sorted(field_values)), max_size=3))
        ]
        rules.append({"id": f"r{k}", "criteria": criteria, **draw(st.sampled_from(targets))})
    accounts = [
        account(
            f"A{i}",
            category=draw(cats),
            value_class=draw(st.sampled_from(["A", "B", "C"])),
            tags=frozenset(draw(st.sets(st.sampled_from(["vip", "new"])))),
            postcode=draw(st.sampled_from(["69117", "69120", "69221", "68161"])),
            required_qualifications=frozenset(draw(st.sets(st.sampled_from(["medical", "lab"])))),
        )
        for i in range(draw(st.integers(1, 30)))
    ]
    return parse_rules(rules), accounts


@settings(max_examples=200, deadline=None)
@given(_rules_and_accounts())
def test_rules_reported_as_never_winning_never_win(data: tuple[Any, ...]) -> None:
    """The proofs are sound: no account is ever decided by a rule reported as dead."""
    rules, accounts = data
    try:
        validate_rules(rules, TERRITORIES, REPS)
        dead: set[str] = set()
    except InputError as exc:
        dead = {
            p.message.split(":")[0].removeprefix("rule ")
            for p in exc.problems
            if "can never" in p.message
        }
    territories = [t for t in TERRITORIES if t.rep_id is not None]
    report = assign_accounts(
        accounts, REPS, territories, rules, HaversineTravel(), mode=AssignMode.ALL
    )
    assert not {d.rule_id for d in report.decisions} & dead
