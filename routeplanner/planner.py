"""Runs the planning stages for a whole region: one independent scheduling job per territory.

Jobs take and return plain data (frozen dataclasses), share nothing, and are merged at the end,
so ``map_jobs`` may fan them out over processes or a cluster without changing this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

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
from routeplanner.scheduling.scheduler import Progress, schedule_visits
from routeplanner.travel.provider import TravelTimeProvider
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


JobRunner = Callable[[TerritoryJob], Plan]
JobMapper = Callable[[JobRunner, Sequence[TerritoryJob]], Sequence[Plan]]


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
) -> tuple[list[TerritoryJob], list[Unassigned]]:
    """Split the region into jobs; accounts without a rep become ``no_rep`` unassigned visits.

    ``holidays`` is one set for everybody or a mapping rep id -> set (reps in other regions).
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
) -> Plan:
    """Schedule and route every territory of the region over ``horizon`` and merge the plans.

    ``time_limit_s`` is per territory. ``map_jobs(run, jobs)`` runs the jobs (default: one after
    the other in this process, reporting progress); a parallel mapper must return plans in job
    order. ``rush_hours`` makes each day's final route time its drives by departure (the
    default day router's; ignored when ``day_router`` is given).
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
    )

    def run(job: TerritoryJob, index: int = 0) -> Plan:
        def sub(msg: str, frac: float) -> None:
            if progress is not None:
                progress(f"{job.territory_id}: {msg}", (index + frac) / max(1, len(jobs)))

        return schedule_visits(
            job.accounts,
            job.rep,
            job.horizon,
            travel,
            holidays=job.holidays,
            time_limit_s=job.time_limit_s,
            max_iterations=job.max_iterations,
            seed=job.seed,
            progress=sub,
            day_router=day_router or _rush_hour_router(travel, job, rush_hours),
        )

    if map_jobs is None:
        plans: Sequence[Plan] = [run(job, i) for i, job in enumerate(jobs)]
    else:
        plans = map_jobs(run, jobs)
    return merge_plans(plans, orphans)


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
