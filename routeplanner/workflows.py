"""Use cases that tie storage, the road network and the planner together (CLI and web share them).

This is an edge module: it may use storage; the core it calls (territories, planner) stays pure.
Each workflow stores its result whole or not at all: a plan is registered as *running*, filled
in one transaction when complete, and only then becomes current.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from routeplanner.errors import InputError, Problem
from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.planner import plan_all
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
