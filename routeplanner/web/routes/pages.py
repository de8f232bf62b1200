"""Server-rendered pages (Jinja2): small, mobile-first, usable without JavaScript."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from routeplanner.errors import RoadNetworkError
from routeplanner.services.repair import stop_reasons
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.web.auth import UserDep, allowed_rep, existing_csrf_token
from routeplanner.web.compression import pack, packed_response
from routeplanner.web.dayview import build_day_view, changed_view, replan_view, status_label
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.schemas import DbIdQuery
from routeplanner.web.services import Services
from routeplanner.web.state import app_state

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(
    request: Request,
    user: UserDep,
    services: Annotated[Services, Depends(get_services)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
) -> Response:
    """Reps and accounts with their snap status: the first check after an import."""
    if user.role is UserRole.REP:
        return RedirectResponse("/route", status_code=303)
    accounts, reps = services.store.accounts.all(), services.store.reps.all()
    road_error = ""
    try:
        snaps = services.snaps(accounts, reps)
    except RoadNetworkError as exc:
        snaps, road_error = {}, str(exc)
    unreachable = sum(1 for s in snaps.values() if not s.reachable)
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "accounts": accounts,
            "reps": reps,
            "snaps": snaps,
            "road_error": road_error,
            "unreachable": unreachable,
            "max_snap_m": services.settings.max_snap_m,
        },
    )


@router.get("/route", response_class=HTMLResponse, include_in_schema=False)
async def route_page(
    request: Request,
    user: UserDep,
    services: Annotated[Services, Depends(get_services)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    rep: str | None = None,
    day: date | None = None,
    job: DbIdQuery = None,
    changed: DbIdQuery = None,
) -> Response:
    """One rep's day from the current plan: stops in order with ETAs, a map and navigation links.

    The finished page is cached (:meth:`Services.cached_answer`) under everything it shows
    besides the stored data: the user (name and role in the header), the session's CSRF token
    (in the forms), the rep, the day, today's date (default day, reasons) and the base URL (the
    stylesheet link). Pages after a re-plan (``job``, ``changed``) are never cached."""
    rep = allowed_rep(user, rep)
    tz = ZoneInfo(services.settings.timezone)
    today = datetime.now(tz=tz).date()

    def render() -> HTMLResponse:
        return _route_page(request, user, services, templates, rep, day, job, changed, today)

    csrf = existing_csrf_token(request)
    if job is not None or changed is not None or csrf is None:
        return await run_in_threadpool(render)
    key = (
        "day page",
        (user.user_id, user.username, user.role, user.rep_id),
        csrf,
        rep,
        day,
        today,
        str(request.base_url),
    )
    body = await services.cached_answer_async(key, lambda: pack(bytes(render().body)))
    return packed_response(request, body, "text/html; charset=utf-8")


def _route_page(
    request: Request,
    user: UserRecord,
    services: Services,
    templates: Jinja2Templates,
    rep: str | None,
    day: date | None,
    job: int | None,
    changed: int | None,
    today: date,
) -> HTMLResponse:
    data = services.snapshot()
    reps = data.reps
    if rep is not None and user.role is UserRole.REP:
        reps = [r for r in reps if r.rep_id == rep]
    current = data.current
    context: dict[str, object] = {"reps": reps, "rep": None, "day": day, "view": None}
    if not reps or current is None:
        return templates.TemplateResponse(request, "route.html", context)
    plan_id, plan = current
    rep_obj = next((r for r in reps if r.rep_id == rep), reps[0])
    days = sorted({r.day for r in plan.routes if r.rep_id == rep_obj.rep_id and r.stops})
    tz = ZoneInfo(services.settings.timezone)
    if day is None and days:
        day = next((d for d in days if d >= today), days[-1])
    route = next((r for r in plan.routes if r.rep_id == rep_obj.rep_id and r.day == day), None)
    accounts = data.accounts
    view = None
    statuses: dict[str, tuple[str, str]] = {}
    if route is not None:
        reasons, reported = stop_reasons(services.store, plan, route, accounts, today=today)
        view = build_day_view(route, rep_obj, accounts, services, reasons=reasons)
        statuses = {v: (r.status.value, status_label(r, tz)) for v, r in reported.items()}
    replan = None
    if job is not None:
        found = app_state(request.app).repair_jobs.get(job)
        if found is not None and found.rep_id == rep_obj.rep_id:
            replan = replan_view(found, rep_obj.rep_id, accounts)
    elif changed is not None:
        replan = changed_view(services.store, changed, rep_obj, accounts)
    context.update(
        {
            "rep": rep_obj,
            "day": day,
            "days": days,
            "view": view,
            "plan_id": plan_id,
            "statuses": statuses,
            "replan": replan,
        }
    )
    return templates.TemplateResponse(request, "route.html", context)
