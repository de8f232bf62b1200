"""``/performance``: how each territory and rep is doing, and the manager's inputs to it — the
monthly sales upload and the targets form.

The page only parses, calls :mod:`routeplanner.services.sales` and renders; the command line
(``routeplanner sales import``) and ``POST /api/v1/sales`` call the same use cases.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import InputError, Problem
from routeplanner.services import performance, sales, targets
from routeplanner.services.attribution import Month
from routeplanner.services.scope import Scope
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import CsrfDep, ManagerDep, ScopeDep, UserDep
from routeplanner.web.charts import weekly_chart
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.routes.visits import local_today
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
ServicesDep = Annotated[Services, Depends(get_services)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]


def this_month(services: Services) -> Month:
    return Month.of(local_today(services.settings))


def chosen_month(services: Services, text: str) -> Month:
    """The ``month`` asked for (``YYYY-MM``), this month when empty.

    Raises
    ------
    InputError
        Not a month.
    """
    if not text.strip():
        return this_month(services)
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise InputError(Problem("query", None, "month", str(exc))) from None


def _render(
    request: Request,
    services: Services,
    templates: Jinja2Templates,
    user: UserRecord,
    seen: Scope,
    *,
    month: Month | None = None,
    status: int = 200,
    problems: list[Problem] | None = None,
    message: str = "",
    form: dict[str, str] | None = None,
) -> Response:
    manager = user.is_manager
    month = month or this_month(services)
    store = services.store
    board = performance.dashboard(
        store,
        month,
        today=local_today(services.settings),
        potential=services.settings.potential,
        user=user,
    )
    context: dict[str, Any] = {
        "manager": manager,
        "month": month,
        "board": board,
        "chart": weekly_chart(board.weeks),
        "sales_months": sales.stored_months(store, seen) if manager else [],
        "targets": targets.effective_targets(store, month, services.settings.potential, user=user),
        "territories": seen.territories_of(store.territories.all()) if manager else [],
        "reps": seen.reps_of(store.reps.all()) if manager else [],
        "form": form or {},
        "problems": problems or [],
        "message": message,
    }
    return templates.TemplateResponse(request, "performance.html", context, status_code=status)


@router.get("/performance", response_class=HTMLResponse)
def performance_page(
    request: Request,
    user: UserDep,
    seen: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    month: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """The dashboard for a month; managers also get the sales upload and the targets form."""
    return _render(request, services, templates, user, seen, month=chosen_month(services, month))


@router.post("/performance/sales", response_class=HTMLResponse, dependencies=[CsrfDep])
async def upload_sales(
    request: Request,
    user: ManagerDep,
    seen: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import a sales file as ``routeplanner sales import`` does; every problem is listed and
    nothing is stored while any remains."""
    data = await file.read()
    source = file.filename or "upload"
    try:
        result = sales.import_sales_bytes(services.store, data, source=source, scope=seen)
    except InputError as exc:
        return _render(request, services, templates, user, seen, status=422, problems=exc.problems)
    message = f"Imported {source}: {result.describe()}."
    return _render(request, services, templates, user, seen, message=message)


@router.post("/performance/targets", response_class=HTMLResponse, dependencies=[CsrfDep])
def set_target(
    request: Request,
    user: ManagerDep,
    seen: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    target: Annotated[str, Form(max_length=300)] = "",
    month: Annotated[str, Form(max_length=10)] = "",
    revenue: Annotated[str, Form(max_length=40)] = "",
    visits_done: Annotated[str, Form(max_length=40)] = "",
    coverage: Annotated[str, Form(max_length=40)] = "",
    new_accounts: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Set one territory's or rep's targets (``target`` = ``territory:T1`` or ``rep:R1``); a
    figure left empty keeps its default."""
    scope, _, scope_id = target.partition(":")
    form = {
        "scope": scope,
        "id": scope_id,
        "month": month,
        "revenue": revenue,
        "visits_done": visits_done,
        "coverage": coverage,
        "new_accounts": new_accounts,
    }
    shown = chosen_month(services, month) if _is_month(month) else None
    try:
        targets.save_targets(
            services.store,
            targets.one_target_table(form, source="form"),
            scope=seen,
            user=user.username,
        )
    except InputError as exc:
        return _render(
            request,
            services,
            templates,
            user,
            seen,
            month=shown,
            status=422,
            problems=exc.problems,
            form={**form, "target": target},
        )
    message = f"Saved the targets of {scope} {scope_id} for {month}."
    return _render(request, services, templates, user, seen, month=shown, message=message)


def _is_month(text: str) -> bool:
    try:
        Month.parse(text)
    except ValueError:
        return False
    return True


@router.post("/performance/targets/upload", response_class=HTMLResponse, dependencies=[CsrfDep])
async def upload_targets(
    request: Request,
    user: ManagerDep,
    seen: ScopeDep,
    services: ServicesDep,
    templates: TemplatesDep,
    file: Annotated[UploadFile, File()],
) -> Response:
    """Import a targets file as ``routeplanner targets import`` does."""
    data = await file.read()
    source = file.filename or "upload"
    try:
        saved = targets.save_targets_bytes(
            services.store, data, source=source, scope=seen, user=user.username
        )
    except InputError as exc:
        return _render(request, services, templates, user, seen, status=422, problems=exc.problems)
    message = f"Imported {source}: {len(saved)} targets."
    return _render(request, services, templates, user, seen, message=message)
