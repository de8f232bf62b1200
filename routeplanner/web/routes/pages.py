"""Server-rendered pages (Jinja2): small, mobile-first, usable without JavaScript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from routeplanner.errors import RoadNetworkError
from routeplanner.model import Account, DayRoute, Plan, Rep
from routeplanner.services.field import day_progress
from routeplanner.services.repair import FINISHED, reportable, stop_reasons
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.web.auth import ScopeDep, UserDep, allowed_rep, existing_csrf_token
from routeplanner.web.compression import pack, packed_response
from routeplanner.web.dayview import (
    ReplanView,
    build_day_view,
    changed_view,
    last_repair_view,
    replan_view,
    status_label,
)
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.navigation import Platform, platform_of
from routeplanner.web.routes.visits import local_today
from routeplanner.web.schemas import DbIdQuery
from routeplanner.web.services import Services
from routeplanner.web.state import app_state

router = APIRouter()
QUICK_OUTCOMES = 4
"""Outcomes offered as one-tap "Done" buttons (the first ones of ``RP_VISIT_OUTCOMES``)."""


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(
    request: Request,
    user: UserDep,
    scope: ScopeDep,
    services: Annotated[Services, Depends(get_services)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
) -> Response:
    """Reps and accounts with their snap status: the first check after an import."""
    if user.role is UserRole.REP:
        return RedirectResponse("/route", status_code=303)
    accounts = scope.accounts_of(services.store.accounts.all())
    reps = scope.reps_of(services.store.reps.all())
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
    scope: ScopeDep,
    services: Annotated[Services, Depends(get_services)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
    rep: Annotated[str | None, Query(max_length=200)] = None,
    day: date | None = None,
    job: DbIdQuery = None,
    changed: DbIdQuery = None,
    saved: Annotated[str | None, Query(max_length=200)] = None,
    undone: Annotated[str | None, Query(max_length=200)] = None,
    report: DbIdQuery = None,
) -> Response:
    """One rep's day from the current plan: stops in order with ETAs, a map and navigation links.

    The finished page is cached (:meth:`Services.cached_answer`) under everything it shows
    besides the stored data: the user (name and role in the header), the session's CSRF token
    (in the forms), the rep, the day, today's date (default day, reasons, which days take
    reports), the phone's platform (navigation links), the base URL (the stylesheet link) and
    the account stamp of the rep's accounts (their data and reported visits). Pages after a
    report or re-plan (``saved``, ``undone``, ``job``, ``changed``) are never cached."""
    rep = allowed_rep(user, rep, scope)
    page = DayRequest(
        rep=rep,
        day=day,
        job=job,
        changed=changed,
        saved=saved,
        undone=undone,
        report=report,
        today=local_today(services.settings),
        platform=platform_of(request.headers.get("user-agent", "")),
    )

    def render() -> HTMLResponse:
        return _route_page(request, user, services, templates, page)

    csrf = existing_csrf_token(request)
    if page.one_off() or csrf is None or not services.settings.day_cache_size:
        return await run_in_threadpool(render)
    data = services.fresh_snapshot()
    if data is None:
        data = await run_in_threadpool(services.snapshot)
    # the visits it shows: the rep's own accounts (any day: the default day is chosen later)
    shown = services.accounts_shown(data.current, rep)
    key = (
        "day page",
        (user.user_id, user.username, user.role, user.rep_id),
        csrf,
        page,
        str(request.base_url),
        services.account_stamp(shown),
    )
    body = await services.cached_answer_async(key, lambda: pack(bytes(render().body)))
    response = packed_response(request, body, "text/html; charset=utf-8")
    response.headers["Vary"] = "Accept-Encoding, User-Agent"
    return response


@dataclass(frozen=True, slots=True)
class DayRequest:
    """What a day page was asked for, besides the stored data."""

    rep: str | None
    day: date | None
    job: int | None
    changed: int | None
    saved: str | None
    undone: str | None
    report: int | None
    today: date
    platform: Platform

    def one_off(self) -> bool:
        """A page shown once, after a report or a re-plan: not worth caching."""
        shown = (self.job, self.changed, self.saved, self.undone, self.report)
        return any(v is not None for v in shown)


def _route_page(
    request: Request,
    user: UserRecord,
    services: Services,
    templates: Jinja2Templates,
    page: DayRequest,
) -> HTMLResponse:
    data = services.snapshot()
    reps = data.reps
    if page.rep is not None and user.role is UserRole.REP:
        reps = [r for r in reps if r.rep_id == page.rep]
    current = data.current
    context: dict[str, object] = {"reps": reps, "rep": None, "day": page.day, "view": None}
    if not reps or current is None:
        return templates.TemplateResponse(request, "route.html", context)
    plan_id, plan = current
    rep_obj = next((r for r in reps if r.rep_id == page.rep), reps[0])
    days = sorted({r.day for r in plan.routes if r.rep_id == rep_obj.rep_id and r.stops})
    day = page.day
    if day is None and days:
        day = next((d for d in days if d >= page.today), days[-1])
    route = next((r for r in plan.routes if r.rep_id == rep_obj.rep_id and r.day == day), None)
    context.update(
        {
            "rep": rep_obj,
            "day": day,
            "days": days,
            "plan_id": plan_id,
            "platform": page.platform,
            "report": page.report,
        }
    )
    if route is not None:
        context.update(_day_context(services, plan, route, rep_obj, data.accounts, page))
    context["replan"] = _replan(request, services, page, rep_obj, data.accounts)
    return templates.TemplateResponse(request, "route.html", context)


def _day_context(
    services: Services,
    plan: Plan,
    route: DayRoute,
    rep: Rep,
    accounts: dict[str, Account],
    page: DayRequest,
) -> dict[str, object]:
    """The stops, their reports, progress and confirmations of one day."""
    settings = services.settings
    tz = ZoneInfo(settings.timezone)
    reasons, reported = stop_reasons(services.store, plan, route, accounts, today=page.today)
    finished = {v for v, r in reported.items() if r.status in FINISHED}
    view = build_day_view(route, rep, accounts, services, reasons=reasons, finished=finished)
    by_visit = {s.visit_id: s for s in view.stops}
    outcomes = [o.strip() for o in settings.visit_outcomes.split(",") if o.strip()][:30]
    return {
        "view": view,
        "statuses": {v: (r.status.value, status_label(r, tz)) for v, r in reported.items()},
        "reported": reported,
        "times": {
            v: r.actual_start.astimezone(tz).strftime("%H:%M")
            for v, r in reported.items()
            if r.actual_start
        },
        "progress": day_progress(route, reported),
        "reportable": reportable(route.day, page.today, settings.visit_grace_days),
        "outcomes": outcomes,
        "quick_outcomes": outcomes[:QUICK_OUTCOMES],
        "saved": by_visit.get(page.saved or ""),
        "undone": by_visit.get(page.undone or ""),
    }


def _replan(
    request: Request,
    services: Services,
    page: DayRequest,
    rep: Rep,
    accounts: dict[str, Account],
) -> ReplanView | None:
    if page.job is not None:
        found = app_state(request.app).repair_jobs.get(page.job)
        if found is not None and found.rep_id == rep.rep_id:
            return replan_view(found, rep.rep_id, accounts)
        return None
    if page.changed is not None:
        return changed_view(services.store, page.changed, rep, accounts)
    return last_repair_view(services.store, rep, accounts)
