"""Use cases that tie storage, the road network and the planner together (CLI and web share them).

This is an edge module: it may use storage; the core it calls (territories, planner) stays pure.
Each workflow stores its result whole or not at all: a plan is registered as *running*, filled
in one transaction when complete, and only then becomes current; a write that spans areas
(an import with its assignment, rules with segments) is one unit of work.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from routeplanner.assignment.assign import (
    DEFAULT_TOLERANCE,
    AssignmentReport,
    AssignMode,
    Decision,
    assign_accounts,
)
from routeplanner.assignment.rules import (
    AssignmentRule,
    RulesFile,
    is_qualified,
    validate_rules,
)
from routeplanner.errors import InputError, Problem, StorageError
from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.model.history import OwnershipCause, VisitRecord
from routeplanner.planner import merge_plans, plan_all
from routeplanner.scheduling.repair import (
    Absence,
    AdHocVisit,
    ChangeSet,
    VisitOutcome,
    repair_plan,
)
from routeplanner.storage.records import ImportSummary, PlanInfo, PlanStatus
from routeplanner.storage.store import Store
from routeplanner.territories.design import design_territories
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.timeofday import TimeOfDayProfile
from routeplanner.units import haversine_m

Progress = Callable[[str, float], None]
CANCELLED = "cancelled by the user"
"""The error stored on a plan version whose run was cancelled (its status is ``failed``)."""
INTERRUPTED = "interrupted: the process running it stopped before the plan was complete"
STALE_AFTER = timedelta(hours=24)
"""A running plan of another machine older than this is taken as interrupted (no run lasts
a day); younger ones may still be running there and are left alone."""


class PlanningCancelledError(Exception):
    """Raised by a progress callback to stop a run; its version is marked failed, "cancelled"."""


def runner_meta() -> dict[str, str]:
    """Which process runs a plan, stored with it, so that a restarting server can tell its own
    crashed runs (process gone) from runs still going on in another process."""
    return {"host": socket.gethostname(), "pid": str(os.getpid())}


def _failure(exc: BaseException) -> str:
    return CANCELLED if isinstance(exc, PlanningCancelledError) else f"{type(exc).__name__}: {exc}"


def _fail_quietly(store: Store, plan_id: int, exc: BaseException) -> None:
    """Mark a run failed without hiding ``exc`` (the version may already be marked failed)."""
    with contextlib.suppress(StorageError):
        store.plans.fail(plan_id, _failure(exc))


def next_monday(timezone: str, *, today: date | None = None) -> date:
    """Plans start on a Monday: the coming one (today if today is a Monday)."""
    day = today or datetime.now(tz=ZoneInfo(timezone)).date()
    return day + timedelta(days=(7 - day.weekday()) % 7)


def load_holidays(path: Path | None) -> frozenset[date]:
    """Public holidays from the configured region file; none when no file is configured."""
    if path is None or not str(path):
        return frozenset()
    from routeplanner.io.holidays import read_holidays

    return read_holidays(path)


@dataclass(frozen=True, slots=True)
class PlanningResult:
    plan_id: int
    plan: Plan
    territories: tuple[Territory, ...]
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    designed: bool


class _Throttled:
    """Forward progress to the database at most every ``interval`` seconds (and at the end)."""

    def __init__(self, store: Store, plan_id: int, report: Progress | None) -> None:
        self.store, self.plan_id, self.report = store, plan_id, report
        self.last = 0.0

    def __call__(self, message: str, fraction: float) -> None:
        if self.report is not None:
            self.report(message, fraction)
        now = time.monotonic()
        if now - self.last >= 0.5 or fraction >= 1.0:
            self.last = now
            self.store.plans.update_progress(self.plan_id, max(0.0, min(1.0, fraction)), message)


def stored_inputs(store: Store) -> tuple[list[Account], list[Rep]]:
    """Accounts and reps to plan, or an InputError saying what to import first."""
    accounts, reps = store.accounts.all(), store.reps.all()
    problems = []
    if not accounts:
        problems.append(Problem("database", None, "accounts", "no accounts: import them first"))
    if not reps:
        problems.append(Problem("database", None, "reps", "no reps: import them first"))
    if problems:
        raise InputError(problems)
    return accounts, reps


def _nearest_rep(account: Account, reps: Sequence[Rep]) -> Rep:
    """The nearest rep allowed to own the account (any rep when none has its qualifications:
    planning then reports it, which beats dropping it)."""
    allowed = [r for r in reps if is_qualified(account.required_qualifications, r.qualifications)]
    return min(
        allowed or reps,
        key=lambda r: haversine_m(
            account.location.lat, account.location.lon, r.home.lat, r.home.lon
        ),
    )


def ensure_territories(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int,
    progress: Progress | None = None,
    user: str = "",
) -> tuple[list[Territory], bool]:
    """The stored territories, or a balanced design stored now when there are none yet."""
    current = store.territories.all()
    if current:
        return list(current), False
    # Unreachable accounts cannot enter a road-based design; they go to the nearest rep's
    # territory so that the plan reports them as unreachable (with the distance) to the manager
    # who owns them, instead of vanishing as "no rep".
    snaps = travel.snap([(a.account_id, a.location) for a in accounts]).by_id()
    reachable = [a for a in accounts if snaps[a.account_id].reachable]
    design = design_territories(
        reachable, reps, travel, horizon_days=horizon_days, progress=progress
    )
    extra: dict[str, list[str]] = {}
    for account in accounts:
        if not snaps[account.account_id].reachable:
            extra.setdefault(_nearest_rep(account, reps).rep_id, []).append(account.account_id)
    territories = [
        replace(t, account_ids=t.account_ids + tuple(extra.get(t.rep_id or "", ())))
        for t in design.territories
    ]
    store.territories.save(
        territories,
        cause=OwnershipCause.REALIGNMENT,
        user=user,
        detail="initial balanced territory design",
        replace_all=True,
    )
    return territories, True


def register_planning(
    store: Store,
    horizon: Horizon,
    *,
    time_limit_s: float,
    holidays: frozenset[date] = frozenset(),
    user: str = "",
) -> int:
    """Register a running plan version for :func:`run_planning` and return its id at once (the
    web answers a start request with it, before the run has done anything)."""
    meta = {"time_limit_s": str(time_limit_s), "holidays": str(len(holidays)), **runner_meta()}
    return store.plans.start(horizon, meta, user=user)


def run_planning(
    store: Store,
    travel: TravelTimeProvider,
    horizon: Horizon,
    *,
    holidays: frozenset[date] = frozenset(),
    time_limit_s: float = 20.0,
    progress: Progress | None = None,
    user: str = "",
    plan_id: int | None = None,
    rush_hours: TimeOfDayProfile | None = None,
) -> PlanningResult:
    """Design territories if needed, schedule and route every rep, store the plan as current.

    ``rush_hours`` times each day's drives by their departure (``Settings.rush_hours``).

    ``plan_id`` is a version registered with :func:`register_planning`; without it one is
    registered here, once the stored inputs are known to be plannable. Whatever goes wrong
    after that marks the version failed (``progress`` raising
    :class:`PlanningCancelledError` marks it "cancelled by the user"), and the current plan
    stays current.

    Raises
    ------
    InputError
        Nothing to plan (no accounts or no reps stored yet).
    """
    if plan_id is None:
        stored_inputs(store)  # say what to import first, before registering a version
        plan_id = register_planning(
            store, horizon, time_limit_s=time_limit_s, holidays=holidays, user=user
        )
    report = _Throttled(store, plan_id, progress)
    try:
        report("starting", 0.0)  # a run cancelled before it began stops here
        accounts, reps = stored_inputs(store)
        territories, designed = ensure_territories(
            store,
            accounts,
            reps,
            travel,
            horizon_days=7 * horizon.weeks,
            progress=lambda message, fraction: report(f"territories: {message}", 0.1 * fraction),
            user=user,
        )
        plan = plan_all(
            accounts,
            reps,
            territories,
            horizon,
            travel,
            holidays=holidays,
            time_limit_s=time_limit_s,
            progress=lambda message, fraction: report(message, 0.1 + 0.9 * fraction),
            rush_hours=rush_hours,
        )
        plan = replace(plan, meta={**plan.meta, "travel": travel.name})
        report("storing the plan", 1.0)
        store.plans.complete(plan_id, plan)
    except BaseException as exc:
        _fail_quietly(store, plan_id, exc)
        raise
    return PlanningResult(plan_id, plan, tuple(territories), tuple(accounts), tuple(reps), designed)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _interrupted(info: PlanInfo, host: str, now: datetime, alive: Callable[[int], bool]) -> bool:
    pid = info.meta.get("pid", "")
    if "host" not in info.meta or not pid.isdigit():
        return True  # registered before runs recorded their process: nobody can finish it
    if info.meta["host"] == host:
        return int(pid) != os.getpid() and not alive(int(pid))
    created = info.created_at if info.created_at.tzinfo else info.created_at.replace(tzinfo=UTC)
    return now - created > STALE_AFTER


def recover_interrupted_plans(
    store: Store,
    *,
    host: str | None = None,
    now: datetime | None = None,
    alive: Callable[[int], bool] = _pid_alive,
) -> list[int]:
    """Mark plan versions failed whose run can never finish: started on this machine by a
    process that is gone (a crashed or killed server), on another machine more than
    :data:`STALE_AFTER` ago, or before runs recorded their process. Runs still going on in
    another process (a ``routeplanner plan`` in a terminal, another server) are left alone.
    Returns the ids marked failed; called when the web app starts.
    """
    host = host or socket.gethostname()
    now = now or datetime.now(tz=UTC)
    stale = [
        p.plan_id
        for p in store.plans.all()
        if p.status is PlanStatus.RUNNING and _interrupted(p, host, now, alive)
    ]
    if stale:
        store.plans.fail_running(INTERRUPTED, plan_ids=stale)
    return stale


@dataclass(frozen=True, slots=True)
class RepairSummary:
    """A repaired plan stored as the new current version, with what changed per rep."""

    plan_id: int
    previous_plan_id: int
    plan: Plan
    changes: dict[str, ChangeSet]
    frozen_until: dict[str, date]


def current_plan_or_error(store: Store) -> tuple[int, Plan, Horizon]:
    current = store.plans.current()
    if current is None:
        raise InputError(Problem("database", None, "plan", "no current plan: run `plan` first"))
    plan_id, plan = current
    return plan_id, plan, store.plans.info(plan_id).horizon


def find_stop(plan: Plan, visit_id: str) -> tuple[str, date] | None:
    """Rep and day of a planned visit, or ``None`` when the plan has no such visit."""
    for route in plan.routes:
        for stop in route.stops:
            if stop.visit_id == visit_id:
                return route.rep_id, route.day
    return None


def _outcomes(records: Sequence[VisitRecord], horizon: Horizon) -> list[VisitOutcome]:
    out = []
    for r in records:
        start_s = horizon.from_datetime(r.actual_start)[1] if r.actual_start else None
        out.append(
            VisitOutcome(
                visit_id=r.visit_id or f"{r.account_id}@{r.day.isoformat()}",
                status=r.status,
                actual_day=r.day,
                actual_start_s=start_s,
            )
        )
    return out


def repair_current_plan(
    store: Store,
    travel: TravelTimeProvider,
    *,
    today: date,
    frozen_days: int = 1,
    absences: Mapping[str, Sequence[Absence]] | None = None,
    ad_hoc: Sequence[AdHocVisit] = (),
    holidays: frozenset[date] = frozenset(),
    time_limit_s: float = 10.0,
    progress: Progress | None = None,
    user: str = "",
) -> RepairSummary:
    """Re-plan the future of the current plan after what reps reported; store it as a version.

    Every rep's territory is an independent repair job. Absences are also stored on the rep
    (as days off) so later plans respect them. The past and the next ``frozen_days`` working
    days stay exactly as they were.

    Raises
    ------
    InputError
        No current plan, an absence of an unknown rep, or an ad-hoc visit of an unknown account.
    """
    previous_id, previous, horizon = current_plan_or_error(store)
    accounts, reps = stored_inputs(store)
    absences = absences or {}
    by_account = {a.account_id: a for a in accounts}
    rep_by_id = {r.rep_id: r for r in reps}
    problems = [
        Problem("--absent", None, "rep", f"unknown rep {rep_id!r}")
        for rep_id in absences
        if rep_id not in rep_by_id
    ]
    problems += [
        Problem("--adhoc", None, "account", f"unknown account {v.account_id!r}")
        for v in ad_hoc
        if v.account_id not in by_account
    ]
    if problems:
        raise InputError(problems)
    territories = [t for t in store.territories.all() if t.rep_id in rep_by_id]
    records = store.visits.find(start=horizon.start, end=horizon.end)
    owned: set[str] = set()
    plans: list[Plan] = []
    changes: dict[str, ChangeSet] = {}
    frozen: dict[str, date] = {}
    for index, territory in enumerate(territories):
        rep = rep_by_id[territory.rep_id or ""]
        ids = set(territory.account_ids)
        owned |= ids
        if progress is not None:
            progress(f"repairing {rep.name}", index / max(1, len(territories)))
        result = repair_plan(
            previous,
            [by_account[a] for a in territory.account_ids if a in by_account],
            rep,
            horizon,
            travel,
            today=today,
            records=_outcomes([r for r in records if r.rep_id == rep.rep_id], horizon),
            ad_hoc=[v for v in ad_hoc if v.account_id in ids],
            absences=absences.get(rep.rep_id, ()),
            frozen_days=frozen_days,
            holidays=holidays,
            time_limit_s=time_limit_s,
        )
        plans.append(result.plan)
        changes[rep.rep_id] = result.changes
        frozen[rep.rep_id] = result.frozen_until
    orphans = [u for u in previous.unassigned if u.account_id not in owned]
    plan = merge_plans(plans, orphans)
    updated = [
        replace(rep_by_id[r], days_off=rep_by_id[r].days_off.union(*(a.days() for a in spans)))
        for r, spans in absences.items()
    ]
    plan_id = store.plans.start(
        horizon, {"repair_of": str(previous_id), "today": str(today), **runner_meta()}, user=user
    )
    try:
        # The absences and the plan that respects them are stored together or not at all.
        with store.transaction() as tx:
            if updated:
                tx.reps.upsert(updated, source="absence")
            tx.plans.complete(plan_id, plan)
    except BaseException as exc:
        _fail_quietly(store, plan_id, exc)
        raise
    if progress is not None:
        progress("repaired", 1.0)
    return RepairSummary(plan_id, previous_id, plan, changes, frozen)


# ---------------------------------------------------------------------- assignment rules


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


def stored_assignment(
    store: Store,
    travel: TravelTimeProvider,
    *,
    mode: AssignMode = AssignMode.ALL,
    horizon_days: int = 28,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Progress | None = None,
) -> AssignmentReport:
    """The stored rules evaluated on the stored accounts (``all``: the dry run of every
    account; ``new``: only accounts in no territory). Changes nothing."""
    accounts, reps = stored_inputs(store)
    return assign_accounts(
        accounts,
        reps,
        store.territories.all(),
        store.rules.all(),
        travel,
        mode=mode,
        horizon_days=horizon_days,
        tolerance=tolerance,
        progress=progress,
    )


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import stored, and the assignment of its new accounts when territories exist."""

    summary: ImportSummary
    assignment: AssignmentReport | None
    moved: int


def import_and_assign(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: Callable[[], TravelTimeProvider] | None,
    *,
    source: str,
    user: str = "",
    horizon_days: int = 28,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Progress | None = None,
) -> ImportResult:
    """Store a full import, then give every account in no territory a territory by the stored
    rules (else best fit), recorded with cause ``import`` and each account's reason.

    The assignment is computed *before* anything is stored, so a rule that no longer fits the
    territories stops the import with the rule named and nothing written. Existing accounts
    never move: the report shows the balance afterwards and whether a realignment is due.
    ``travel`` is a factory so the road network is loaded only when there is something to
    assign; ``None`` skips assignment.
    """
    territories = store.territories.all() if travel is not None else []
    report = None
    if territories and travel is not None:
        report = assign_accounts(
            accounts,
            reps,
            territories,
            store.rules.all(),
            travel(),
            mode=AssignMode.NEW,
            horizon_days=horizon_days,
            tolerance=tolerance,
            progress=progress,
        )
    decisions = report.decisions if report is not None else ()
    summary = replace_accounts_and_reps(
        store, accounts, reps, source=source, user=user, assignment=decisions
    )
    return ImportResult(summary, report, sum(1 for d in decisions if d.changed))


def replace_accounts_and_reps(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    *,
    source: str,
    user: str = "",
    assignment: Sequence[Decision] = (),
) -> ImportSummary:
    """Make the stored accounts and reps exactly ``accounts`` and ``reps`` (a full import).

    Accounts and reps missing from the import are removed: removed accounts leave their
    territories, territories of removed reps become unowned, and the ownership history
    records both with cause ``import``. ``assignment`` (decisions for new accounts) is stored
    in the same transaction, so new accounts never sit without a territory. All or nothing:
    on any error nothing changes.
    """
    with store.transaction(f"import from {source}") as tx:
        summary = tx.accounts.replace_all(accounts, source=source)
        summary += tx.reps.replace_all(reps, source=source)
        tx.territories.record_ownership(
            OwnershipCause.IMPORT, user=user, detail=f"import from {source}"
        )
        tx.territories.apply_assignment(assignment, user=user, cause=OwnershipCause.IMPORT)
    return summary


def import_accounts_and_assign(
    store: Store,
    accounts: Sequence[Account],
    decisions: Sequence[Decision],
    *,
    source: str,
    user: str = "",
) -> tuple[ImportSummary, int]:
    """Add or update ``accounts`` and apply ``decisions`` (cause ``import``) in one transaction,
    so an import never leaves new accounts without their territory; returns what the import
    changed and how many accounts moved."""
    with store.transaction(f"import of accounts from {source}") as tx:
        summary = tx.accounts.upsert(accounts, source=source)
        moved = tx.territories.apply_assignment(decisions, user=user, cause=OwnershipCause.IMPORT)
    return summary, moved


def delete_accounts(store: Store, account_ids: Sequence[str], *, user: str = "") -> int:
    """Remove accounts from storage and their territories, closing their ownership periods
    (cause ``manual``), in one transaction; returns how many existed."""
    with store.transaction("deleting accounts") as tx:
        removed = tx.accounts.delete(account_ids)
        tx.territories.record_ownership(
            OwnershipCause.MANUAL, user=user, detail="deleting accounts"
        )
    return removed
