"""``/regions`` and ``/api/v1/regions``: which territories form which region.

The same use cases (:mod:`routeplanner.services.regions`) as ``routeplanner regions ...``. An
admin imports the grouping (a CSV or XLSX upload, or the rows as JSON), which replaces it
whole and is checked first: every problem is listed as ``file:row: column: message`` and
nothing is stored while any remains. A manager lists and exports only their own regions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from routeplanner.errors import InputError, Problem
from routeplanner.io.regions import REGION_COLUMNS
from routeplanner.io.tables import limits_from, read_table_bytes
from routeplanner.services import regions as region_service
from routeplanner.services.scope import Scope
from routeplanner.web.auth import (
    ADMIN_THEN_CSRF,
    ApiScopeDep,
    CsrfDep,
    ManagerApiDep,
    ManagerDep,
    ScopeDep,
)
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.routes.api_accounts import Cell, table_of
from routeplanner.web.schemas import API_ERRORS
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/regions", tags=["regions"], responses=API_ERRORS)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
MAX_ROWS = 10_000


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    scope: Scope,
    *,
    status: int = 200,
    problems: list[Problem] | None = None,
    message: str = "",
) -> Response:
    context = {
        "rows": region_service.list_regions(services.store, scope),
        "may_import": scope.is_everything,
        "problems": problems or [],
        "message": message,
        "columns": REGION_COLUMNS,
    }
    return templates.TemplateResponse(request, "regions.html", context, status_code=status)


@router.get("/regions", response_class=HTMLResponse)
def regions_page(
    request: Request,
    _user: ManagerDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    saved: str = "",
) -> Response:
    """The regions the user sees, with territories and managers; an admin's import form."""
    return _render(request, services, templates, scope, message=saved[:200])


@router.post("/regions/import", response_class=HTMLResponse, dependencies=[CsrfDep])
def import_regions(
    request: Request,
    _user: ManagerDep,
    scope: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Replace the grouping with the uploaded file (admins only: 403 for a scoped manager);
    422 with every problem, nothing stored."""
    scope.require_everything("import regions")
    source = file.filename or "upload"
    try:
        table = read_table_bytes(
            file.file.read(), source=source, limits=limits_from(services.settings)
        )
        saved = region_service.import_regions(services.store, table, scope)
    except InputError as exc:
        return _render(request, services, templates, scope, status=422, problems=exc.problems)
    message = f"{len(saved)} regions imported"
    return RedirectResponse(f"/regions?saved={message.replace(' ', '+')}", status_code=303)


def _csv(services: Services, scope: Scope) -> Response:
    return Response(
        region_service.export_regions(services.store, scope).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="regions.csv"'},
    )


@router.get("/regions/export.csv")
def export_regions(_user: ManagerDep, scope: ScopeDep, services: ServicesDep) -> Response:
    """The regions the user sees, as the import reads them."""
    return _csv(services, scope)


# -- API -------------------------------------------------------------------------------------


class RegionPublic(BaseModel):
    region_id: str
    name: str
    territory_ids: list[str]
    managers: list[str] = Field(description="user names of the managers scoped to it")


class RegionsBody(BaseModel):
    rows: list[dict[str, Cell]] = Field(
        max_length=MAX_ROWS,
        description="one object per territory, keyed by the import columns: "
        + ", ".join(REGION_COLUMNS)
        + " (territory_id and region_id required); the rows replace every region",
    )


def _listed(services: Services, scope: Scope) -> list[RegionPublic]:
    return [
        RegionPublic(
            region_id=row.region.region_id,
            name=row.region.name,
            territory_ids=list(row.region.territory_ids),
            managers=list(row.managers),
        )
        for row in region_service.list_regions(services.store, scope)
    ]


@api_router.get("", response_model=list[RegionPublic])
def api_list(services: ServicesDep, _user: ManagerApiDep, scope: ApiScopeDep) -> list[RegionPublic]:
    """The regions the caller sees (a scoped manager: their own), with territories and
    managers."""
    return _listed(services, scope)


@api_router.get("/export.csv", response_class=Response)
def api_export(services: ServicesDep, _user: ManagerApiDep, scope: ApiScopeDep) -> Response:
    """The regions the caller sees as CSV (``territory_id,region_id,region_name``)."""
    return _csv(services, scope)


@api_router.put(
    "",
    response_model=list[RegionPublic],
    dependencies=ADMIN_THEN_CSRF,
    responses={422: {"description": "every problem: errors[{row, field, message}]"}},
)
def api_replace(body: RegionsBody, services: ServicesDep, scope: ApiScopeDep) -> list[RegionPublic]:
    """Replace every region with the rows (admins only), checked as a file import is: every
    problem at once (``row``: 1-based position in the list), nothing stored on any."""
    region_service.import_regions(services.store, table_of(body.rows), scope)
    return _listed(services, scope)
