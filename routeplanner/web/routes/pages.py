"""Server-rendered pages (Jinja2): small, mobile-first, usable without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from routeplanner.errors import RoadNetworkError
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.services import Services

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    templates: Annotated[Jinja2Templates, Depends(get_templates)],
) -> HTMLResponse:
    """Reps and accounts with their snap status: the first check after an import."""
    accounts, reps = services.repo.list_accounts(), services.repo.list_reps()
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
