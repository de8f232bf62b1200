"""Assignment use cases: rules (import, check, edit, reorder), the dry run and applying it.

Every rule goes through the core's own parsing and validation, so the page, the API and
``routeplanner rules import`` accept exactly the same rules and report exactly the same
messages, each naming the rule.

**Edits tolerate old problems.** Stored rules can stop fitting when territories change (a
target territory is gone). Refusing every edit then would trap the manager: deleting one of two
broken rules still leaves the other. So a single-rule edit, delete or reorder is refused only
when it *adds* a problem; every problem, old and new, is shown. Imports and the API's ``PUT``
replace everything and must be free of problems.

**A dry run is applied only onto what it saw.** It carries a fingerprint of everything it read
(accounts, reps, territories, rules); applying it is refused when the fingerprint no longer
matches, so what is stored is exactly what the manager saw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from enum import Enum
from typing import Any

from routeplanner import jsontext
from routeplanner.assignment import (
    AssignmentReport,
    AssignmentRule,
    AssignMode,
    assign_accounts,
    parse_rules,
    rules_to_data,
)
from routeplanner.assignment.assign import Decision, DecisionCause, TerritoryBalance
from routeplanner.assignment.rules import (
    CRITERION_FIELDS,
    RulesFile,
    load_rules_file,
    parse_segments,
    validate_rules,
)
from routeplanner.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    Problem,
    RoadNetworkError,
    StaleStateError,
)
from routeplanner.model import Account, Territory
from routeplanner.model.history import OwnershipCause, OwnershipRecord
from routeplanner.services.params import Params, limited, require_stored
from routeplanner.services.scope import Scope
from routeplanner.storage import Store, UnitOfWork
from routeplanner.storage.records import UserRecord
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider

__all__ = [
    "CRITERION_FIELDS",
    "AssignMode",
    "AssignmentReport",
    "AssignmentRule",
    "Decision",
    "DecisionCause",
    "RulesFile",
    "TerritoryBalance",
    "load_rules_file",
    "rules_to_data",
]

Progress = Callable[[str, float], None]
PLACEHOLDER_AREA: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [[[0.0, 0.0], [0.001, 0.0], [0.001, 0.001], [0.0, 0.001], [0.0, 0.0]]],
}
"""Stands in for an area that was not uploaded, so parsing still reports every other problem;
the missing area itself is reported and nothing is stored."""
STALE = "the accounts, territories or rules changed since this dry run; run it again"


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


def travel_or_straight_line(
    travel: Callable[[], TravelTimeProvider],
) -> tuple[TravelTimeProvider, str]:
    """The road network when there is one, else straight-line estimates and a note saying so:
    assignment only ranks territories by distance, so a missing OSM file should not block an
    import the way it must block route planning."""
    try:
        return travel(), ""
    except RoadNetworkError as exc:
        return HaversineTravel(), f"straight-line travel estimates ({exc})"


@dataclass(frozen=True, slots=True)
class AccountOwnership:
    """An account, the territory that owns it now and why, and every owner before."""

    account: Account
    owner: Territory | None
    current: OwnershipRecord | None
    history: list[OwnershipRecord]
    """Oldest first."""


def account_ownership(
    store: Store, account_id: str, scope: Scope, *, user: UserRecord | None = None
) -> AccountOwnership:
    """Who owns the account now and why, and who owned it when. ``user`` is who asks: a rep
    sees only accounts their territory owns now, a manager those of ``scope`` (``None``: no
    restriction).

    Raises
    ------
    NotFoundError
        No such account, or (for a rep) not one of theirs: the same answer, so nothing leaks.
    """
    missing = NotFoundError(f"account {account_id!r} not found")
    with store.read("reading an account's ownership") as tx:
        account = tx.accounts.get(account_id)
        if account is None:
            raise missing
        owner = next((t for t in tx.territories.all() if account_id in t.account_ids), None)
        if user is not None and not _may_see(user, owner, scope, account_id):
            raise missing
        current = tx.territories.current_ownership(account_id)
        records = tx.territories.ownership_history(account_id)
    return AccountOwnership(account, owner, current, records)


def _may_see(user: UserRecord, owner: Territory | None, scope: Scope, account_id: str) -> bool:
    """Managers see the accounts of their scope, a rep only those their territory owns now."""
    if user.is_manager:
        return scope.sees_account(account_id)
    return owner is not None and user.rep_id is not None and owner.rep_id == user.rep_id


# -- checking and storing rules ----------------------------------------------------------------


def check_rules(
    store: Store,
    rules: Sequence[AssignmentRule],
    *,
    segments: Mapping[str, str] | None = None,
    source: str = "rules",
) -> list[Territory]:
    """Validate ``rules`` against the stored territories and reps, with ``segments`` (territory
    id -> segment, as a rules file may set them) applied first; returns those territories.

    Raises
    ------
    InputError
        No territories stored, a segment naming an unknown territory, or any rule problem of
        :func:`~routeplanner.assignment.validate_rules` (each naming its rule).
    """
    territories = store.territories.all()
    if not territories:
        raise InputError(
            Problem("database", None, "territories", "no territories stored: design them first")
        )
    known = {t.territory_id for t in territories}
    unknown = sorted(set(segments or {}) - known)
    if unknown:
        raise InputError(
            [Problem(source, None, "segments", f"territory {t} does not exist") for t in unknown]
        )
    if segments:
        territories = [
            replace(t, segment=segments.get(t.territory_id, t.segment)) for t in territories
        ]
    validate_rules(rules, territories, store.reps.all(), source=source)
    return territories


def import_rules(store: Store, rules_file: RulesFile, *, source: str, user: str = "") -> None:
    """Check a rules file against the stored territories, then store its rules (replacing all)
    and its segments in one transaction; nothing is stored when any rule is wrong."""
    check_rules(store, rules_file.rules, segments=rules_file.segments, source=source)
    replace_rules(store, rules_file.rules, user=user, segments=rules_file.segments)


def replace_rules(
    store: Store,
    rules: Sequence[AssignmentRule],
    *,
    user: str = "",
    segments: Mapping[str, str] | None = None,
) -> None:
    """Make the stored rules exactly ``rules`` and (when given) set territory segments, in one
    transaction: all or nothing. Rules are stored as given (:func:`check_rules` checks them).

    Raises
    ------
    StorageError
        Duplicate or over-long rule ids, duplicate positions, an unknown territory in
        ``segments``, or the database refuses the write.
    """
    with store.transaction("saving assignment rules") as tx:
        tx.rules.replace(rules, user=user)
        if segments is not None:
            tx.territories.set_segments(segments)


def rules_document(store: Store) -> dict[str, Any]:
    """The stored rules as a rules file (areas embedded, segments when any are set), which
    ``rules import`` and an upload read back."""
    with store.read("reading the rules") as tx:
        segments = {t.territory_id: t.segment for t in tx.territories.all() if t.segment}
        rules = tx.rules.all()
    body: dict[str, Any] = {"segments": segments} if segments else {}
    body["rules"] = rules_to_data(rules)
    return body


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
    after = rule_problems(store, rules, source=source) if rules else []
    if after:
        before = {(p.field, p.message) for p in stored_problems(store)}
        if not store.territories.all() or any((p.field, p.message) not in before for p in after):
            raise InputError(after)
    store.rules.replace(rules, user=user)
    return rules


def _renumbered(rules: Sequence[AssignmentRule]) -> list[AssignmentRule]:
    return [replace(r, position=k) for k, r in enumerate(rules, start=1)]


def reorder_rules(store: Store, rule_ids: Sequence[str], *, source: str, user: str) -> None:
    """Put the stored rules in the order of ``rule_ids`` (a permutation of the stored ids),
    refused when the new order adds a problem (a rule moved up can shadow the ones below).

    Raises
    ------
    InputError
        Missing, unknown or repeated ids (field ``ids``), or the problems of the new order.
    """
    stored = {r.rule_id: r for r in store.rules.all()}
    counts: dict[str, int] = {}
    for rule_id in rule_ids:
        counts[rule_id] = counts.get(rule_id, 0) + 1
    problems = [
        Problem(source, None, "ids", f"rule {r} appears {n} times")
        for r, n in sorted(counts.items())
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
    data = rules_to_data(_renumbered([stored[r] for r in rule_ids]))
    save_rules_tolerant(store, data, source=source, user=user)


def _rule_ids(store: Store, rule_id: str) -> list[str]:
    ids = [r.rule_id for r in store.rules.all()]
    if rule_id not in ids:
        msg = f"rule {rule_id!r} not found"
        raise NotFoundError(msg)
    return ids


def move_rule(store: Store, rule_id: str, step: int, *, source: str, user: str) -> None:
    """Move one rule up (``step`` = -1) or down (+1); at either end nothing happens."""
    ids = _rule_ids(store, rule_id)
    i = ids.index(rule_id)
    j = i + step
    if not 0 <= j < len(ids):
        return
    ids[i], ids[j] = ids[j], ids[i]
    reorder_rules(store, ids, source=source, user=user)


def delete_rule(store: Store, rule_id: str, *, source: str, user: str) -> None:
    """Delete one rule (refused when that adds a problem to the others)."""
    _rule_ids(store, rule_id)
    kept = _renumbered([r for r in store.rules.all() if r.rule_id != rule_id])
    save_rules_tolerant(store, rules_to_data(kept), source=source, user=user)


def find_rule(store: Store, rule_id: str) -> AssignmentRule:
    """The stored rule ``rule_id``, or a NotFoundError."""
    found = next((r for r in store.rules.all() if r.rule_id == rule_id), None)
    if found is None:
        msg = f"rule {rule_id!r} not found"
        raise NotFoundError(msg)
    return found


def save_rule(
    store: Store,
    rule: dict[str, Any],
    *,
    original_id: str = "",
    problems: Sequence[Problem] = (),
    source: str,
    user: str,
) -> None:
    """Store an edited rule in place of ``original_id``, or a new one last (no
    ``original_id``), given as rules data (the format of ``docs/assignment.md``); nothing is
    stored on any problem, ``problems`` (found while reading the input) included.

    Raises
    ------
    NotFoundError
        The edited rule does not exist any more.
    InputError
        Every problem of the rule (and, when the edit adds one, of the others).
    """
    stored = store.rules.all()
    data = rules_to_data(stored)
    if original_id:
        index = _rule_ids(store, original_id).index(original_id)
    else:
        index = len(data)
        data.append({})
    data[index] = rule
    found = list(problems)
    try:
        parse_rules(data, source=source)
    except InputError as exc:
        found += exc.problems
    if found:
        raise InputError(sorted(found, key=lambda p: (p.row or 0, p.field or "")))
    save_rules_tolerant(store, data, source=source, user=user)


# -- rules files sent over HTTP ---------------------------------------------------------------


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
    ``altstadt.geojson``); a path is never read from the server's disk. A criterion that
    already embeds ``geojson`` is left alone. Returns a problem for each area that is neither
    embedded nor uploaded; such criteria get a placeholder so parsing still reports every
    other problem.
    """
    problems = []
    rules = data if isinstance(data, list) else []
    hint = (
        "embed it as geojson"
        if require_embedded
        else "upload it with the rules file (or embed it as geojson)"
    )
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
            message = f"{label}: area file {name} was not uploaded: {hint}"
            problems.append(Problem(source, position, f"criteria[{k}].values", message))
            geojson.append(PLACEHOLDER_AREA)
        criterion["values"] = names
        criterion["geojson"] = geojson
    return problems


def parse_rules_text(
    text: str, areas: Mapping[str, Any], *, source: str, require_embedded: bool = False
) -> RulesFile:
    """A rules file sent as text (the format of ``docs/assignment.md``) with its uploaded
    areas by file name; ``require_embedded``: every area must embed its GeoJSON (the API).

    Raises
    ------
    InputError
        Not JSON, a wrong top level, bad segments, an area neither embedded nor uploaded, or
        any problem :func:`~routeplanner.assignment.parse_rules` finds (every one listed).
    """
    try:
        data = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InputError(Problem(source, None, None, msg)) from exc
    problems: list[Problem] = []
    segments: dict[str, str] | None = None
    top_level = 'expected an object with "rules" (a list) and optionally "segments"'
    if isinstance(data, dict):
        if "rules" not in data:
            raise InputError(Problem(source, None, None, top_level))
        problems += [
            Problem(source, None, key, f'unknown key {key!r}; use "rules" and "segments"')
            for key in data
            if key not in ("rules", "segments", "note")
        ]
        segments = parse_segments(data.get("segments"), source, problems)
        data = data["rules"]
    elif not isinstance(data, list):
        raise InputError(Problem(source, None, None, top_level))
    problems += embed_areas(data, areas, source=source, require_embedded=require_embedded)
    rules: tuple[AssignmentRule, ...] = ()
    try:
        rules = parse_rules(data, source=source)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row or 0, p.field or "")))
    return RulesFile(rules, segments)


# -- evaluating the rules ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignParams(Params):
    """What an assignment run is asked: ``all`` accounts (the dry run of a rule change) or
    ``new`` ones (in no territory), the workload period, and the balance band in percent
    beyond which a realignment is suggested."""

    mode: AssignMode = AssignMode.ALL
    horizon_days: int = limited(28, 1, 366)
    tolerance_pct: float = limited(5.0, 0.5, 50)

    @property
    def tolerance(self) -> float:
        return self.tolerance_pct / 100.0


def stored_assignment(
    store: Store,
    travel: TravelTimeProvider,
    params: AssignParams,
    *,
    progress: Progress | None = None,
) -> AssignmentReport:
    """The stored rules evaluated on the stored accounts; changes nothing.

    Raises
    ------
    InputError
        No accounts, reps or territories, or a stored rule whose target no longer exists.
    """
    with store.read("reading what assignment needs") as tx:
        accounts, reps = tx.accounts.all(), tx.reps.all()
        territories, rules = tx.territories.all(), tx.rules.all()
    require_stored(accounts=accounts, reps=reps, territories=territories)
    return assign_accounts(
        accounts,
        reps,
        territories,
        rules,
        travel,
        mode=params.mode,
        horizon_days=params.horizon_days,
        tolerance=params.tolerance,
        progress=progress,
    )


def apply_decisions(store: Store, decisions: Sequence[Decision], *, user: str) -> int:
    """Store the owner changes of an assignment with ownership history (cause rule, or manual
    for a lock; the reason as detail); returns how many accounts changed owner.

    Raises
    ------
    ConflictError
        An account changed territory since the decisions were computed.
    """
    return store.territories.apply_assignment(decisions, user=user)


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


def state_fingerprint(store: Store | UnitOfWork) -> str:
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
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)


def dry_run(
    store: Store, travel: Callable[[], TravelTimeProvider], params: AssignParams, *, user: str
) -> DryRun:
    """Evaluate the stored rules on the stored accounts (straight-line travel when there is
    no road network, said in ``travel_note``); nothing is stored.

    Raises
    ------
    InputError
        No accounts, reps or territories, or a stored rule whose target no longer exists.
    """
    state = state_fingerprint(store)
    provider, note = travel_or_straight_line(travel)
    report = stored_assignment(store, provider, params)
    now = datetime.now(tz=UTC)
    key = f"{state}|{params.mode}|{params.horizon_days}|{params.tolerance:.6f}|{user}"
    token = hashlib.sha256(f"{key}|{now.isoformat()}".encode()).hexdigest()[:24]
    names = {a.account_id: a.name for a in store.accounts.all()}
    return DryRun(
        token=token,
        state=state,
        params=params,
        report=report,
        names=names,
        travel_note=note,
        created_by=user,
        created_at=now,
    )


def apply_dry_run(store: Store, run: DryRun, *, user: str) -> DryRun:
    """Store the dry run's changes (ownership history: cause rule, or manual for a lock; the
    reason as detail; ``user`` as changed_by) in one transaction.

    Raises
    ------
    ConflictError
        Already applied, or anything it read changed since.
    """
    with run.lock:
        if run.applied_by:
            msg = f"this dry run was already applied by {run.applied_by}"
            raise ConflictError(msg)
        try:
            with store.transaction("applying a dry run") as tx:
                if state_fingerprint(tx) != run.state:
                    raise ConflictError(STALE)
                moved = tx.territories.apply_assignment(run.report.decisions, user=user)
        except StaleStateError as exc:
            raise ConflictError(STALE) from exc
        run.applied_by, run.moved = user, moved
    return run
