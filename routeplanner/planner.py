"""Runs the planning stages for a whole region: one independent scheduling job per territory.

Jobs take and return plain data (frozen dataclasses), share nothing, and are merged at the end,
so ``map_jobs`` may fan them out over processes or a cluster without changing this module.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Protocol

from routeplanner.errors import InternalError
from routeplanner.model import (
    Account,
    Horizon,
    Plan,
    Rep,
    Territory,
    Unassigned,
    UnassignedReason,
)
from routeplanner.scheduling.day_router import DayRouter, default_day_router
from routeplanner.scheduling.scheduler import (
    DaySearch,
    Progress,
    periodic_search,
    schedule_visits,
)
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.scaled import ScaledTravel
from routeplanner.travel.timeofday import TimeOfDayProfile


@dataclass(frozen=True, slots=True, kw_only=True)
class TerritoryJob:
    """Everything one territory's schedule needs; picklable, no shared state."""

    territory_id: str
    rep: Rep
    accounts: tuple[Account, ...]
    horizon: Horizon
    holidays: frozenset[date] = frozenset()
    time_limit_s: float = 25.0
    max_iterations: int | None = None
    seed: int = 0
    travel_factor: float = 1.0
    """The rep's drives take this many times the road model's (learned and confirmed)."""


def territory_jobs(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    horizon: Horizon,
    *,
    holidays: frozenset[date] | Mapping[str, frozenset[date]] = frozenset(),
    time_limit_s: float = 25.0,
    max_iterations: int | None = None,
    seed: int = 0,
    travel_factors: Mapping[str, float] | None = None,
) -> tuple[list[TerritoryJob], list[Unassigned]]:
    """Split the region into jobs; accounts without a rep become ``no_rep`` unassigned visits.

    ``holidays`` is one set for everybody or a mapping rep id -> set (reps in other regions);
    ``travel_factors`` scales the drives of the reps it names.
    """
    by_id = {a.account_id: a for a in accounts}
    reps_by_id = {r.rep_id: r for r in reps}
    covered: set[str] = set()
    jobs: list[TerritoryJob] = []
    for t in territories:
        if t.rep_id is None or t.rep_id not in reps_by_id:
            continue
        accs = tuple(by_id[a] for a in t.account_ids if a in by_id)
        covered.update(a.account_id for a in accs)
        hol = holidays.get(t.rep_id, frozenset()) if isinstance(holidays, Mapping) else holidays
        jobs.append(
            TerritoryJob(
                territory_id=t.territory_id,
                rep=reps_by_id[t.rep_id],
                accounts=accs,
                horizon=horizon,
                holidays=hol,
                time_limit_s=time_limit_s,
                max_iterations=max_iterations,
                seed=seed,
                travel_factor=(travel_factors or {}).get(t.rep_id, 1.0),
            )
        )
    orphans = [
        Unassigned(
            visit_id=f"{a.account_id}@*",
            account_id=a.account_id,
            reason=UnassignedReason.NO_REP,
            detail="the account is in no territory with a rep",
        )
        for a in accounts
        if a.account_id not in covered
    ]
    return jobs, orphans


def merge_plans(plans: Sequence[Plan], extra_unassigned: Sequence[Unassigned] = ()) -> Plan:
    """One plan from independent per-territory plans (they never share a rep-day)."""
    routes = tuple(sorted((r for p in plans for r in p.routes), key=lambda r: (r.rep_id, r.day)))
    unassigned = tuple(u for p in plans for u in p.unassigned) + tuple(extra_unassigned)
    meta = {"territories": str(len(plans))}
    issues = [a for p in plans for a in p.meta.get("frequency_issues", "").split(",") if a]
    meta["frequency_issues"] = ",".join(issues)
    for p in plans:
        rep = p.meta.get("rep_id")
        if rep:
            # Search statistics per rep, e.g. "R1.iterations", for the plan's detail page.
            meta.update({f"{rep}.{k}": v for k, v in p.meta.items() if k != "rep_id"})
    return Plan(routes=routes, unassigned=unassigned, created_at=datetime.now(UTC), meta=meta)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What every territory job of one run shares: how to travel, how to route a day and which
    search chooses the visit days (by name: each job looks the function up where it runs).

    A mapper that ships jobs to other processes ships this once per run, not once per job.
    """

    travel: TravelTimeProvider
    rush_hours: TimeOfDayProfile | None = None
    day_router: DayRouter | None = None
    search: DaySearch = DaySearch.HGS


@dataclass(frozen=True, slots=True)
class TerritoryDone:
    """A territory's plan and the seconds its job took (wall time where it ran)."""

    territory_id: str
    plan: Plan
    seconds: float


@dataclass(frozen=True, slots=True)
class TerritoryFailure:
    """A territory whose job failed on every attempt; its previous plan should stay in force."""

    territory_id: str
    rep_id: str
    error: str
    attempts: int = 1


JobOutcome = TerritoryDone | TerritoryFailure


class JobMapper(Protocol):
    """Runs territory jobs and returns one outcome per job, in job order.

    ``progress(message, fraction)`` receives the whole run's fraction; when it raises (a
    cancelled run) the mapper stops every job it started and lets the error through.
    """

    def __call__(
        self, jobs: Sequence[TerritoryJob], context: JobContext, progress: Progress | None
    ) -> Sequence[JobOutcome]: ...


def run_job(job: TerritoryJob, context: JobContext, progress: Progress | None = None) -> Plan:
    """Schedule and route one territory (what every mapper runs, wherever it runs); the plan's
    meta names the search that chose its days."""
    travel = context.travel
    if job.travel_factor != 1.0:
        travel = ScaledTravel(travel, job.travel_factor)
    plan = schedule_visits(
        job.accounts,
        job.rep,
        job.horizon,
        travel,
        holidays=job.holidays,
        time_limit_s=job.time_limit_s,
        max_iterations=job.max_iterations,
        seed=job.seed,
        progress=progress,
        day_router=context.day_router or _rush_hour_router(travel, job, context.rush_hours),
        search=periodic_search(context.search),
    )
    return replace(plan, meta={**plan.meta, "search": DaySearch(context.search).value})


def timed_job(job: TerritoryJob, context: JobContext, progress: Progress | None) -> TerritoryDone:
    """:func:`run_job` with its wall time, for the mappers' outcomes."""
    started = time.perf_counter()
    plan = run_job(job, context, progress)
    return TerritoryDone(job.territory_id, plan, time.perf_counter() - started)


def in_process(
    jobs: Sequence[TerritoryJob], context: JobContext, progress: Progress | None
) -> list[JobOutcome]:
    """The default mapper: one job after the other in this process; errors propagate."""
    outcomes: list[JobOutcome] = []
    for index, job in enumerate(jobs):
        outcomes.append(timed_job(job, context, _job_progress(progress, job, index, len(jobs))))
    return outcomes


def _job_progress(
    progress: Progress | None, job: TerritoryJob, index: int, total: int
) -> Progress | None:
    """A job's own progress (0..1) as its share of the whole run's."""
    if progress is None:
        return None
    report = progress

    def sub(message: str, fraction: float) -> None:
        report(f"{job.territory_id}: {message}", (index + fraction) / max(1, total))

    return sub


@dataclass(frozen=True, slots=True)
class TerritoryPlans:
    """Every territory's outcome of one run, and the visits of accounts in no territory."""

    outcomes: tuple[JobOutcome, ...]
    orphans: tuple[Unassigned, ...]

    @property
    def failures(self) -> tuple[TerritoryFailure, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, TerritoryFailure))

    @property
    def done(self) -> tuple[TerritoryDone, ...]:
        return tuple(o for o in self.outcomes if isinstance(o, TerritoryDone))

    def merged(self, kept: Sequence[Plan] = ()) -> Plan:
        """One plan of the territories that were planned and ``kept`` plans (failed
        territories' previous plans)."""
        return merge_plans([d.plan for d in self.done] + list(kept), self.orphans)


def plan_territories(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    horizon: Horizon,
    context: JobContext,
    *,
    holidays: frozenset[date] | Mapping[str, frozenset[date]] = frozenset(),
    time_limit_s: float = 25.0,
    max_iterations: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    map_jobs: JobMapper | None = None,
    travel_factors: Mapping[str, float] | None = None,
) -> TerritoryPlans:
    """Schedule and route every territory of the region over ``horizon``, one job each.

    ``time_limit_s`` is per territory. ``map_jobs`` runs the jobs (default :func:`in_process`);
    a territory it could not plan comes back as a :class:`TerritoryFailure`.
    """
    jobs, orphans = territory_jobs(
        accounts,
        reps,
        territories,
        horizon,
        holidays=holidays,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        seed=seed,
        travel_factors=travel_factors,
    )
    outcomes = (map_jobs or in_process)(jobs, context, progress)
    return TerritoryPlans(tuple(outcomes), tuple(orphans))


def plan_all(
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    territories: Sequence[Territory],
    horizon: Horizon,
    travel: TravelTimeProvider,
    *,
    holidays: frozenset[date] | Mapping[str, frozenset[date]] = frozenset(),
    time_limit_s: float = 25.0,
    max_iterations: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    day_router: DayRouter | None = None,
    map_jobs: JobMapper | None = None,
    rush_hours: TimeOfDayProfile | None = None,
    search: DaySearch = DaySearch.HGS,
) -> Plan:
    """:func:`plan_territories` merged into one plan; a failed territory raises.

    ``rush_hours`` makes each day's final route time its drives by departure (the default day
    router's; ignored when ``day_router`` is given). ``search`` names the search that chooses
    the visit days (:class:`~routeplanner.scheduling.scheduler.DaySearch`).

    Raises
    ------
    InternalError
        A territory's job failed on every attempt (the message names the territories).
    """
    result = plan_territories(
        accounts,
        reps,
        territories,
        horizon,
        JobContext(travel, rush_hours, day_router, search),
        holidays=holidays,
        time_limit_s=time_limit_s,
        max_iterations=max_iterations,
        seed=seed,
        progress=progress,
        map_jobs=map_jobs,
    )
    if result.failures:
        raise InternalError(describe_failures(result.failures))
    return result.merged()


def describe_failures(failures: Sequence[TerritoryFailure]) -> str:
    """One sentence naming every failed territory and why."""
    parts = [f"{f.territory_id} ({f.error})" for f in failures]
    return f"{len(parts)} territories could not be planned: " + "; ".join(parts)


def _rush_hour_router(
    travel: TravelTimeProvider, job: TerritoryJob, rush_hours: TimeOfDayProfile | None
) -> DayRouter | None:
    """The default day router with rush hours, or None (the scheduler's own default)."""
    if rush_hours is None or not rush_hours.enabled:
        return None
    return default_day_router(
        travel,
        reproducible=job.max_iterations is not None,
        seed=job.seed,
        rush_hours=rush_hours,
    )
