"""The plan page: run planning in the background, follow it, see the current plan's KPIs.

Managers only. A planning run is a :class:`~routeplanner.web.replan.PlanningJobs` job (one at a
time per app); the current plan stays current until the new one is complete, and a cancelled or
failed run leaves it untouched (``run_planning`` marks its own version failed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import StorageError
from routeplanner.model import Horizon, Plan
from routeplanner.scheduling.kpi import territory_kpis
from routeplanner.storage.records import PlanInfo, PlanStatus, UserRecord
from routeplanner.web.auth import CsrfDep, ManagerDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.replan import Job, PlanningJob, PlanningJobs
from routeplanner.web.schemas import DbIdForm
from routeplanner.web.services import Services
from routeplanner.workflows import (
    PlanningResult,
    load_holidays,
    next_monday,
    register_planning,
    run_planning,
)

router = APIRouter()
MAX_WEEKS = 13


def get_planning_jobs(request: Request) -> PlanningJobs:
    """One planning-job registry per app, made on first use."""
    jobs: PlanningJobs | None = getattr(request.app.state, "planning_jobs", None)
    if jobs is None:
        jobs = PlanningJobs()
        request.app.state.planning_jobs = jobs
    return jobs


JobsDep = Annotated[PlanningJobs, Depends(get_planning_jobs)]
ServicesDep = Annotated[Services, Depends(get_services)]


def start_planning(
    services: Services,
    jobs: PlanningJobs,
    user: UserRecord,
    *,
    start: date,
    weeks: int,
    time_limit_s: float,
) -> PlanningJob:
    """Register a plan version and fill it in the background; 409 while a run is going on.

    The version's id (``job.plan_id``) is known at once, so API clients poll and cancel the
    stored version, which outlives this process.
    """
    if not 1 <= weeks <= MAX_WEEKS:
        raise HTTPException(status_code=422, detail=f"weeks must be 1..{MAX_WEEKS}, got {weeks}")
    if start.weekday() != 0:
        raise HTTPException(status_code=422, detail=f"{start} is not a Monday")
    if not 0 < time_limit_s <= 600:
        raise HTTPException(status_code=422, detail="time limit must be in (0, 600] seconds")
    settings = services.settings
    horizon = Horizon(start=start, weeks=weeks, timezone=settings.timezone)
    holidays = load_holidays(settings.holidays_path)

    def prepare() -> int:
        return register_planning(
            services.store,
            horizon,
            time_limit_s=time_limit_s,
            holidays=holidays,
            user=user.username,
        )

    def work(job: Job[PlanningResult]) -> PlanningResult:
        assert job.plan_id is not None
        return run_planning(
            services.store,
            services.travel(),
            horizon,
            holidays=holidays,
            time_limit_s=time_limit_s,
            progress=job.report,
            user=user.username,
            plan_id=job.plan_id,
            rush_hours=services.settings.rush_hours,
        )

    job = jobs.start_exclusive(user.username, work, prepare=prepare)
    if job is None:
        raise HTTPException(status_code=409, detail="a planning run is already in progress")
    return job


def cancel_planning(services: Services, jobs: PlanningJobs, plan_id: int) -> PlanInfo:
    """Ask the run filling plan version ``plan_id`` to stop (at its next progress report).

    404 for an unknown version; 409 when it is not running, or runs in another process (a
    ``routeplanner plan`` in a terminal), which cannot be stopped from here.
    """
    try:
        info = services.store.plans.info(plan_id)
    except StorageError as exc:
        raise HTTPException(status_code=404, detail=f"plan {plan_id} not found") from exc
    if info.status is not PlanStatus.RUNNING:
        raise HTTPException(status_code=409, detail=f"plan {plan_id} is {info.status.value}")
    job = jobs.for_plan(plan_id)
    if job is None:
        detail = f"plan {plan_id} is being made by another process; stop it there"
        raise HTTPException(status_code=409, detail=detail)
    job.cancel.set()
    return info


@dataclass(frozen=True, slots=True)
class DayCell:
    day: date
    visits: int
    hours: float


def _week_grid(
    plan: Plan, horizon: Horizon, week: int
) -> tuple[list[date], dict[str, list[DayCell]]]:
    monday = horizon.start + timedelta(days=7 * week)
    days = [monday + timedelta(days=i) for i in range(5)]
    routes = {(r.rep_id, r.day): r for r in plan.routes}
    rep_ids = sorted({r.rep_id for r in plan.routes})
    grid: dict[str, list[DayCell]] = {}
    for rep_id in rep_ids:
        cells = []
        for day in days:
            route = routes.get((rep_id, day))
            if route is None or not route.stops:
                cells.append(DayCell(day, 0, 0.0))
            else:
                cells.append(DayCell(day, len(route.stops), (route.end_s - route.start_s) / 3600))
        grid[rep_id] = cells
    return days, grid


@router.get("/plan", response_class=HTMLResponse, include_in_schema=False)
def plan_page(
    request: Request,
    _user: ManagerDep,
    services: ServicesDep,
    jobs: JobsDep,
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    week: int = 0,
) -> Response:
    """Start planning, follow its progress, and see the current plan's KPIs and week grid."""
    settings = services.settings
    store = services.store
    context: dict[str, object] = {
        "default_start": next_monday(settings.timezone),
        "default_time_limit": settings.plan_time_limit_s,
        "max_weeks": MAX_WEEKS,
        "job": jobs.latest(),
        "running": jobs.running(),
        "versions": store.plans.all(),
        "current": None,
    }
    current = store.plans.current()
    if current is not None:
        plan_id, plan = current
        horizon = store.plans.info(plan_id).horizon
        accounts, reps = store.accounts.all(), store.reps.all()
        kpis = territory_kpis(
            plan,
            accounts,
            reps,
            store.territories.all(),
            horizon,
            holidays=load_holidays(settings.holidays_path),
        )
        week = max(0, min(week, horizon.weeks - 1))
        days, grid = _week_grid(plan, horizon, week)
        names = {a.account_id: a.name for a in accounts}
        context.update(
            {
                "current": plan_id,
                "horizon": horizon,
                "kpis": kpis,
                "week": week,
                "weeks": range(horizon.weeks),
                "days": days,
                "grid": grid,
                "rep_names": {r.rep_id: r.name for r in reps},
                "unassigned": plan.unassigned,
                "account_names": names,
            }
        )
    return templates.TemplateResponse(request, "plan.html", context)


@router.post("/plan/start", include_in_schema=False, dependencies=[CsrfDep])
def plan_start(
    user: ManagerDep,
    services: ServicesDep,
    jobs: JobsDep,
    start: Annotated[date, Form()],
    weeks: Annotated[int, Form()] = 1,
    time_limit_s: Annotated[float, Form()] = 20.0,
) -> Response:
    start_planning(services, jobs, user, start=start, weeks=weeks, time_limit_s=time_limit_s)
    return RedirectResponse("/plan", status_code=303)


@router.post("/plan/cancel", include_in_schema=False, dependencies=[CsrfDep])
def plan_cancel(
    _user: ManagerDep,
    services: ServicesDep,
    jobs: JobsDep,
    plan_id: DbIdForm,
) -> Response:
    cancel_planning(services, jobs, plan_id)
    return RedirectResponse("/plan", status_code=303)
