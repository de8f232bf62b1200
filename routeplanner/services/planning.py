"""Planning use cases: plan runs, the plan in force, recovering interrupted runs, files, one day.

A stored plan is registered as *running* (:func:`register_plan`), filled in one transaction
when complete and only then made current, so a failed or cancelled run leaves the current plan
as it was. Repairs and visit outcomes are in :mod:`routeplanner.services.repair`.
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
from typing import Any
from zoneinfo import ZoneInfo

from routeplanner.errors import (
    ConflictError,
    InputError,
    InternalError,
    JobCancelledError,
    Problem,
    StorageError,
)
from routeplanner.fanout import FanoutConfig, mapper_for, region_options
from routeplanner.fanout import shutdown as shutdown_fanout
from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.model.history import OwnershipCause
from routeplanner.model.plan import DayRoute, Unassigned
from routeplanner.planner import (
    JobContext,
    JobMapper,
    TerritoryPlans,
    describe_failures,
    plan_territories,
)
from routeplanner.routing.day import describe_route, optimise_day
from routeplanner.routing.params import SolveParams
from routeplanner.scheduling.kpi import CoverageKpis, territory_kpis
from routeplanner.scheduling.scheduler import DaySearch
from routeplanner.services.current import current_plan as current_plan
from routeplanner.services.learning import Learned, learned_for_planning
from routeplanner.services.params import Params, limited, require_stored
from routeplanner.services.scope import Scope
from routeplanner.services.territories import place_off_network, save_territories, split_reachable
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.records import PlanInfo, PlanStatus
from routeplanner.territories.design import design_territories
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.timeofday import TimeOfDayProfile

__all__ = ["CoverageKpis", "describe_route"]

Progress = Callable[[str, float], None]
CANCELLED = "cancelled by the user"
"""The error stored on a plan version whose run was cancelled (its status is ``failed``)."""
INTERRUPTED = "interrupted: the process running it stopped before the plan was complete"
STALE_AFTER = timedelta(hours=24)
"""A running plan of another machine older than this is taken as interrupted (no run lasts
a day); younger ones may still be running there and are left alone."""
MAX_TIME_LIMIT_S = 600.0
"""Longest search per territory a run may ask for: ten minutes times the territories is
already a long wait for a plan someone is watching come in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanParams(Params):
    """What a planning run is asked: the same rules for the page, the API and ``plan``."""

    start: date
    weeks: int = limited(1, 1, MAX_HORIZON_WEEKS)
    time_limit_s: float = limited(20.0, 0.5, MAX_TIME_LIMIT_S)

    @classmethod
    def rules(cls, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        start = values["start"]
        if isinstance(start, date) and start.weekday() != 0:
            # Week-based visit frequencies and the week grid count weeks from Monday.
            return [("start", f"{start} is not a Monday")]
        if not isinstance(start, date):
            return [("start", "a first day is needed")]
        return []

    def horizon(self, timezone: str) -> Horizon:
        return Horizon(start=self.start, weeks=self.weeks, timezone=timezone)


@dataclass(frozen=True, slots=True)
class PlanningSetup:
    """What every plan of a deployment shares: its time zone, public holidays and rush hours
    (which time each day's drives by their departure)."""

    timezone: str = "Europe/Berlin"
    holidays: frozenset[date] = frozenset()
    rush_hours: TimeOfDayProfile | None = None
    jobs: JobMapper | None = None
    """Where the territories' jobs run (default: one after the other in this process)."""
    apply_unconfirmed_learning: bool = False
    """Plan with learned travel factors and visit lengths nobody confirmed yet."""
    day_search: DaySearch = DaySearch.HGS
    """Which periodic search chooses the visit days (``RP_DAY_SEARCH``)."""

    @classmethod
    def of(cls, settings: Settings, holidays: Path | None = None) -> PlanningSetup:
        """From the settings; ``holidays`` replaces the configured holidays file. Territory
        jobs fan out on Ray as the settings say (``RP_WORKERS``, ``RP_RAY_ADDRESS``)."""
        days = load_holidays(holidays or settings.holidays_path)
        return cls(
            settings.timezone,
            days,
            settings.rush_hours,
            workers(settings),
            settings.learning_apply_unconfirmed,
            DaySearch(settings.day_search),
        )


def workers(settings: Settings) -> JobMapper:
    """The process's Ray mapper for the settings (Ray starts on the first run that needs it)."""
    config = FanoutConfig(settings.workers, settings.ray_address, settings.fanout_min_territories)
    return mapper_for(config)


def stop_workers() -> None:
    """Stop the Ray workers this process started (a server shutting down)."""
    shutdown_fanout()


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


def runner_meta() -> dict[str, str]:
    """Which process runs a plan, stored with it, so that a restarting server can tell its own
    crashed runs (process gone) from runs still going on in another process."""
    return {"host": socket.gethostname(), "pid": str(os.getpid())}


def _failure(exc: BaseException) -> str:
    return CANCELLED if isinstance(exc, JobCancelledError) else f"{type(exc).__name__}: {exc}"


def fail_quietly(store: Store, plan_id: int, exc: BaseException) -> None:
    """Mark a run failed without hiding ``exc`` (the version may already be marked failed)."""
    with contextlib.suppress(StorageError):
        store.plans.fail(plan_id, _failure(exc))


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
    with store.read("reading accounts and reps") as tx:
        accounts, reps = tx.accounts.all(), tx.reps.all()
    require_stored(accounts=accounts, reps=reps)
    return accounts, reps


def first_design(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int = 28,
    start: date | None = None,
    progress: Progress | None = None,
    jobs: JobMapper | None = None,
) -> tuple[Territory, ...]:
    """Balanced territories for accounts that have none yet; accounts off the road network
    are placed by the territories' one policy (lock, else nearest qualified rep), so the plan
    reports them as unreachable to the manager who owns them instead of dropping them.
    An organisation-scale design runs its region jobs where ``jobs`` runs territory jobs."""
    on, off = split_reachable(travel, accounts)
    regions, map_regions = region_options(jobs, travel)
    design = design_territories(
        on,
        reps,
        travel,
        horizon_days=horizon_days,
        start=start,
        progress=progress,
        regions=regions,
        map_regions=map_regions,
    )
    return place_off_network(design.territories, off, reps)


def ensure_territories(
    store: Store,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    *,
    horizon_days: int,
    progress: Progress | None = None,
    user: str = "",
    jobs: JobMapper | None = None,
) -> tuple[list[Territory], bool]:
    """The stored territories, or a balanced design stored now when there are none yet."""
    current = store.territories.all()
    if current:
        return list(current), False
    territories = first_design(
        accounts, reps, travel, horizon_days=horizon_days, progress=progress, jobs=jobs
    )
    with store.transaction("storing the first territory design") as tx:
        save_territories(
            tx,
            territories,
            cause=OwnershipCause.REALIGNMENT,
            user=user,
            detail="initial balanced territory design",
        )
    return list(territories), True


def register_plan(store: Store, params: PlanParams, setup: PlanningSetup, *, user: str = "") -> int:
    """Register a running plan version for :func:`run_planning` and return its id at once
    (the web answers a start request with it, before the run has done anything)."""
    meta = {
        "time_limit_s": str(params.time_limit_s),
        "holidays": str(len(setup.holidays)),
        **runner_meta(),
    }
    return store.plans.start(params.horizon(setup.timezone), meta, user=user)


def run_planning(
    store: Store,
    travel: TravelTimeProvider,
    params: PlanParams,
    setup: PlanningSetup,
    *,
    progress: Progress | None = None,
    user: str = "",
    plan_id: int | None = None,
) -> PlanningResult:
    """Design territories if needed, schedule and route every rep, store the plan as current.

    ``plan_id`` is a version registered with :func:`register_plan`; without it one is
    registered here, once the stored inputs are known to be plannable. Whatever goes wrong
    after that marks the version failed (``progress`` raising
    :class:`~routeplanner.errors.JobCancelledError` marks it "cancelled by the user"), and the
    current plan stays current.

    Raises
    ------
    InputError
        Nothing to plan (no accounts or no reps stored yet).
    """
    if plan_id is None:
        stored_inputs(store)  # say what to import first, before registering a version
        plan_id = register_plan(store, params, setup, user=user)
    horizon = params.horizon(setup.timezone)
    report = _Throttled(store, plan_id, progress)
    try:
        report("starting", 0.0)  # a run cancelled before it began stops here
        accounts, reps = stored_inputs(store)
        learned = learned_for_planning(store, apply_unconfirmed=setup.apply_unconfirmed_learning)
        territories, designed = ensure_territories(
            store,
            accounts,
            reps,
            travel,
            horizon_days=7 * horizon.weeks,
            progress=lambda message, fraction: report(f"territories: {message}", 0.1 * fraction),
            user=user,
            jobs=setup.jobs,
        )
        result = _plan(
            learned.accounts(accounts),
            reps,
            territories,
            travel,
            params,
            setup,
            lambda message, fraction: report(message, 0.1 + 0.9 * fraction),
            learned,
        )
        plan = keep_failed(result, territories, _previous(store), horizon)
        plan = replace(plan, meta={**plan.meta, "travel": travel.name})
        report("storing the plan", 1.0)
        store.plans.complete(plan_id, plan)
    except BaseException as exc:
        fail_quietly(store, plan_id, exc)
        raise
    return PlanningResult(plan_id, plan, tuple(territories), tuple(accounts), tuple(reps), designed)


def _plan(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    travel: TravelTimeProvider,
    params: PlanParams,
    setup: PlanningSetup,
    progress: Progress | None,
    learned: Learned | None = None,
) -> TerritoryPlans:
    """Every territory scheduled and routed over the asked horizon (an independent job each),
    each rep's drives times their ``learned`` factor."""
    return plan_territories(
        accounts,
        reps,
        territories,
        params.horizon(setup.timezone),
        JobContext(travel, setup.rush_hours, search=setup.day_search),
        holidays=setup.holidays,
        time_limit_s=params.time_limit_s,
        progress=progress,
        map_jobs=setup.jobs,
        travel_factors=learned.travel_factors if learned is not None else None,
    )


def keep_failed(
    result: TerritoryPlans,
    territories: Sequence[Territory],
    previous: tuple[Plan, Horizon] | None,
    horizon: Horizon,
) -> Plan:
    """The run's plan, with each territory that failed on every attempt keeping its part of
    the ``previous`` plan (its rep's routes, its accounts' unplaced visits).

    Raises
    ------
    InternalError
        A territory failed and there is no previous plan of the same horizon to keep.
    """
    failures = result.failures
    if not failures:
        return result.merged()
    if previous is None or previous[1] != horizon:
        raise InternalError(describe_failures(failures))
    old = previous[0]
    owned = {t.territory_id: set(t.account_ids) for t in territories}
    kept = [
        Plan(
            routes=old.routes_of(f.rep_id),
            unassigned=tuple(u for u in old.unassigned if u.account_id in owned[f.territory_id]),
        )
        for f in failures
    ]
    plan = result.merged(kept)
    note = "; ".join(f"{f.territory_id}: {f.error}" for f in failures)
    return replace(plan, meta={**plan.meta, "failed_territories": note})


def _previous(store: Store) -> tuple[Plan, Horizon] | None:
    current = store.plans.current()
    if current is None:
        return None
    return current[1], store.plans.info(current[0]).horizon


def running_plan(store: Store, plan_id: int) -> PlanInfo:
    """The plan version ``plan_id``, which must still be running (to be cancelled).

    Raises
    ------
    NotFoundError
        No such plan version.
    ConflictError
        It is not running (complete or failed).
    """
    info = store.plans.info(plan_id)
    if info.status is not PlanStatus.RUNNING:
        msg = f"plan {plan_id} is {info.status.value}"
        raise ConflictError(msg)
    return info


def public_status(info: PlanInfo) -> str:
    """``running``, ``complete``, ``failed`` or ``cancelled`` (a failure the user asked for)."""
    if info.status is PlanStatus.FAILED and info.error == CANCELLED:
        return "cancelled"
    return info.status.value


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


# -- the plan in force -------------------------------------------------------------------------


def coverage(
    plan: Plan,
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    horizon: Horizon,
    *,
    holidays: frozenset[date] = frozenset(),
) -> Mapping[str, CoverageKpis]:
    """Coverage KPIs per territory id: due, planned and unplaced visits, drive, workload."""
    return territory_kpis(plan, accounts, reps, territories, horizon, holidays=holidays)


@dataclass(frozen=True, slots=True)
class PlanOverview:
    """The current plan with what the plan page shows beside it."""

    plan_id: int
    plan: Plan
    horizon: Horizon
    kpis: Mapping[str, CoverageKpis]
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]


def plan_overview(store: Store, setup: PlanningSetup, scope: Scope) -> PlanOverview | None:
    """The current plan and its coverage KPIs, of the reps and accounts ``scope`` sees (a
    manager's regions' routes only); ``None`` before the first plan."""
    current = store.plans.current()
    if current is None:
        return None
    plan_id, plan = current
    with store.read("reading the current plan's inputs") as tx:
        horizon = tx.plans.info(plan_id).horizon
        accounts, reps, territories = tx.accounts.all(), tx.reps.all(), tx.territories.all()
    if not scope.is_everything:
        plan = replace(
            plan,
            routes=tuple(r for r in plan.routes if scope.sees_rep(r.rep_id)),
            unassigned=tuple(u for u in plan.unassigned if scope.sees_account(u.account_id)),
        )
        accounts, reps = scope.accounts_of(accounts), scope.reps_of(reps)
        territories = scope.territories_of(territories)
    kpis = coverage(plan, accounts, reps, territories, horizon, holidays=setup.holidays)
    return PlanOverview(plan_id, plan, horizon, kpis, tuple(accounts), tuple(reps))


# -- plans of files (nothing stored) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FilePlan:
    """A plan of accounts and reps given as files, with the territories it used."""

    plan: Plan
    territories: tuple[Territory, ...]
    kpis: Mapping[str, CoverageKpis]


def plan_files(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory] | None,
    travel: TravelTimeProvider,
    params: PlanParams,
    setup: PlanningSetup,
    *,
    progress: Progress | None = None,
) -> FilePlan:
    """Plan ``accounts`` and ``reps`` (territories designed by :func:`first_design` when not
    given); nothing stored."""
    horizon = params.horizon(setup.timezone)
    if territories is None:
        territories = first_design(accounts, reps, travel, start=params.start, jobs=setup.jobs)
    result = _plan(accounts, reps, territories, travel, params, setup, progress)
    plan = keep_failed(result, territories, None, horizon)
    kpis = coverage(plan, accounts, reps, territories, horizon, holidays=setup.holidays)
    return FilePlan(plan, tuple(territories), kpis)


# -- one rep-day ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DayParams(Params):
    """One rep-day to route: which rep, which day (default: the rep's next working day), the
    accounts to consider (default: all) and the search time."""

    rep_id: str | None = None
    day: date | None = None
    only: tuple[str, ...] = ()
    time_limit_s: float = limited(5.0, 0.1, MAX_TIME_LIMIT_S)


def first_working_day(rep: Rep, start: date, *, within_days: int = 366) -> date | None:
    """The first day from ``start`` on which ``rep`` works (the default day to plan)."""
    for offset in range(within_days):
        day = start + timedelta(days=offset)
        if rep.shift(day) is not None:
            return day
    return None


def route_day(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    travel: TravelTimeProvider,
    params: DayParams,
    *,
    source: str = "reps",
    today: date | None = None,
    rush_hours: TimeOfDayProfile | None = None,
) -> tuple[DayRoute, list[Unassigned]]:
    """Route one rep-day over ``accounts`` (nothing stored); problems name ``source``;
    ``rush_hours`` times the drives by their departure.

    Raises
    ------
    InputError
        No reps, an unknown rep or account, or a rep without a working day within a year.
    """
    if not reps:
        raise InputError(Problem(source, None, None, "no reps in the file"))
    chosen = (
        reps[0]
        if params.rep_id is None
        else next((r for r in reps if r.rep_id == params.rep_id), None)
    )
    if chosen is None:
        raise InputError(Problem(source, None, "rep_id", f"no rep {params.rep_id!r}"))
    day = params.day or first_working_day(chosen, today or date.today())
    if day is None:
        msg = f"rep {chosen.rep_id} has no working day in the next year"
        raise InputError(Problem(source, None, "working_hours", msg))
    if params.only:
        known = {a.account_id for a in accounts}
        missing = [w for w in params.only if w not in known]
        if missing:
            raise InputError(Problem("only", None, None, f"unknown accounts {missing}"))
        accounts = [a for a in accounts if a.account_id in set(params.only)]
    solve = SolveParams(time_limit_s=params.time_limit_s)
    return optimise_day(chosen, day, accounts, travel, params=solve, rush_hours=rush_hours)


def describe_unassigned(unassigned: Sequence[Unassigned], *, list_up_to: int = 20) -> list[str]:
    """One line per visit left out; beyond ``list_up_to`` a count per reason instead."""
    if len(unassigned) <= list_up_to:
        return [f"  not planned: {u.account_id}: {u.message}" for u in unassigned]
    by_reason: dict[str, list[str]] = {}
    for u in unassigned:
        by_reason.setdefault(u.reason.label, []).append(u.account_id)
    lines = [f"  not planned: {len(unassigned)} accounts"]
    for label, ids in sorted(by_reason.items(), key=lambda kv: -len(kv[1])):
        more = f", ... (+{len(ids) - 8})" if len(ids) > 8 else ""
        lines.append(f"    {len(ids):4} {label}: {', '.join(ids[:8])}{more}")
    return lines
