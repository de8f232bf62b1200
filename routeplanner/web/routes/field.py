"""Account pages for the field: a rep's own accounts (search, nearby) and one account's card
(contact, visit history with notes and outcomes, upcoming visits, navigate, an ad-hoc visit),
for reps and managers alike; managers also see who owned the account when.

The use cases are :mod:`routeplanner.services.field`; this module parses and renders.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path as FilePath
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.io.opening_hours import format_opening_hours
from routeplanner.services import field, performance_export
from routeplanner.services.assignment import account_ownership, ownership_reason
from routeplanner.services.field import AccountSearch
from routeplanner.units import format_hhmm
from routeplanner.web.auth import ScopeDep, UserDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.navigation import platform_of, to_place
from routeplanner.web.routes.performance import download
from routeplanner.web.routes.visits import local_today
from routeplanner.web.services import Services

router = APIRouter()
SERVICE_WORKER = FilePath(__file__).resolve().parent.parent / "static" / "sw.js"
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
Text = Annotated[str, Query(max_length=200)]


@router.get("/route/sw.js", include_in_schema=False)
def service_worker() -> Response:
    """The rep's offline worker, served under ``/route`` so it may control the day pages (and
    nothing a manager uses elsewhere); never cached by the browser's HTTP cache, so an update
    reaches the phone at once."""
    headers = {"Service-Worker-Allowed": "/route", "Cache-Control": "no-cache"}
    return FileResponse(SERVICE_WORKER, media_type="text/javascript", headers=headers)


@router.get("/route/accounts", response_class=HTMLResponse, include_in_schema=False)
def rep_accounts_page(
    request: Request,
    user: UserDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    rep: Text = "",
    q: Text = "",
    lat: Text = "",
    lon: Text = "",
) -> Response:
    """A rep's accounts: search by name, id, address or contact; "near me" sorts by distance
    from the position the phone sends (``lat``/``lon``; 422 when out of range)."""
    search = AccountSearch.from_text({"rep": rep, "q": q, "lat": lat, "lon": lon}, source="query")
    listed = field.rep_accounts(services.store, user, search)
    reps = scope.reps_of(services.store.reps.all()) if user.is_manager else []
    context = {
        "listed": listed,
        "search": search,
        "reps": reps,
        "rep_id": search.rep or user.rep_id or "",
    }
    return templates.TemplateResponse(request, "rep_accounts.html", context)


@router.get("/accounts/{account_id}/export", include_in_schema=False)
def account_export(
    account_id: Annotated[str, Path(max_length=200)],
    user: UserDep,
    services: ServicesDep,
    table: Annotated[str, Query(max_length=40)],
    format: Annotated[str, Query(max_length=10)] = "csv",
) -> Response:
    """The account card's ``visits`` (reports with outcomes) or ``revenue`` (per month) as
    CSV or XLSX; a rep only for their own accounts, as the card."""
    performance_export.check_export(table, format, performance_export.ACCOUNT_TABLES)
    today = local_today(services.settings)
    card = field.account_card(services.store, account_id, user, today=today)
    sheet = performance_export.account_sheet(card, table)
    name = f"account-{_file_safe(account_id)}-{table}"
    return download(performance_export.render_sheet(sheet, format), name, format)


def _file_safe(text: str) -> str:
    """An id as a piece of a download's file name (no quotes, slashes or control characters)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:60]


@router.get("/accounts/{account_id}", response_class=HTMLResponse, include_in_schema=False)
def account_page(
    request: Request,
    account_id: Annotated[str, Path(max_length=200)],
    user: UserDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
) -> Response:
    """One account: contact, navigate, upcoming visits, visit history with notes and outcomes,
    an ad-hoc visit; for managers also its owner now and why, and the ownership history."""
    today = local_today(services.settings)
    card = field.account_card(services.store, account_id, user, today=today)
    reps = services.store.reps.all()
    account = card.account
    context: dict[str, object] = {
        "card": card,
        "account": account,
        "nav": to_place(account.location, account.name),
        "platform": platform_of(request.headers.get("user-agent", "")),
        "hours_text": format_opening_hours,
        "hhmm": format_hhmm,
        "tz": ZoneInfo(services.settings.timezone),
        "first_ad_hoc_day": today + timedelta(days=1),
        "rep_names": {r.rep_id: r.name for r in (scope.reps_of(reps) if user.is_manager else reps)},
        "manager": user.is_manager,
    }
    if user.is_manager:
        found = account_ownership(services.store, account_id, scope)
        context.update(
            {
                "owner": found.owner,
                "reason": ownership_reason(found.current) if found.owner is not None else "",
                "current": found.current,
                "history": [(r, ownership_reason(r)) for r in reversed(found.history)],
            }
        )
    return templates.TemplateResponse(request, "account.html", context)
