"""``/performance``: how each territory and rep is doing, and the manager's inputs to it — the
monthly sales upload and the targets form.

The page only parses, calls :mod:`routeplanner.services.sales` and renders; the command line
(``routeplanner sales import``) and ``POST /api/v1/sales`` call the same use cases.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import InputError, Problem
from routeplanner.services import sales
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.web.auth import CsrfDep, ManagerDep, UserDep
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    user: UserRecord,
    *,
    status: int = 200,
    problems: list[Problem] | None = None,
    message: str = "",
) -> Response:
    manager = user.role is UserRole.MANAGER
    context: dict[str, Any] = {
        "manager": manager,
        "sales_months": sales.stored_months(services.store) if manager else [],
        "problems": problems or [],
        "message": message,
    }
    return templates.TemplateResponse(request, "performance.html", context, status_code=status)


@router.get("/performance", response_class=HTMLResponse)
def performance_page(
    request: Request, user: UserDep, services: ServicesDep, templates: TemplatesDep
) -> Response:
    """The dashboard; managers also get the sales upload and the targets form."""
    return _render(request, services, templates, user)


@router.post("/performance/sales", response_class=HTMLResponse, dependencies=[CsrfDep])
async def upload_sales(
    request: Request,
    user: ManagerDep,
    services: ServicesDep,
    templates: TemplatesDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import a sales file as ``routeplanner sales import`` does; every problem is listed and
    nothing is stored while any remains."""
    data = await file.read()
    source = file.filename or "upload"
    try:
        result = sales.import_sales_bytes(services.store, data, source=source)
    except InputError as exc:
        return _render(request, services, templates, user, status=422, problems=exc.problems)
    message = f"Imported {source}: {result.describe()}."
    return _render(request, services, templates, user, message=message)
