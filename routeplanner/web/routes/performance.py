"""``/performance``: how each territory and rep is doing, and the manager's inputs to it — the
monthly sales upload and the targets form.

The page only parses, calls :mod:`routeplanner.services.sales` and renders; the command line
(``routeplanner sales import``) and ``POST /api/v1/sales`` call the same use cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from routeplanner.errors import InputError, Problem
from routeplanner.services import performance, performance_export, sales, targets
from routeplanner.services.attribution import Month
from routeplanner.services.scope import Scope
from routeplanner.storage.records import UserRecord
from routeplanner.web.auth import CsrfDep, ManagerDep, ScopeDep, UserDep
from routeplanner.web.charts import territory_charts, weekly_chart
from routeplanner.web.deps import get_services, get_templates
from routeplanner.web.routes.visits import local_today
from routeplanner.web.services import Services

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
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


def cached_view(
    services: Services,
    month: Month,
    user: UserRecord,
    seen: Scope,
    view: Callable[[performance.Dashboard], T],
    *,
    kind: str,
    only: performance.GroupKey | None = None,
) -> T:
    """``view`` of :func:`performance.dashboard` (``kind`` names it: the JSON answer, the
    drawn tables), from the answer cache: an entry holds until a visit is recorded or
    withdrawn, or the accounts, reps, plan, sales, targets or territories change (or the day
    turns, which moves what counts as due). ``seen``, the user's scope, is part of the key:
    managers of different regions never share an answer."""
    today = local_today(services.settings)
    store = services.store

    def board() -> performance.Dashboard:
        return performance.dashboard(
            store, month, today=today, potential=services.settings.potential, user=user, only=only
        )

    if not services.settings.day_cache_size:
        return view(board())
    services.data_version()  # first: it catches up the visit stamps read below
    key = (
        "performance",
        month,
        today,
        user.role,
        user.rep_id,
        seen,
        only,
        services.account_stamp(),
        store.performance_version(),
    )
    # the figures once for every view of them (the page's tables, the JSON answer)
    return services.cached_answer((*key, kind), lambda: view(services.cached_answer(key, board)))


@dataclass(frozen=True, slots=True)
class DrawnBoard:
    """The dashboard and its tables and charts drawn once (the page's forms, which carry the
    session's CSRF token, are drawn per request)."""

    board: performance.Dashboard
    html: str
    targets_html: str


def _drawn(templates: Jinja2Templates, board: performance.Dashboard) -> DrawnBoard:
    template = templates.env.get_template("performance_board.html")
    names = {g.scope_id: g.name for g in board.territories}
    html = template.render(
        board=board,
        month=board.month,
        chart=weekly_chart(board.weeks),
        territory_charts=territory_charts(board.territory_weeks, names),
    )
    targets_table = templates.env.get_template("performance_targets.html")
    return DrawnBoard(board, html, targets_table.render(targets=_targets_of(board)))


def _sales_months(services: Services, seen: Scope) -> list[sales.MonthTotal]:
    """The stored months' totals the scope may see, from the answer cache while no sales
    import changes them."""
    if not services.settings.day_cache_size:
        return sales.stored_months(services.store, seen)
    key = ("sales months", seen, services.store.performance_version())
    return services.cached_answer(key, lambda: sales.stored_months(services.store, seen))


def _targets_of(board: performance.Dashboard) -> list[targets.EffectiveTarget]:
    """The targets table: the dashboard's groups already carry them, in the same order."""
    return [
        targets.EffectiveTarget(g.scope, g.scope_id, g.name, board.month, g.target, g.rep_id)
        for g in board.groups
    ]


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
    drawn = cached_view(
        services, month, user, seen, lambda board: _drawn(templates, board), kind="page"
    )
    board = drawn.board
    context: dict[str, Any] = {
        "manager": manager,
        "month": month,
        "board": board,
        "board_html": drawn.html,
        "targets_html": drawn.targets_html,
        "sales_months": _sales_months(services, seen) if manager else [],
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


@router.get("/performance/export")
def export_table(
    services: ServicesDep,
    user: UserDep,
    seen: ScopeDep,
    table: Annotated[str, Query(max_length=40)],
    month: Annotated[str, Query(max_length=10)] = "",
    format: Annotated[str, Query(max_length=10)] = "csv",
) -> Response:
    """One table of the dashboard (``territories``, ``reps``, ``ranking``, ``classes``,
    ``weeks``, ``targets``) as CSV or XLSX, with what the user may see on the page."""
    chosen = chosen_month(services, month)
    performance_export.check_export(table, format, performance_export.DASHBOARD_TABLES)
    data = cached_view(
        services,
        chosen,
        user,
        seen,
        lambda board: performance_export.render_sheet(
            performance_export.dashboard_sheet(board, table), format
        ),
        kind=f"export {table} {format}",
    )
    return download(data, f"performance-{table}-{chosen}", format)


def download(data: bytes, name: str, file_format: str) -> Response:
    """A spreadsheet as a download named ``name`` (made of ids and a month, nothing else)."""
    return Response(
        data,
        media_type=performance_export.MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{file_format}"'},
    )


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
