"""Use cases that tie storage, the road network and the planner together (CLI and web share them).

This is an edge module: it may use storage; the core it calls (territories, planner) stays pure.
Each workflow stores its result whole or not at all: a plan is registered as *running*, filled
in one transaction when complete, and only then becomes current.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from routeplanner.assignment.assign import (
    DEFAULT_TOLERANCE,
    AssignmentReport,
    AssignMode,
    assign_accounts,
)
from routeplanner.assignment.rules import AssignmentRule, RulesFile, validate_rules
from routeplanner.errors import InputError, Problem
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
from routeplanner.storage.records import ImportSummary
from routeplanner.storage.repository import Repository
from routeplanner.territories.design import design_territories
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import haversine_m

Progress = Callable[[str, float], None]


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

    def __init__(self, repo: Repository, plan_id: int, report: Progress | None) -> None:
        self.repo, self.plan_id, self.report = repo, plan_id, report
        self.last = 0.0

    def __call__(self, message: str, fraction: float) -> None:
        if self.report is not None:
            self.report(message, fraction)
        now = time.monotonic()
        if now - self.last >= 0.5 or fraction >= 1.0:
            self.last = now
            self.repo.update_plan_progress(self.plan_id, max(0.0, min(1.0, fraction)), message)


def stored_inputs(repo: Repository) -> tuple[list[Account], list[Rep]]:
    """Accounts and reps to plan, or an InputError saying what to import first."""
    accounts, reps = repo.list_accounts(), repo.list_reps()
    problems = []
    if not accounts:
        problems.append(Problem("database", None, "accounts", "no accounts: import them first"))
    if not reps:
        problems.append(Problem("database", None, "reps", "no reps: import them first"))
    if problems:
        raise InputError(problems)
    return accounts, reps


def _nearest_rep(account: Account, reps: Sequence[Rep]) -> Rep:
    return min(
        reps,
        key=lambda r: haversine_m(
            account.location.lat, account.location.lon, r.home.lat, r.home.lon
        ),
    )


def ensure_territories(
    repo: Repository,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int,
    progress: Progress | None = None,
    user: str = "",
) -> tuple[list[Territory], bool]:
    """The stored territories, or a balanced design stored now when there are none yet."""
    current = repo.current_territories()
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
    repo.save_territories(
        territories,
        cause=OwnershipCause.REALIGNMENT,
        user=user,
        detail="initial balanced territory design",
        replace_all=True,
    )
    return territories, True


def run_planning(
    repo: Repository,
    travel: TravelTimeProvider,
    horizon: Horizon,
    *,
    holidays: frozenset[date] = frozenset(),
    time_limit_s: float = 20.0,
    progress: Progress | None = None,
    user: str = "",
) -> PlanningResult:
    """Design territories if needed, schedule and route every rep, store the plan as current.

    Raises
    ------
    InputError
        Nothing to plan (no accounts or no reps stored yet).
    """
    accounts, reps = stored_inputs(repo)

    def design_progress(message: str, fraction: float) -> None:
        if progress is not None:
            progress(f"territories: {message}", 0.1 * fraction)

    territories, designed = ensure_territories(
        repo,
        accounts,
        reps,
        travel,
        horizon_days=7 * horizon.weeks,
        progress=design_progress,
        user=user,
    )
    plan_id = repo.start_plan(
        horizon,
        {"travel": travel.name, "time_limit_s": str(time_limit_s), "holidays": str(len(holidays))},
        user=user,
    )
    report = _Throttled(repo, plan_id, progress)
    try:
        plan = plan_all(
            accounts,
            reps,
            territories,
            horizon,
            travel,
            holidays=holidays,
            time_limit_s=time_limit_s,
            progress=lambda message, fraction: report(message, 0.1 + 0.9 * fraction),
        )
        report("storing the plan", 1.0)
        repo.complete_plan(plan_id, plan)
    except BaseException as exc:
        repo.fail_plan(plan_id, f"{type(exc).__name__}: {exc}")
        raise
    return PlanningResult(plan_id, plan, tuple(territories), tuple(accounts), tuple(reps), designed)


@dataclass(frozen=True, slots=True)
class RepairSummary:
    """A repaired plan stored as the new current version, with what changed per rep."""

    plan_id: int
    previous_plan_id: int
    plan: Plan
    changes: dict[str, ChangeSet]
    frozen_until: dict[str, date]


def current_plan_or_error(repo: Repository) -> tuple[int, Plan, Horizon]:
    current = repo.current_plan()
    if current is None:
        raise InputError(Problem("database", None, "plan", "no current plan: run `plan` first"))
    plan_id, plan = current
    return plan_id, plan, repo.plan_info(plan_id).horizon


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
    repo: Repository,
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
    previous_id, previous, horizon = current_plan_or_error(repo)
    accounts, reps = stored_inputs(repo)
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
    territories = [t for t in repo.current_territories() if t.rep_id in rep_by_id]
    records = repo.visit_records(start=horizon.start, end=horizon.end)
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
    plan_id = repo.start_plan(
        horizon, {"repair_of": str(previous_id), "today": str(today)}, user=user
    )
    try:
        if updated:
            repo.upsert_reps(updated, source="absence")
        repo.complete_plan(plan_id, plan)
    except BaseException as exc:
        repo.fail_plan(plan_id, f"{type(exc).__name__}: {exc}")
        raise
    if progress is not None:
        progress("repaired", 1.0)
    return RepairSummary(plan_id, previous_id, plan, changes, frozen)


# ---------------------------------------------------------------------- assignment rules


def check_rules(
    repo: Repository,
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
    territories = repo.current_territories()
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
    validate_rules(rules, territories, repo.list_reps(), source=source)
    return territories


def import_rules(repo: Repository, rules_file: RulesFile, *, source: str, user: str = "") -> None:
    """Check a rules file against the stored territories, then store its rules (replacing all)
    and its segments in one transaction; nothing is stored when any rule is wrong."""
    check_rules(repo, rules_file.rules, segments=rules_file.segments, source=source)
    repo.replace_rules(rules_file.rules, user=user, segments=rules_file.segments)


def stored_assignment(
    repo: Repository,
    travel: TravelTimeProvider,
    *,
    mode: AssignMode = AssignMode.ALL,
    horizon_days: int = 28,
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Progress | None = None,
) -> AssignmentReport:
    """The stored rules evaluated on the stored accounts (``all``: the dry run of every
    account; ``new``: only accounts in no territory). Changes nothing."""
    accounts, reps = stored_inputs(repo)
    return assign_accounts(
        accounts,
        reps,
        repo.current_territories(),
        repo.list_rules(),
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
    repo: Repository,
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
    territories = repo.current_territories() if travel is not None else []
    report = None
    if territories and travel is not None:
        report = assign_accounts(
            accounts,
            reps,
            territories,
            repo.list_rules(),
            travel(),
            mode=AssignMode.NEW,
            horizon_days=horizon_days,
            tolerance=tolerance,
            progress=progress,
        )
    summary = repo.replace_accounts_and_reps(accounts, reps, source=source, user=user)
    moved = 0
    if report is not None:
        moved = repo.apply_assignment(report.decisions, user=user, cause=OwnershipCause.IMPORT)
    return ImportResult(summary, report, moved)
