"""Assignment rules from the browser and the API: edit, upload, dry run, apply, and reasons.

Everything a rule goes through here is the core's own parsing and validation
(:func:`~routeplanner.assignment.parse_rules`, :func:`~routeplanner.workflows.check_rules`), so
the page, the API and ``routeplanner rules import`` accept exactly the same rules and report
exactly the same messages, each naming the rule.

Two web-specific decisions:

* **Areas** come embedded as GeoJSON (``geojson`` next to ``values``, as ``rules show --json``
  writes them) or as uploaded files whose names match the area values. A path is never read
  from the server's disk: a browser cannot mean the server's files, and reading them would let
  anyone probe the file system through error messages.
* **Edits tolerate old problems.** Stored rules can stop fitting when territories change (a
  target territory is gone). Refusing every edit then would trap the manager: deleting one of
  two broken rules still leaves the other. So a single-rule edit, delete or reorder is refused
  only when it *adds* a problem; every problem, old and new, is shown. Uploads and the API's
  ``PUT`` replace everything and must be free of problems, like the CLI import.

A dry run is kept in memory with a fingerprint of everything it read (accounts, reps,
territories, rules); applying it is refused (409) when the fingerprint no longer matches, so
what is stored is exactly what the manager saw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

from fastapi import HTTPException

from routeplanner import workflows
from routeplanner.assignment import (
    AssignmentReport,
    AssignmentRule,
    AssignMode,
    assign_accounts,
    parse_rules,
    rules_to_data,
)
from routeplanner.assignment.assign import DEFAULT_TOLERANCE
from routeplanner.assignment.rules import RulesFile, parse_segments
from routeplanner.errors import InputError, Problem, RoadNetworkError, StorageError
from routeplanner.model import Account
from routeplanner.model.history import OwnershipCause, OwnershipRecord
from routeplanner.storage import Store
from routeplanner.storage.records import ImportSummary
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.web.services import Services
from routeplanner.workflows import check_rules, import_rules

PLACEHOLDER_AREA: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [[[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.001], [0.0, 0.0]]],
}
"""Stands in for an area that was not uploaded, so parsing still reports every other problem;
the missing area itself is reported and nothing is stored."""


# -- reasons -------------------------------------------------------------------------------


def ownership_reason(record: OwnershipRecord | None) -> str:
    """Why an account sits where it does, in the words a manager reads on the accounts page:
    ``rule 3: category = pharmacy``, ``nearest territory with spare capacity``,
    ``realignment by anna``."""
    if record is None:
        return ""
    by = f" by {record.changed_by}" if record.changed_by else ""
    if record.cause is OwnershipCause.REALIGNMENT:
        return f"realignment{by}"
    if record.detail:
        return record.detail
    if record.cause is OwnershipCause.MANUAL:
        return f"manual change{by}"
    return f"{record.cause.value}{by}"


# -- travel ----------------------------------------------------------------------------------


def assignment_travel(services: Services) -> tuple[TravelTimeProvider, str]:
    """The road network when there is one, else straight-line estimates (said on the page):
    assignment only ranks territories by distance, so a missing OSM file should not block
    an import the way it must block route planning."""
    try:
        return services.travel(), ""
    except RoadNetworkError as exc:
        return HaversineTravel(), f"straight-line travel estimates ({exc})"


# -- state fingerprint -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset):
        return sorted(str(v) for v in value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return str(value)


def state_fingerprint(store: Store) -> str:
    """A hash of everything an assignment reads; equal fingerprints give equal decisions."""
    payload = {
        "accounts": sorted(
            (dataclasses.asdict(a) for a in store.accounts.all()), key=lambda a: a["account_id"]
        ),
        "reps": sorted(
            (dataclasses.asdict(r) for r in store.reps.all()), key=lambda r: r["rep_id"]
        ),
        "territories": [dataclasses.asdict(t) for t in store.territories.all()],
        "rules": rules_to_data(store.rules.all()),
    }
    text = json.dumps(payload, default=_plain, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- dry runs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignParams:
    """What a dry run was asked for; ``tolerance`` is a fraction (0.05 = ±5 %)."""

    mode: AssignMode = AssignMode.ALL
    horizon_days: int = 28
    tolerance: float = DEFAULT_TOLERANCE


def parse_assign_params(fields: Mapping[str, str | None], *, source: str) -> AssignParams:
    """Validate form or JSON values given as text; every problem at once."""
    problems: list[Problem] = []
    mode_text = (fields.get("mode") or "all").strip()
    if mode_text not in ("all", "new"):
        problems.append(
            Problem(source, None, "mode", f"mode must be all or new, not {mode_text!r}")
        )
    horizon = 28
    text = (fields.get("horizon_days") or "").strip()
    if text:
        if not text.isdigit() or not 1 <= int(text) <= 366:
            problems.append(
                Problem(
                    source, None, "horizon_days", f"must be a whole number 1 to 366, got {text}"
                )
            )
        else:
            horizon = int(text)
    tolerance = DEFAULT_TOLERANCE
    text = (fields.get("tolerance_pct") or "").strip()
    if text:
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            problems.append(Problem(source, None, "tolerance_pct", f"{text!r} is not a number"))
        else:
            if not 0.5 <= value <= 50:
                problems.append(
                    Problem(source, None, "tolerance_pct", f"must be 0.5 to 50, got {text}")
                )
            else:
                tolerance = value / 100.0
    if problems:
        raise InputError(problems)
    return AssignParams(mode=AssignMode(mode_text), horizon_days=horizon, tolerance=tolerance)


@dataclass
class DryRun:
    """A computed, not stored, assignment and the state it was computed on."""

    token: str
    state: str
    params: AssignParams
    report: AssignmentReport
    names: dict[str, str]
    travel_note: str
    created_by: str
    created_at: datetime
    applied_by: str = ""
    moved: int = 0


class DryRuns:
    """The newest dry runs of one app (in memory; a restart forgets them: run again)."""

    def __init__(self, keep: int = 20) -> None:
        self._runs: OrderedDict[str, DryRun] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()
        self.apply_lock = threading.Lock()

    def add(self, run: DryRun) -> None:
        with self._lock:
            self._runs[run.token] = run
            self._runs.move_to_end(run.token)
            while len(self._runs) > self._keep:
                self._runs.popitem(last=False)

    def get(self, token: str) -> DryRun | None:
        with self._lock:
            return self._runs.get(token)


def dry_run(services: Services, runs: DryRuns, params: AssignParams, user: str) -> DryRun:
    """Evaluate the stored rules on the stored accounts; nothing is stored.

    Raises
    ------
    InputError
        No accounts, reps or territories, or a stored rule whose target no longer exists
        (named), as :func:`~routeplanner.assignment.assign_accounts` reports it.
    """
    store = services.store
    state = state_fingerprint(store)
    accounts, reps = store.accounts.all(), store.reps.all()
    territories = store.territories.all()
    problems = []
    if not accounts:
        problems.append(Problem("database", None, "accounts", "no accounts: import them first"))
    if not territories:
        problems.append(
            Problem("database", None, "territories", "no territories stored: design them first")
        )
    if problems:
        raise InputError(problems)
    travel, note = assignment_travel(services)
    report = assign_accounts(
        accounts,
        reps,
        territories,
        store.rules.all(),
        travel,
        mode=params.mode,
        horizon_days=params.horizon_days,
        tolerance=params.tolerance,
    )
    key = f"{state}|{params.mode}|{params.horizon_days}|{params.tolerance:.6f}|{user}"
    token = hashlib.sha256(f"{key}|{datetime.now(tz=UTC).isoformat()}".encode()).hexdigest()[:24]
    run = DryRun(
        token=token,
        state=state,
        params=params,
        report=report,
        names={a.account_id: a.name for a in accounts},
        travel_note=note,
        created_by=user,
        created_at=datetime.now(tz=UTC),
    )
    runs.add(run)
    return run


def get_dry_run(runs: DryRuns, token: str) -> DryRun:
    run = runs.get(token)
    if run is None:
        raise HTTPException(
            status_code=404,
            detail=f"dry run {token!r} is unknown or expired (only the newest are kept); "
            "run it again",
        )
    return run


STALE = "the accounts, territories or rules changed since this dry run; run it again"


def apply_dry_run(services: Services, runs: DryRuns, token: str, user: str) -> DryRun:
    """Store the dry run's changes (ownership history: cause rule, or manual for a lock; the
    reason as detail; ``user`` as changed_by) in one transaction.

    Raises
    ------
    HTTPException
        404 unknown dry run; 409 already applied, or anything it read changed since.
    """
    run = get_dry_run(runs, token)
    with runs.apply_lock:
        if run.applied_by:
            raise HTTPException(
                status_code=409, detail=f"this dry run was already applied by {run.applied_by}"
            )
        if state_fingerprint(services.store) != run.state:
            raise HTTPException(status_code=409, detail=STALE)
        try:
            moved = services.store.territories.apply_assignment(run.report.decisions, user=user)
        except StorageError as exc:
            if "compute it again" in str(exc):
                raise HTTPException(status_code=409, detail=STALE) from exc
            raise
        run.applied_by, run.moved = user, moved
    return run


# -- rules: problems, edits, uploads ---------------------------------------------------------


def renumbered(rules: Sequence[AssignmentRule]) -> list[AssignmentRule]:
    return [replace(r, position=k) for k, r in enumerate(rules, start=1)]


def rule_problems(store: Store, rules: Sequence[AssignmentRule], *, source: str) -> list[Problem]:
    """Every problem of ``rules`` against the stored territories and reps (none: ``[]``)."""
    try:
        check_rules(store, rules, source=source)
    except InputError as exc:
        return exc.problems
    return []


def stored_problems(store: Store) -> list[Problem]:
    """Problems the stored rules have now (territories may have changed under them)."""
    rules = store.rules.all()
    if not rules or not store.territories.all():
        return []
    return rule_problems(store, rules, source="stored rules")


def save_rules_tolerant(
    store: Store, data: list[dict[str, Any]], *, source: str, user: str
) -> tuple[AssignmentRule, ...]:
    """Parse ``data`` (the whole ordered list) and store it unless it adds a problem.

    Raises
    ------
    InputError
        Parsing fails, or validation finds a problem the stored rules do not already have;
        the error lists every problem (old ones too, so the page shows the whole picture).
    """
    rules = parse_rules(data, source=source)
    after = (
        rule_problems(store, rules, source=source) if rules else []
    )  # none left: nothing to check
    if after:
        before = {(p.field, p.message) for p in stored_problems(store)}
        if not store.territories.all() or any((p.field, p.message) not in before for p in after):
            raise InputError(after)
    store.rules.replace(rules, user=user)
    return rules


def _area_criteria(data: Any) -> list[tuple[int, int, dict[str, Any]]]:
    """(rule position, criterion number, criterion) of every area criterion in rules data."""
    found: list[tuple[int, int, dict[str, Any]]] = []
    if not isinstance(data, list):
        return found
    for position, rule in enumerate(data, start=1):
        criteria = rule.get("criteria") if isinstance(rule, dict) else None
        if not isinstance(criteria, list):
            continue
        for k, criterion in enumerate(criteria, start=1):
            if isinstance(criterion, dict) and criterion.get("field") == "area":
                found.append((position, k, criterion))
    return found


def _rule_label(rule: Any, position: int) -> str:
    raw = rule.get("id", position) if isinstance(rule, dict) else position
    return f"rule {str(raw).strip() if isinstance(raw, str | int) else position}"


def embed_areas(
    data: Any, areas: Mapping[str, Any], *, source: str, require_embedded: bool = False
) -> list[Problem]:
    """Put uploaded area GeoJSON next to each area criterion that names a file, in place.

    Files match by name without folders (``areas/altstadt.geojson`` matches an upload named
    ``altstadt.geojson``). A criterion that already embeds ``geojson`` is left alone. Returns a
    problem for each area that is neither embedded nor uploaded; such criteria get a
    placeholder so parsing can still report every other problem.
    """
    problems = []
    rules = data if isinstance(data, list) else []
    for position, k, criterion in _area_criteria(data):
        if "geojson" in criterion:
            continue
        values = criterion.get("values")
        names = [values] if isinstance(values, str) else values
        if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
            continue  # parse_rules reports it
        names = [v.strip() for v in names if v.strip()]
        if not names:
            continue
        geojson = []
        for name in names:
            base = name.replace("\\", "/").rsplit("/", 1)[-1]
            if base in areas:
                geojson.append(areas[base])
                continue
            label = _rule_label(rules[position - 1], position)
            hint = (
                "embed it as geojson"
                if require_embedded
                else "upload it with the rules file (or embed it as geojson)"
            )
            message = f"{label}: area file {name} was not uploaded: {hint}"
            problems.append(Problem(source, position, f"criteria[{k}].values", message))
            geojson.append(PLACEHOLDER_AREA)
        criterion["values"] = names
        criterion["geojson"] = geojson
    return problems


def parse_upload(
    text: str, areas: Mapping[str, Any], *, source: str, require_embedded: bool = False
) -> RulesFile:
    """A rules file sent over HTTP (the format of ``docs/assignment.md``) with its areas.

    Raises
    ------
    InputError
        Not JSON, a wrong top level, bad segments, an area neither embedded nor uploaded, or
        any problem :func:`~routeplanner.assignment.parse_rules` finds (every one listed).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InputError(Problem(source, None, None, msg)) from exc
    problems: list[Problem] = []
    segments: dict[str, str] | None = None
    if isinstance(data, dict):
        if "rules" not in data:
            msg = 'expected an object with "rules" (a list) and optionally "segments"'
            raise InputError(Problem(source, None, None, msg))
        problems += [
            Problem(source, None, key, f'unknown key {key!r}; use "rules" and "segments"')
            for key in data
            if key not in ("rules", "segments", "note")
        ]
        segments = parse_segments(data.get("segments"), source, problems)
        data = data["rules"]
    elif not isinstance(data, list):
        msg = 'expected an object with "rules" (a list) and optionally "segments"'
        raise InputError(Problem(source, None, None, msg))
    problems += embed_areas(data, areas, source=source, require_embedded=require_embedded)
    rules: tuple[AssignmentRule, ...] = ()
    try:
        rules = parse_rules(data, source=source)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.field or "")))
    return RulesFile(rules, segments)


def store_upload(store: Store, rules_file: RulesFile, *, source: str, user: str) -> None:
    """Check against the stored territories, then replace every rule (and set segments) in
    one transaction; nothing is stored on any problem, as with ``routeplanner rules import``."""
    import_rules(store, rules_file, source=source, user=user)


def reorder(store: Store, rule_ids: Sequence[str], *, source: str, user: str) -> None:
    """Put the stored rules in the order of ``rule_ids`` (a permutation of the stored ids),
    refused when the new order adds a problem (a rule moved up can shadow the ones below).

    Raises
    ------
    InputError
        Missing, unknown or repeated ids (field ``ids``), or the problems of the new order.
    """
    stored = {r.rule_id: r for r in store.rules.all()}
    problems = [
        Problem(source, None, "ids", f"rule {r} appears {n} times")
        for r, n in sorted(_counts(rule_ids).items())
        if n > 1
    ]
    problems += [
        Problem(source, None, "ids", f"unknown rule {r}") for r in rule_ids if r not in stored
    ]
    problems += [
        Problem(source, None, "ids", f"rule {r} is missing") for r in stored if r not in rule_ids
    ]
    if problems:
        raise InputError(problems)
    data = rules_to_data(renumbered([stored[r] for r in rule_ids]))
    save_rules_tolerant(store, data, source=source, user=user)


def _counts(items: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def move(store: Store, rule_id: str, step: int, *, source: str, user: str) -> None:
    """Move one rule up (``step`` = -1) or down (+1); at either end nothing happens."""
    ids = [r.rule_id for r in store.rules.all()]
    if rule_id not in ids:
        raise HTTPException(status_code=404, detail=f"rule {rule_id!r} not found")
    i = ids.index(rule_id)
    j = i + step
    if not 0 <= j < len(ids):
        return
    ids[i], ids[j] = ids[j], ids[i]
    reorder(store, ids, source=source, user=user)


def delete(store: Store, rule_id: str, *, source: str, user: str) -> None:
    rules = store.rules.all()
    if all(r.rule_id != rule_id for r in rules):
        raise HTTPException(status_code=404, detail=f"rule {rule_id!r} not found")
    kept = renumbered([r for r in rules if r.rule_id != rule_id])
    save_rules_tolerant(store, rules_to_data(kept), source=source, user=user)


# -- import with automatic assignment -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebImport:
    summary: ImportSummary
    report: AssignmentReport | None
    moved: int
    travel_note: str


def import_accounts_and_assign(
    services: Services, accounts: Sequence[Account], *, source: str, user: str
) -> WebImport:
    """Add or update ``accounts`` (the accounts page's import), then give every account in no
    territory one by the stored rules, else best fit, with cause ``import`` and its reason.

    As in :func:`routeplanner.workflows.import_and_assign`, the assignment is computed before
    anything is stored, so a stored rule that no longer fits stops the import with the rule
    named; existing accounts never move, and the report says whether a realignment is due.
    """
    store = services.store
    territories = store.territories.all()
    report = None
    note = ""
    if territories:
        merged = {a.account_id: a for a in store.accounts.all()}
        merged.update({a.account_id: a for a in accounts})
        travel, note = assignment_travel(services)
        report = assign_accounts(
            list(merged.values()),
            store.reps.all(),
            territories,
            store.rules.all(),
            travel,
            mode=AssignMode.NEW,
        )
    summary, moved = workflows.import_accounts_and_assign(
        store, accounts, report.decisions if report is not None else (), source=source, user=user
    )
    return WebImport(summary, report, moved, note)


# -- the rule form ----------------------------------------------------------------------------

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
            geometry = json.loads(content.decode("utf-8-sig"))
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


def save_rule_form(
    store: Store,
    form: RuleForm,
    *,
    source: str,
    user: str,
    area: tuple[str, bytes] | None = None,
) -> None:
    """Store an added or edited rule (added ones go last); nothing on any problem.

    Raises
    ------
    InputError
        Every problem of the rule (and, when the edit adds one, of the others).
    HTTPException
        404: the edited rule does not exist any more.
    """
    stored = store.rules.all()
    data = rules_to_data(stored)
    if form.original_id:
        ids = [r.rule_id for r in stored]
        if form.original_id not in ids:
            raise HTTPException(status_code=404, detail=f"rule {form.original_id!r} not found")
        index = ids.index(form.original_id)
    else:
        index = len(data)
        data.append({})
    rule, problems = rule_data(form, index + 1, source=source, area=area)
    data[index] = rule
    try:
        parse_rules(data, source=source)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.field or "")))
    save_rules_tolerant(store, data, source=source, user=user)
