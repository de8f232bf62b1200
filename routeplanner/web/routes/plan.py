"""The plan page: run planning in the background, follow it, see the current plan's KPIs.

Managers only. A planning run is a :class:`~routeplanner.web.jobs.PlanningJobs` job (one at a
time per app) whose work is :func:`routeplanner.services.planning.run_planning`; the current
plan stays current until the new one is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import ConflictError
from routeplanner.model import Horizon, Plan
from routeplanner.model.calendar import MAX_HORIZON_WEEKS
from routeplanner.services import planning
from routeplanner.services.planning import PlanningResult, PlanningSetup, PlanParams
from routeplanner.services.scope import Scope
from routeplanner.storage.records import PlanInfo, UserRecord
from routeplanner.web.auth import CsrfDep, ManagerDep, ScopeDep
from routeplanner.web.deps import get_templates
from routeplanner.web.jobs import Job, PlanningJob
from routeplanner.web.schemas import DbIdForm
from routeplanner.web.state import AppState, get_state

router = APIRouter()
StateDep = Annotated[AppState, Depends(get_state)]


def start_planning(
    state: AppState, user: UserRecord, scope: Scope, params: PlanParams
) -> PlanningJob:
    """Register a plan version and fill it in the background; a ConflictError while a run is
    going on. The version's id (``job.plan_id``) is known at once, so API clients poll and
    cancel the stored version, which outlives this process. A plan replaces every rep's, so
    only an admin starts one (PermissionDeniedError)."""
    scope.require_everything("plan every rep")
    services = state.services
    setup = PlanningSetup.of(state.settings)

    def prepare() -> int:
        return planning.register_plan(services.store, params, setup, user=user.username)

    def work(job: Job[PlanningResult]) -> PlanningResult:
        return planning.run_planning(
            services.store,
            services.travel(),
            params,
            setup,
            progress=job.report,
            user=user.username,
            plan_id=job.plan_id,
        )

    return state.planning_jobs.start_one(
        user.username, work, prepare=prepare, busy="a planning run is already in progress"
    )


def cancel_planning(state: AppState, plan_id: int) -> PlanInfo:
    """Ask the run filling plan version ``plan_id`` to stop (at its next progress report).
    A run in another process (a ``routeplanner plan`` in a terminal) cannot be stopped here."""
    info = planning.running_plan(state.services.store, plan_id)
    job = state.planning_jobs.for_plan(plan_id)
    if job is None:
        msg = f"plan {plan_id} is being made by another process; stop it there"
        raise ConflictError(msg)
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
    scope: ScopeDep,
    state: StateDep,
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    week: int = 0,
) -> Response:
    """Start planning, follow its progress, and see the current plan's KPIs and week grid (a
    manager scoped to regions: their reps' routes; planning runs are an admin's)."""
    settings, store, jobs = state.settings, state.services.store, state.planning_jobs
    whole = scope.is_everything
    context: dict[str, object] = {
        "default_start": planning.next_monday(settings.timezone),
        "default_time_limit": settings.plan_time_limit_s,
        "max_weeks": MAX_HORIZON_WEEKS,
        "job": jobs.latest() if whole else None,
        "running": jobs.running() if whole else None,
        "versions": store.plans.all() if whole else [],
        "may_plan": whole,
        "current": None,
        "default_weeks": 1,
    }
    current = planning.plan_overview(store, PlanningSetup.of(settings), scope)
    if current is not None:
        week = max(0, min(week, current.horizon.weeks - 1))
        days, grid = _week_grid(current.plan, current.horizon, week)
        context.update(
            {
                "current": current.plan_id,
                # A re-plan replaces the current plan: offer its horizon, never a shorter one.
                "default_weeks": current.horizon.weeks,
                "horizon": current.horizon,
                "kpis": current.kpis,
                "week": week,
                "weeks": range(current.horizon.weeks),
                "days": days,
                "grid": grid,
                "rep_names": {r.rep_id: r.name for r in current.reps},
                "unassigned": current.plan.unassigned,
                "account_names": {a.account_id: a.name for a in current.accounts},
            }
        )
    return templates.TemplateResponse(request, "plan.html", context)


@router.post("/plan/start", include_in_schema=False, dependencies=[CsrfDep])
def plan_start(
    user: ManagerDep,
    scope: ScopeDep,
    state: StateDep,
    start: Annotated[str, Form()] = "",
    weeks: Annotated[str, Form()] = "",
    time_limit_s: Annotated[str, Form()] = "",
) -> Response:
    fields = {"start": start, "weeks": weeks, "time_limit_s": time_limit_s}
    start_planning(state, user, scope, PlanParams.from_text(fields, source="form"))
    return RedirectResponse("/plan", status_code=303)


@router.post("/plan/cancel", include_in_schema=False, dependencies=[CsrfDep])
def plan_cancel(_user: ManagerDep, scope: ScopeDep, state: StateDep, plan_id: DbIdForm) -> Response:
    scope.require_everything("stop a planning run")
    cancel_planning(state, plan_id)
    return RedirectResponse("/plan", status_code=303)
