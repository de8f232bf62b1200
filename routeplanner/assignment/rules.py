"""Assignment rules: what a manager writes ("pharmacies go to the medical segment"), parsed from
plain data, checked against the territories, and matched against accounts in bulk.

A rule is a conjunction of criteria (every criterion must match) and a target: one territory,
or a segment, meaning "the geographic best fit among that segment's territories". A criterion
names one account field and a list of values, any of which matches. Text comparisons ignore
case and surrounding spaces, because account lists are typed by people ("Pharmacy",
"pharmacy "). Areas are GeoJSON polygons (holes honoured); a point on an area's boundary counts
as inside, so two areas sharing an edge both claim the accounts on it and neither loses them.

Plain data is the one representation of a rule outside Python: the rules file holds it (with
areas as GeoJSON file paths), the database and the API hold it with each area's GeoJSON
embedded (see :func:`rule_to_data`), so a stored rule never depends on a file that may move.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from routeplanner import jsontext
from routeplanner.errors import InputError, Problem
from routeplanner.model.account import Account
from routeplanner.model.ids import id_problem
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory

BoolArray = npt.NDArray[np.bool_]

VALUE_CLASSES = ("A", "B", "C")
"""The value classes the account importer accepts; a criterion on another can never match."""


class CriterionField(StrEnum):
    """Account field a criterion tests; the value is what rules files and the API write."""

    CATEGORY = "category"
    VALUE_CLASS = "value_class"
    TAG = "tag"
    POSTCODE = "postcode"
    AREA = "area"
    REQUIRES = "requires"


CRITERION_FIELDS: tuple[str, ...] = tuple(f.value for f in CriterionField)
_SINGLE_VALUED = (CriterionField.CATEGORY, CriterionField.VALUE_CLASS)
_SET_VALUED = (CriterionField.TAG, CriterionField.REQUIRES)
_RULE_KEYS = ("id", "name", "enabled", "criteria", "territory", "segment", "note")
_CRITERION_KEYS = ("field", "values", "geojson")
_LABELS = {
    CriterionField.CATEGORY: "category =",
    CriterionField.VALUE_CLASS: "value class =",
    CriterionField.TAG: "tag =",
    CriterionField.POSTCODE: "postcode starts with",
    CriterionField.AREA: "in area",
    CriterionField.REQUIRES: "requires",
}


def fold(text: str) -> str:
    """The comparison form of a category, tag or qualification: trimmed, case-folded."""
    return text.strip().casefold()


def normalise_postcode(text: str) -> str:
    """Postcodes compare without spaces and case ("69 117" = "69117", "sw1a" = "SW1A")."""
    return "".join(text.split()).upper()


def is_qualified(required: Iterable[str], qualifications: Iterable[str]) -> bool:
    """Whether a rep carrying ``qualifications`` may own an account requiring ``required``."""
    return {fold(q) for q in required} <= {fold(q) for q in qualifications}


@dataclass(frozen=True, slots=True)
class Area:
    """A named polygon or multipolygon; ``geojson`` is its canonical GeoJSON geometry text.

    ``geometry`` is derived from ``geojson`` and left out of equality, so two rules read from
    the same area compare equal whatever shapely object backs them.
    """

    name: str
    geojson: str
    geometry: BaseGeometry = field(compare=False, hash=False, repr=False)

    @property
    def label(self) -> str:
        """The file name without folders: what a reason shows."""
        return Path(self.name).name or self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """One account field and the values any of which matches (areas: ``areas``)."""

    field: CriterionField
    values: tuple[str, ...]
    areas: tuple[Area, ...] = ()

    def __post_init__(self) -> None:
        if not self.values:
            msg = f"criterion on {self.field.value} needs at least one value"
            raise ValueError(msg)
        if self.field is CriterionField.AREA and len(self.areas) != len(self.values):
            msg = "an area criterion needs one area per value"
            raise ValueError(msg)

    def describe(self) -> str:
        """Readable form used in reasons: ``category = pharmacy or doctors``."""
        shown = [a.label for a in self.areas] if self.areas else list(self.values)
        return f"{_LABELS[self.field]} {' or '.join(shown)}"

    @property
    def folded(self) -> frozenset[str]:
        """Values in comparison form (postcodes normalised, value classes upper-case)."""
        if self.field is CriterionField.POSTCODE:
            return frozenset(normalise_postcode(v) for v in self.values)
        if self.field is CriterionField.VALUE_CLASS:
            return frozenset(v.strip().upper() for v in self.values)
        return frozenset(fold(v) for v in self.values)

    @property
    def geometry(self) -> BaseGeometry:
        """Union of the criterion's areas (only for area criteria)."""
        return shapely.union_all([a.geometry for a in self.areas])


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignmentRule:
    """An ordered rule: accounts matching every criterion go to ``territory_id``, or to the
    best-fitting territory of ``segment``. Exactly one of the two is set.

    ``position`` is the 1-based place in the list (first matching rule wins). No criteria
    means every account matches: a catch-all, useful as the last rule.
    """

    rule_id: str
    position: int
    criteria: tuple[Criterion, ...] = ()
    territory_id: str | None = None
    segment: str | None = None
    name: str = ""
    enabled: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        if not self.rule_id.strip():
            msg = "rule_id must not be empty"
            raise ValueError(msg)
        if self.position < 1:
            msg = "rule position must be at least 1"
            raise ValueError(msg)
        if (self.territory_id is None) == (self.segment is None):
            msg = "a rule needs exactly one target: a territory or a segment"
            raise ValueError(msg)

    def describe(self) -> str:
        """The criteria as one readable condition: ``category = pharmacy and postcode starts
        with 69``."""
        return " and ".join(c.describe() for c in self.criteria) or "every account"

    def describe_target(self) -> str:
        if self.territory_id is not None:
            return f"territory {self.territory_id}"
        return f"best fit in segment {self.segment}"

    @property
    def reason(self) -> str:
        """What an account assigned by this rule records: ``rule 3: category = pharmacy``."""
        return f"rule {self.rule_id}: {self.describe()}"


@dataclass(frozen=True, slots=True)
class RulesFile:
    """A rules file: the ordered rules and, when the file has them, territory segments."""

    rules: tuple[AssignmentRule, ...]
    segments: Mapping[str, str] | None = None


# ---------------------------------------------------------------------- parsing


def load_rules_file(path: Path) -> RulesFile:
    """Read a JSON rules file; area paths are relative to the file's folder.

    Raises
    ------
    InputError
        The file cannot be read or is not JSON, or any rule is malformed (every problem listed,
        each naming the rule).
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Problem(source, None, None, f"cannot read the rules file: {exc}")) from exc
    try:
        data = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InputError(Problem(source, None, None, msg)) from exc
    if isinstance(data, list):
        return RulesFile(parse_rules(data, source=source, base_dir=path.parent))
    if not isinstance(data, dict) or "rules" not in data:
        msg = 'expected an object with "rules" (a list) and optionally "segments"'
        raise InputError(Problem(source, None, None, msg))
    problems: list[Problem] = [
        Problem(source, None, key, f'unknown key {key!r}; use "rules" and "segments"')
        for key in data
        if key not in ("rules", "segments", "note")
    ]
    segments = parse_segments(data.get("segments"), source, problems)
    rules: tuple[AssignmentRule, ...] = ()
    try:
        rules = parse_rules(data["rules"], source=source, base_dir=path.parent)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems)
    return RulesFile(rules, segments)


def parse_segments(data: Any, source: str, problems: list[Problem]) -> dict[str, str] | None:
    """Territory id -> segment from a rules file's ``segments``; problems are appended so the
    caller reports them together with the rules' own."""
    if data is None:
        return None
    if not isinstance(data, dict):
        msg = "segments must be an object mapping territory ids to segment names"
        problems.append(Problem(source, None, "segments", msg))
        return None
    out: dict[str, str] = {}
    for territory_id, segment in data.items():
        if not isinstance(segment, str):
            msg = f"segment of territory {territory_id} must be text"
            problems.append(Problem(source, None, "segments", msg))
            continue
        out[str(territory_id)] = segment.strip()
    return out


def parse_rules(
    data: Any, *, source: str = "rules", base_dir: Path | None = None
) -> tuple[AssignmentRule, ...]:
    """Rules from plain data: a list of rule objects in order (first matching wins).

    Each problem is a :class:`Problem` with ``source``, ``row`` = the rule's 1-based position,
    ``field`` = the key at fault (``criteria[2].field``) and a message starting with the rule's
    name (``rule 3: ...``), so the manager finds the rule whatever view shows the message.
    Area criteria take GeoJSON from ``geojson`` (stored rules, the API) or, only when
    ``base_dir`` is given (rules files), read each value as a file path relative to it.

    Raises
    ------
    InputError
        Listing every problem of every rule: unknown keys or fields, empty values, unreadable or
        malformed areas, a missing or double target, a duplicate id.
    """
    if not isinstance(data, list):
        raise InputError(Problem(source, None, "rules", "rules must be a list of rule objects"))
    problems: list[Problem] = []
    rules: list[AssignmentRule] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(data):
        position = index + 1
        rule = _parse_rule(item, position, source, base_dir, problems)
        raw_id = item.get("id", position) if isinstance(item, dict) else position
        rule_id = str(raw_id).strip() if isinstance(raw_id, str | int) else ""
        if rule_id and rule_id in seen:
            msg = f"rule {rule_id}: id already used by the rule at position {seen[rule_id]}"
            problems.append(Problem(source, position, "id", msg))
            continue
        seen.setdefault(rule_id, position)
        if rule is not None:
            rules.append(rule)
    if problems:
        raise InputError(problems)
    return tuple(rules)


def _parse_rule(
    item: Any, position: int, source: str, base_dir: Path | None, problems: list[Problem]
) -> AssignmentRule | None:
    if not isinstance(item, dict):
        msg = f"rule {position}: must be an object with criteria and a target"
        problems.append(Problem(source, position, None, msg))
        return None
    before = len(problems)
    raw_id = item.get("id", str(position))
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not raw_id.strip():
        problems.append(
            Problem(source, position, "id", f"rule {position}: id must be non-empty text")
        )
        raw_id = str(position)
    rule_id = raw_id.strip()
    label = f"rule {rule_id}"

    def bad(key: str | None, message: str) -> None:
        problems.append(Problem(source, position, key, f"{label}: {message}"))

    if (unsafe := id_problem(rule_id)) is not None:
        bad("id", unsafe)

    for key in item:
        if key not in _RULE_KEYS:
            bad(key, f"unknown key {key!r}; use {', '.join(_RULE_KEYS)}")
    name = _text(item.get("name", ""), "name", bad)
    note = _text(item.get("note", ""), "note", bad)
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        bad("enabled", "enabled must be true or false")
        enabled = True
    territory = item.get("territory")
    segment = item.get("segment")
    if territory is not None and segment is not None:
        bad("territory", "give a territory or a segment as target, not both")
    elif territory is None and segment is None:
        bad("territory", "no target: give a territory or a segment")
    for key, value in (("territory", territory), ("segment", segment)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            bad(key, f"{key} must be non-empty text")
        elif (
            key == "territory"
            and isinstance(value, str)
            and (unsafe := id_problem(value.strip())) is not None
        ):
            bad(key, unsafe)
    raw_criteria = item.get("criteria", [])
    criteria: list[Criterion] = []
    if not isinstance(raw_criteria, list):
        bad("criteria", "criteria must be a list of {field, values} objects")
    else:
        for k, raw in enumerate(raw_criteria, start=1):
            criterion = _parse_criterion(raw, f"criteria[{k}]", base_dir, bad)
            if criterion is not None:
                criteria.append(criterion)
    if len(problems) > before:
        return None
    return AssignmentRule(
        rule_id=rule_id,
        position=position,
        criteria=tuple(criteria),
        territory_id=territory.strip() if isinstance(territory, str) else None,
        segment=segment.strip() if isinstance(segment, str) else None,
        name=name,
        enabled=enabled,
        note=note,
    )


def _text(value: Any, key: str, bad: Any) -> str:
    if not isinstance(value, str):
        bad(key, f"{key} must be text")
        return ""
    return value.strip()


def _parse_criterion(raw: Any, where: str, base_dir: Path | None, bad: Any) -> Criterion | None:
    if not isinstance(raw, dict):
        bad(where, "a criterion must be an object with field and values")
        return None
    ok = True
    for key in raw:
        if key not in _CRITERION_KEYS:
            bad(f"{where}.{key}", f"unknown key {key!r}; use field and values")
            ok = False
    name = raw.get("field")
    if not isinstance(name, str) or name.strip() not in CRITERION_FIELDS:
        bad(f"{where}.field", f"unknown field {name!r}; use {', '.join(CRITERION_FIELDS)}")
        return None
    kind = CriterionField(name.strip())
    values = raw.get("values")
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or any(not isinstance(v, str) for v in values):
        bad(
            f"{where}.values",
            f"{kind.value} values must be text or a list of text (postcodes in quotes)",
        )
        return None
    cleaned = [v.strip() for v in values if v.strip()]
    if not cleaned:
        bad(f"{where}.values", f"{kind.value} has no values")
        return None
    if kind is CriterionField.VALUE_CLASS:
        unknown = [v for v in cleaned if v.upper() not in VALUE_CLASSES]
        if unknown:
            bad(f"{where}.values", f"value class {', '.join(unknown)} is not A, B or C")
            ok = False
    areas: list[Area] = []
    if kind is CriterionField.AREA:
        embedded = raw.get("geojson")
        if embedded is not None and (
            not isinstance(embedded, list) or len(embedded) != len(cleaned)
        ):
            bad(f"{where}.geojson", "geojson must be a list with one geometry per area value")
            return None
        for k, value in enumerate(cleaned):
            data = embedded[k] if embedded is not None else None
            area = _load_area(value, data, base_dir, f"{where}.values", bad)
            if area is None:
                ok = False
            else:
                areas.append(area)
    elif "geojson" in raw:
        bad(f"{where}.geojson", "geojson belongs to area criteria only")
        ok = False
    if not ok:
        return None
    return Criterion(field=kind, values=tuple(dict.fromkeys(cleaned)), areas=tuple(areas))


def _load_area(name: str, data: Any, base_dir: Path | None, key: str, bad: Any) -> Area | None:
    if data is None:
        if base_dir is None:
            # Plain data from the API or the database embeds its areas: reading a path sent
            # by a client would let it probe the server's files.
            bad(key, f"area {name}: no geojson given (only rules files name GeoJSON files)")
            return None
        path = base_dir / name
        try:
            data = jsontext.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            bad(key, f"cannot read area file {name}: {reason}")
            return None
        except json.JSONDecodeError as exc:
            bad(key, f"area file {name} is not valid JSON: {exc.msg} at line {exc.lineno}")
            return None
    geometry, problem = area_geometry(data)
    if problem:
        bad(key, f"area {name}: {problem}")
        return None
    assert geometry is not None
    text = json.dumps(shapely.geometry.mapping(geometry), separators=(",", ":"))
    return Area(name, text, geometry)


def area_geometry(data: Any) -> tuple[BaseGeometry | None, str]:
    """A (multi)polygon from GeoJSON (geometry, Feature or FeatureCollection) or a problem.

    Checked by hand before shapely sees it: shapely silently closes open rings and accepts
    rings of three points, which would turn a typo in a file into a different area.
    """
    if not isinstance(data, dict):
        return None, "not a GeoJSON object"
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list) or not features:
            return None, "FeatureCollection has no features"
        parts: list[BaseGeometry] = []
        for k, feature in enumerate(features, start=1):
            part, problem = area_geometry(feature)
            if problem:
                return None, f"feature {k}: {problem}"
            assert part is not None
            parts.append(part)
        return shapely.union_all(parts), ""
    if kind == "Feature":
        return area_geometry(data.get("geometry"))
    if kind not in ("Polygon", "MultiPolygon"):
        return None, f"holds a {kind or 'non-geometry'}; use a Polygon or MultiPolygon"
    coordinates = data.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not isinstance(polygons, list) or not polygons:
        return None, "has no coordinates"
    for p, rings in enumerate(polygons, start=1):
        if not isinstance(rings, list) or not rings:
            return None, f"polygon {p} has no rings"
        for r, ring in enumerate(rings, start=1):
            where = f"polygon {p} ring {r}" if kind == "MultiPolygon" else f"ring {r}"
            problem = _ring_problem(ring)
            if problem:
                return None, f"{where} {problem}"
    try:
        geometry = shape(data)
    except (ValueError, TypeError, AttributeError, shapely.errors.GEOSException) as exc:
        return None, f"is not a readable polygon: {exc}"
    if not geometry.is_valid:
        return None, f"is not a valid polygon: {shapely.is_valid_reason(geometry)}"
    return geometry, ""


def _ring_problem(ring: Any) -> str:
    if not isinstance(ring, list):
        return "is not a list of positions"
    for position in ring:
        if (
            not isinstance(position, list)
            or len(position) < 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in position)
        ):
            return "has a position that is not [longitude, latitude]"
        lon, lat = position[0], position[1]
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return f"has a position outside longitude/latitude range: {position}"
    if len(ring) < 4:
        return f"has {len(ring)} positions; a ring needs at least 4 (the first repeated last)"
    if ring[0][:2] != ring[-1][:2]:
        return "is not closed (the last position must repeat the first)"
    return ""


def rule_to_data(rule: AssignmentRule) -> dict[str, Any]:
    """Plain data of a rule with areas embedded as GeoJSON, as stored and sent by the API;
    :func:`parse_rules` reads it back to an equal rule."""
    data: dict[str, Any] = {"id": rule.rule_id}
    if rule.name:
        data["name"] = rule.name
    if not rule.enabled:
        data["enabled"] = False
    data["criteria"] = [
        {"field": c.field.value, "values": list(c.values)}
        | ({"geojson": [json.loads(a.geojson) for a in c.areas]} if c.areas else {})
        for c in rule.criteria
    ]
    if rule.territory_id is not None:
        data["territory"] = rule.territory_id
    else:
        data["segment"] = rule.segment
    if rule.note:
        data["note"] = rule.note
    return data


def rules_to_data(rules: Sequence[AssignmentRule]) -> list[dict[str, Any]]:
    return [rule_to_data(r) for r in sorted(rules, key=lambda r: r.position)]


# ---------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True, eq=False)
class AccountTable:
    """Account fields in comparison form, as arrays, so each criterion is one vector test."""

    category: npt.NDArray[np.str_]
    value_class: npt.NDArray[np.str_]
    postcode: npt.NDArray[np.str_]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    tags: tuple[frozenset[str], ...]
    requires: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, accounts: Sequence[Account]) -> AccountTable:
        return cls(
            category=np.array([fold(a.category) for a in accounts], dtype=np.str_),
            value_class=np.array([a.value_class.strip().upper() for a in accounts], dtype=np.str_),
            postcode=np.array(
                [normalise_postcode(a.effective_postcode) for a in accounts], dtype=np.str_
            ),
            lon=np.array([a.location.lon for a in accounts], dtype=np.float64),
            lat=np.array([a.location.lat for a in accounts], dtype=np.float64),
            tags=tuple(frozenset(fold(t) for t in a.tags) for a in accounts),
            requires=tuple(frozenset(fold(q) for q in a.required_qualifications) for a in accounts),
        )

    def __len__(self) -> int:
        return len(self.lon)


def criterion_mask(criterion: Criterion, table: AccountTable) -> BoolArray:
    """Which accounts the criterion matches."""
    n = len(table)
    values = criterion.folded
    if criterion.field is CriterionField.CATEGORY:
        return np.isin(table.category, sorted(values))
    if criterion.field is CriterionField.VALUE_CLASS:
        return np.isin(table.value_class, sorted(values))
    if criterion.field is CriterionField.POSTCODE:
        mask = np.zeros(n, dtype=np.bool_)
        for prefix in values:
            mask |= np.char.startswith(table.postcode, prefix) & (
                np.char.str_len(table.postcode) > 0
            )
        return mask
    if criterion.field is CriterionField.AREA:
        return np.asarray(shapely.intersects_xy(criterion.geometry, table.lon, table.lat), bool)
    sets = table.tags if criterion.field is CriterionField.TAG else table.requires
    return np.fromiter((not s.isdisjoint(values) for s in sets), dtype=np.bool_, count=n)


def rule_mask(rule: AssignmentRule, table: AccountTable) -> BoolArray:
    mask = np.ones(len(table), dtype=np.bool_)
    for criterion in rule.criteria:
        mask &= criterion_mask(criterion, table)
    return mask


def match_matrix(rules: Sequence[AssignmentRule], table: AccountTable) -> BoolArray:
    """``(accounts, rules)``: which enabled rule matches which account (disabled: all False)."""
    out = np.zeros((len(table), len(rules)), dtype=np.bool_)
    for k, rule in enumerate(rules):
        if rule.enabled:
            out[:, k] = rule_mask(rule, table)
    return out


def rule_matches(rule: AssignmentRule, account: Account) -> bool:
    """One account against one rule (the bulk path is :func:`match_matrix`)."""
    return bool(rule_mask(rule, AccountTable.of([account]))[0])


# ---------------------------------------------------------------------- validation


def validate_rules(
    rules: Sequence[AssignmentRule],
    territories: Sequence[Territory],
    reps: Sequence[Rep] | None = None,
    *,
    source: str = "rules",
) -> None:
    """Check enabled rules against the territories (and reps) they will run on.

    Errors, each naming the rule: a target territory or segment that does not exist, a target
    with no rep; and rules that can never win, proven as follows (nothing else is claimed):

    * *contradiction*: two criteria on category or value class with no value in common, postcode
      criteria whose prefixes cannot both hold, or areas that do not intersect;
    * *unqualified target*: every account the rule matches requires a qualification (a
      ``requires`` criterion) that no rep of its target has;
    * *shadowed*: an earlier enabled rule matches every account this rule matches (each of its
      criteria is implied by one of this rule's: a value subset, a longer postcode prefix, an
      area it covers) and accepts every account this rule's target would accept (each rep of
      this rule's target has no qualification missing from some rep of the earlier target).
      Without ``reps`` only the same rep counts as accepting the same accounts.

    Raises
    ------
    InputError
        Listing every problem with ``row`` = the rule's position.
    """
    problems: list[Problem] = []
    by_id = {t.territory_id: t for t in territories}
    segments = {t.segment for t in territories if t.segment}
    quals = {r.rep_id: frozenset(fold(q) for q in r.qualifications) for r in reps or ()}
    candidates: dict[str, list[str]] = {}
    active = [r for r in sorted(rules, key=lambda r: r.position) if r.enabled]
    for rule in active:
        label = f"rule {rule.rule_id}"

        def bad(key: str, message: str, rule: AssignmentRule = rule, label: str = label) -> None:
            problems.append(Problem(source, rule.position, key, f"{label}: {message}"))

        if rule.territory_id is not None:
            territory = by_id.get(rule.territory_id)
            if territory is None:
                bad("territory", f"territory {rule.territory_id} does not exist")
                continue
            reps_of = [territory.rep_id] if territory.rep_id else []
            if not reps_of:
                bad("territory", f"territory {rule.territory_id} has no rep")
                continue
        else:
            if rule.segment not in segments:
                bad("segment", f"no territory belongs to segment {rule.segment}")
                continue
            reps_of = [
                t.rep_id for t in territories if t.segment == rule.segment and t.rep_id is not None
            ]
            if not reps_of:
                bad("segment", f"no territory of segment {rule.segment} has a rep")
                continue
        candidates[rule.rule_id] = reps_of
        contradiction = _contradiction(rule)
        if contradiction:
            bad("criteria", f"can never match: {contradiction}")
            continue
        if reps is not None:
            missing = _unqualified(rule, [quals.get(r, frozenset()) for r in reps_of])
            if missing:
                bad(
                    "criteria",
                    f"can never win: every account it matches requires {missing}, "
                    f"which no rep of its target ({rule.describe_target()}) has",
                )
                continue
        for earlier in active:
            if earlier.position >= rule.position:
                break
            if earlier.rule_id not in candidates or _contradiction(earlier):
                continue
            if _implies(rule, earlier) and _accepts_all(
                candidates[earlier.rule_id], reps_of, quals if reps is not None else None
            ):
                bad(
                    "criteria",
                    f"can never win: every account it matches is taken first by "
                    f"rule {earlier.rule_id} ({earlier.describe()})",
                )
                break
    if problems:
        raise InputError(problems)


def _by_field(rule: AssignmentRule, kind: CriterionField) -> list[Criterion]:
    return [c for c in rule.criteria if c.field is kind]


def _allowed(rule: AssignmentRule, kind: CriterionField) -> frozenset[str] | None:
    """Values a single-valued field may take under all of the rule's criteria on it."""
    sets = [c.folded for c in _by_field(rule, kind)]
    if not sets:
        return None
    out = sets[0]
    for s in sets[1:]:
        out &= s
    return out


def _prefixes(rule: AssignmentRule) -> frozenset[str] | None:
    """Prefixes a postcode must start with (one of) under all of the rule's postcode criteria:
    two prefixes hold together only when one extends the other, and then the longer one says it."""
    sets = [c.folded for c in _by_field(rule, CriterionField.POSTCODE)]
    if not sets:
        return None
    out = sets[0]
    for s in sets[1:]:
        out = frozenset(
            p if len(p) >= len(q) else q
            for p in out
            for q in s
            if p.startswith(q) or q.startswith(p)
        )
    return out


def _area(rule: AssignmentRule) -> BaseGeometry | None:
    """Where an account must lie under all of the rule's area criteria."""
    areas = _by_field(rule, CriterionField.AREA)
    if not areas:
        return None
    out = areas[0].geometry
    for c in areas[1:]:
        out = out.intersection(c.geometry)
    return out


def _contradiction(rule: AssignmentRule) -> str:
    for kind in _SINGLE_VALUED:
        allowed = _allowed(rule, kind)
        if allowed is not None and not allowed:
            parts = " and ".join(c.describe() for c in _by_field(rule, kind))
            return f"{parts} exclude each other"
    prefixes = _prefixes(rule)
    if prefixes is not None and not prefixes:
        parts = " and ".join(c.describe() for c in _by_field(rule, CriterionField.POSTCODE))
        return f"{parts} exclude each other"
    area = _area(rule)
    if area is not None and area.is_empty:
        parts = " and ".join(c.describe() for c in _by_field(rule, CriterionField.AREA))
        return f"{parts} do not overlap"
    return ""


def _unqualified(rule: AssignmentRule, target_quals: Sequence[frozenset[str]]) -> str:
    """A ``requires`` criterion none of whose values any target rep has, described."""
    for c in _by_field(rule, CriterionField.REQUIRES):
        if all(not (c.folded & q) for q in target_quals):
            return " or ".join(c.values)
    return ""


def _implies(later: AssignmentRule, earlier: AssignmentRule) -> bool:
    """Whether every account matching ``later`` provably matches ``earlier`` too."""
    for c in earlier.criteria:
        if c.field in _SINGLE_VALUED:
            allowed = _allowed(later, c.field)
            if allowed is None or not allowed <= c.folded:
                return False
        elif c.field in _SET_VALUED:
            if not any(d.folded <= c.folded for d in _by_field(later, c.field)):
                return False
        elif c.field is CriterionField.POSTCODE:
            prefixes = _prefixes(later)
            if prefixes is None or not all(
                any(p.startswith(q) for q in c.folded) for p in prefixes
            ):
                return False
        else:
            area = _area(later)
            if area is None or not c.geometry.covers(area):
                return False
    return True


def _accepts_all(
    earlier_reps: Sequence[str],
    later_reps: Sequence[str],
    quals: Mapping[str, frozenset[str]] | None,
) -> bool:
    """Whether every account some rep of ``later_reps`` may own, some rep of ``earlier_reps``
    may own too (so a qualification can never make the earlier rule fall through to the later)."""
    for rep in later_reps:
        if rep in earlier_reps:
            continue
        if quals is None:
            return False
        mine = quals.get(rep, frozenset())
        if not any(mine <= quals.get(e, frozenset()) for e in earlier_reps):
            return False
    return True
