"""The rule edit form: what it shows for a stored rule, and what a submitted one means.

The form's rows become rules data (the format of ``docs/assignment.md``), which
:func:`routeplanner.services.assignment.save_rule` validates and stores like any other rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from routeplanner import jsontext
from routeplanner.errors import Problem
from routeplanner.services.assignment import PLACEHOLDER_AREA, AssignmentRule

BLANK_CRITERIA = 2
"""Empty criterion rows the form offers below the rule's own."""


@dataclass(frozen=True, slots=True)
class CriterionRow:
    field: str = ""
    values: str = ""
    geojson: str = ""
    """JSON list of the area geometries, carried in a hidden field (area rows only)."""


@dataclass(frozen=True, slots=True)
class RuleForm:
    """What the edit form shows: a stored rule, a new one, or what was just submitted."""

    original_id: str = ""
    rule_id: str = ""
    name: str = ""
    note: str = ""
    enabled: bool = True
    target_kind: str = "territory"
    target: str = ""
    criteria: tuple[CriterionRow, ...] = ()

    @property
    def rows(self) -> tuple[CriterionRow, ...]:
        return self.criteria + (CriterionRow(),) * BLANK_CRITERIA

    @classmethod
    def of(cls, rule: AssignmentRule) -> RuleForm:
        rows = []
        for c in rule.criteria:
            geojson = json.dumps([json.loads(a.geojson) for a in c.areas]) if c.areas else ""
            rows.append(CriterionRow(c.field.value, ", ".join(c.values), geojson))
        return cls(
            original_id=rule.rule_id,
            rule_id=rule.rule_id,
            name=rule.name,
            note=rule.note,
            enabled=rule.enabled,
            target_kind="territory" if rule.territory_id is not None else "segment",
            target=rule.territory_id or rule.segment or "",
            criteria=tuple(rows),
        )

    @classmethod
    def submitted(cls, form: Mapping[str, str]) -> RuleForm:
        rows = []
        k = 0
        while f"crit_{k}_field" in form or f"crit_{k}_values" in form:
            row = CriterionRow(
                form.get(f"crit_{k}_field", "").strip(),
                form.get(f"crit_{k}_values", ""),
                form.get(f"crit_{k}_geojson", ""),
            )
            if row.field or row.values.strip():
                rows.append(row)
            k += 1
        return cls(
            original_id=form.get("original_id", "").strip(),
            rule_id=form.get("rule_id", "").strip(),
            name=form.get("name", ""),
            note=form.get("note", ""),
            enabled=form.get("enabled", "") in ("1", "on", "true"),
            target_kind=form.get("target_kind", "territory"),
            target=form.get("target", "").strip(),
            criteria=tuple(rows),
        )


def rule_data(
    form: RuleForm, position: int, *, source: str, area: tuple[str, bytes] | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """The plain data of the submitted rule (what :func:`parse_rules` reads) plus problems the
    form itself has (an uploaded area that is not JSON). ``area`` = (file name, content) of a
    GeoJSON file to add as one more area criterion."""
    problems: list[Problem] = []
    label = f"rule {form.rule_id or position}"
    data: dict[str, Any] = {}
    if form.rule_id:
        data["id"] = form.rule_id
    if form.name.strip():
        data["name"] = form.name.strip()
    if form.note.strip():
        data["note"] = form.note.strip()
    if not form.enabled:
        data["enabled"] = False
    if form.target.strip():
        data["segment" if form.target_kind == "segment" else "territory"] = form.target.strip()
    criteria: list[dict[str, Any]] = []
    for row in form.criteria:
        if not row.field:
            continue  # a row without a field is how the form removes a criterion
        values = [v.strip() for v in row.values.split(",") if v.strip()]
        criterion: dict[str, Any] = {"field": row.field, "values": values}
        if row.field == "area":
            try:
                geojson = json.loads(row.geojson) if row.geojson else None
            except json.JSONDecodeError:
                geojson = None
            if not isinstance(geojson, list):
                geojson = [PLACEHOLDER_AREA] * len(values)
                where = f"criteria[{len(criteria) + 1}].values"
                message = f"{label}: add an area by uploading its GeoJSON file"
                problems.append(Problem(source, position, where, message))
            criterion["geojson"] = geojson
        criteria.append(criterion)
    if area is not None:
        name, content = area
        where = f"criteria[{len(criteria) + 1}].values"
        try:
            geometry = jsontext.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = (
                f"{exc.msg} at line {exc.lineno}"
                if isinstance(exc, json.JSONDecodeError)
                else "not UTF-8 text"
            )
            message = f"{label}: area file {name} is not valid JSON: {reason}"
            problems.append(Problem(source, position, where, message))
        else:
            criteria.append({"field": "area", "values": [name], "geojson": [geometry]})
    data["criteria"] = criteria
    return data, problems
