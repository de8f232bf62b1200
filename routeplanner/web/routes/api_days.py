"""JSON API of a rep's days (``/api/v1/reps/{rep_id}/days``): what the day page shows, as data.

A rep may ask only for their own rep id (403 otherwise, also for rep ids that do not exist, so
the answer never tells a rep which other reps there are); managers may ask for any rep.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from routeplanner.errors import NotFoundError
from routeplanner.model import Rep
from routeplanner.services.repair import stop_reasons
from routeplanner.services.scope import Scope
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import ApiScopeDep, allowed_rep, require_api_user
from routeplanner.web.compression import pack, packed_response
from routeplanner.web.dayview import build_day_view
from routeplanner.web.deps import get_services
from routeplanner.web.schemas import (
    API_ERRORS,
    DayPublic,
    DaySummaryPublic,
    ReasonPublic,
    StopPublic,
)
from routeplanner.web.services import Services, Snapshot

router = APIRouter(prefix="/api/v1", tags=["days"], responses=API_ERRORS)
ServicesDep = Annotated[Services, Depends(get_services)]
ApiUser = Annotated[UserRecord, Depends(require_api_user)]


def _rep(data: Snapshot, user: UserRecord, scope: Scope, rep_id: str) -> Rep:
    """The rep asked for, if this user may see them: 403 for a rep's foreign id, 404 unknown
    or outside a manager's regions."""
    allowed_rep(user, rep_id, scope)
    rep = next((r for r in data.reps if r.rep_id == rep_id), None)
    if rep is None:
        msg = f"rep {rep_id!r} not found"
        raise NotFoundError(msg)
    return rep


@router.get(
    "/reps/{rep_id}/days",
    response_model=list[DaySummaryPublic],
)
def list_days(
    rep_id: str, services: ServicesDep, user: ApiUser, scope: ApiScopeDep
) -> list[DaySummaryPublic]:
    """Days with visits for this rep in the current plan (empty before the first plan)."""
    data = services.snapshot()
    rep = _rep(data, user, scope, rep_id)
    current = data.current
    if current is None:
        return []
    routes = sorted((r for r in current[1].routes_of(rep.rep_id) if r.stops), key=lambda r: r.day)
    return [DaySummaryPublic(day=r.day, visits=len(r.stops)) for r in routes]


@router.get(
    "/reps/{rep_id}/days/{day}",
    response_model=DayPublic,
)
async def get_day(
    request: Request,
    rep_id: str,
    day: date,
    services: ServicesDep,
    user: ApiUser,
    scope: ApiScopeDep,
) -> Response:
    """The rep's stops on ``day`` in order, with ETAs, navigation links, reported outcomes and
    the reason for each visit (due, overdue by N days, follow-up of a missed visit).

    ``async`` so that a cached answer costs no worker-thread hop; anything that loads runs
    on a worker thread."""
    data = services.fresh_snapshot()
    if data is None:
        data = await run_in_threadpool(services.snapshot)
    rep = _rep(data, user, scope, rep_id)  # access is checked on every request, cached or not
    today = datetime.now(tz=ZoneInfo(services.settings.timezone)).date()

    def fresh(data: Snapshot) -> Snapshot:
        return services.snapshot() if services.settings.day_cache_size else data

    shown = services.accounts_shown(data.current, rep.rep_id, day)
    body = await services.cached_answer_async(
        ("api day", rep.rep_id, day, today, services.account_stamp(shown)),
        # With the cache off nothing is stored under a version: reuse ``data``.
        lambda: pack(
            _day(fresh(data), rep.rep_id, day, services, today).model_dump_json().encode()
        ),
    )
    return packed_response(request, body, "application/json")


def _day(data: Snapshot, rep_id: str, day: date, services: Services, today: date) -> DayPublic:
    """The answer of :func:`get_day`; the same for every user allowed to ask, so cached per
    rep, day and today's date (the reasons count days from today). ``data`` is read inside
    the cache's version, so an answer is never stored under a newer version than its data."""
    rep = next((r for r in data.reps if r.rep_id == rep_id), None)
    if rep is None:
        msg = f"rep {rep_id!r} not found"
        raise NotFoundError(msg)
    current = data.current
    if current is None:
        msg = "no current plan"
        raise NotFoundError(msg)
    plan_id, plan = current
    route = next((r for r in plan.routes_of(rep.rep_id) if r.day == day), None)
    if route is None or not route.stops:
        return DayPublic(
            rep_id=rep.rep_id,
            day=day,
            plan_id=plan_id,
            leave=None,
            back=None,
            drive_min=0,
            distance_km=0.0,
            lunch="",
            stops=[],
        )
    reasons, reported = stop_reasons(services.store, plan, route, data.accounts, today=today)
    view = build_day_view(route, rep, data.accounts, services, reasons=reasons, with_map=False)
    statuses = {v: r.status.value for v, r in reported.items()}
    return DayPublic(
        rep_id=rep.rep_id,
        day=day,
        plan_id=plan_id,
        leave=view.leave,
        back=view.back,
        drive_min=view.drive_min,
        distance_km=view.distance_km,
        lunch=view.lunch,
        stops=[
            StopPublic(
                number=s.number,
                visit_id=s.visit_id,
                account_id=s.account.account_id,
                name=s.account.name,
                address=s.account.address,
                lat=s.account.location.lat,
                lon=s.account.location.lon,
                contact=s.account.contact,
                phone=s.account.phone,
                notes=s.account.notes,
                arrival=s.arrival,
                start=s.start,
                departure=s.departure,
                wait_min=s.wait_min,
                visit_min=s.visit_min,
                travel_min=s.travel_min,
                distance_km=s.distance_km,
                opening_hours=s.window,
                status=statuses.get(s.visit_id),
                reason=None if s.reason is None else ReasonPublic.of(s.reason),
                navigation={
                    "geo": s.geo_link,
                    "osm": s.osm_link,
                    "google": s.google_link,
                    "apple": s.apple_link,
                },
                violations=list(s.violations),
            )
            for s in view.stops
        ],
    )
