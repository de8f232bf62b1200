"""JSON API of the performance page: its figures (``GET /api/v1/performance``), sales figures
(``POST /api/v1/sales``, as the page's upload) and targets (``GET``/``PUT /api/v1/targets``,
as the page's targets form).

Each object of ``rows`` is one row of a sales file: its keys are the file's columns
(``docs/data-formats.md``), its values the cells as text or numbers. The rows go through the
file importer itself, so the API accepts exactly what a file import accepts and names problems
the same way; ``row`` is the 1-based position in the list.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from routeplanner.errors import InputError, Problem
from routeplanner.io.sales import SALES_COLUMNS
from routeplanner.model.performance import TargetScope
from routeplanner.services import performance, sales, targets
from routeplanner.services.attribution import Month
from routeplanner.services.targets import TARGET_COLUMNS, EffectiveTarget
from routeplanner.web.auth import ApiScopeDep, ApiUserDep, ManagerApiDep, api_csrf
from routeplanner.web.compression import pack, packed_response
from routeplanner.web.deps import get_services
from routeplanner.web.routes.api_accounts import Cell, table_of
from routeplanner.web.routes.performance import cached_view
from routeplanner.web.routes.visits import local_today
from routeplanner.web.schemas import API_ERRORS
from routeplanner.web.services import Services

router = APIRouter(prefix="/api/v1", tags=["performance"], responses=API_ERRORS)
ServicesDep = Annotated[Services, Depends(get_services)]
MAX_API_SALES_ROWS = 50_000


class SalesUpload(BaseModel):
    rows: list[dict[str, Cell]] = Field(
        min_length=1,
        max_length=MAX_API_SALES_ROWS,
        description="one object per account, month and product line, keyed by the file "
        "columns: " + ", ".join(SALES_COLUMNS) + " (account_id, month YYYY-MM and revenue "
        "required; x_... keys are ignored)",
    )


class SalesImported(BaseModel):
    rows: int = Field(description="figures stored")
    periods: list[str] = Field(description="months replaced, YYYY-MM")
    replaced: int = Field(description="figures those months held before")


@router.post("/sales", response_model=SalesImported, dependencies=[Depends(api_csrf)])
def import_sales(
    body: SalesUpload, services: ServicesDep, _user: ManagerApiDep, scope: ApiScopeDep
) -> SalesImported:
    """Import monthly sales figures (managers only): every month in ``rows`` replaces what
    was stored for it, other months stay. Every problem comes at once (422), each with
    ``row`` and ``field`` as a file import reports them, an unknown account included; nothing
    is stored on any problem."""
    result = sales.import_sales(services.store, table_of(body.rows), scope)
    return SalesImported(
        rows=result.rows,
        periods=[_month(p) for p in result.periods],
        replaced=result.replaced,
    )


def _month(period: date) -> str:
    return period.strftime("%Y-%m")


class TargetsUpload(BaseModel):
    rows: list[dict[str, Cell]] = Field(
        min_length=1,
        max_length=10_000,
        description="one object per territory or rep and month, keyed by the targets file "
        "columns: " + ", ".join(TARGET_COLUMNS) + " (scope territory|rep, id and month "
        "required; coverage in percent; a figure left out keeps its default)",
    )


class TargetPublic(BaseModel):
    scope: str = Field(description="territory | rep")
    id: str
    name: str
    month: str
    rep_id: str | None = Field(description="the territory's rep (for a rep: the rep)")
    revenue: float
    visits_done: int
    coverage: float = Field(description="share 0..1 of due visits to be done on time")
    new_accounts: int
    defaults: list[str] = Field(description="figures not set, derived from the accounts")

    @classmethod
    def of(cls, t: EffectiveTarget) -> TargetPublic:
        f = t.figures
        return cls(
            scope=t.scope.value,
            id=t.scope_id,
            name=t.name,
            month=str(t.month),
            rep_id=t.rep_id,
            revenue=f.revenue,
            visits_done=f.visits_done,
            coverage=f.coverage,
            new_accounts=f.new_accounts,
            defaults=sorted(f.defaults),
        )


def month_param(services: Services, text: str | None) -> Month:
    """A ``month`` query parameter, this month (in the plans' time zone) when not given; 422
    naming it when it is no YYYY-MM."""
    if not text:
        return Month.of(local_today(services.settings))
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise InputError(Problem("query", None, "month", str(exc))) from None


MonthQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$",
        description="YYYY-MM (default: this month)",
    ),
]


@router.get("/targets", response_model=list[TargetPublic])
def get_targets(
    services: ServicesDep, user: ApiUserDep, month: MonthQuery = None
) -> list[TargetPublic]:
    """Every territory's and rep's targets for a month, set or default (a rep: their own and
    their territory's)."""
    found = targets.effective_targets(
        services.store, month_param(services, month), services.settings.potential, user=user
    )
    return [TargetPublic.of(t) for t in found]


@router.put("/targets", response_model=list[TargetPublic], dependencies=[Depends(api_csrf)])
def put_targets(
    body: TargetsUpload, services: ServicesDep, user: ManagerApiDep, scope: ApiScopeDep
) -> list[TargetPublic]:
    """Set targets (managers only), replacing those stored for the same territory or rep and
    month; answers the stored ones as they now are. Every problem, an unknown territory or
    rep included, is 422 with ``row`` the position in ``rows``; nothing is stored then."""
    saved = targets.save_targets(
        services.store, table_of(body.rows), scope=scope, user=user.username
    )
    months = {Month(t.period) for t in saved}
    wanted = {(t.scope, t.scope_id, t.period) for t in saved}
    answer = []
    for month in sorted(months, key=lambda m: m.first):
        answer += [
            TargetPublic.of(t)
            for t in targets.effective_targets(services.store, month, services.settings.potential)
            if (t.scope, t.scope_id, t.month.first) in wanted
        ]
    return answer


class FiguresPublic(BaseModel):
    accounts: int = Field(description="accounts owned in the middle of the month")
    planned: int = Field(description="reported visits of planned stops")
    done: int
    missed: int
    cancelled: int
    due: float = Field(description="visits the owned accounts' frequencies ask for so far")
    coverage: float | None = Field(description="share of due visits done (0..1)")
    coverage_on_time: float | None = Field(
        description="share of due visits done on time: at most the account's longest "
        "allowed gap after the visit before (0..1)"
    )
    adherence: float | None = Field(description="share of accounts due a visit that got it")
    overdue: int = Field(description="owned accounts past their longest gap at month end")
    drive_share: float | None = Field(description="planned driving / working time (0..1)")
    revenue: float
    revenue_per_visit: float | None
    order_value: float = Field(description="order values reported at done visits")
    new_accounts: int
    by_class: dict[str, list[float]] = Field(description="value class: [revenue, potential]")

    @classmethod
    def of(cls, f: performance.Figures) -> FiguresPublic:
        return cls(
            accounts=f.accounts,
            planned=f.planned,
            done=f.done,
            missed=f.missed,
            cancelled=f.cancelled,
            due=round(f.due, 3),
            coverage=f.coverage,
            coverage_on_time=f.on_time,
            adherence=f.adherence,
            overdue=f.overdue,
            drive_share=f.drive_share,
            revenue=f.revenue,
            revenue_per_visit=f.revenue_per_visit,
            order_value=f.order_value,
            new_accounts=f.new_accounts,
            by_class={c: list(pair) for c, pair in f.by_class.items()},
        )


class FlagPublic(BaseModel):
    kind: str = Field(description="capacity | potential")
    reason: str
    action: str = Field(description="the page to act on it")


class GroupPublic(BaseModel):
    scope: str = Field(description="territory | rep")
    id: str
    name: str
    rep_id: str | None
    current: FiguresPublic
    previous: FiguresPublic
    target: TargetPublic
    revenue_vs_target: float | None
    flag: FlagPublic | None


class WeekPublic(BaseModel):
    start: date
    done: int
    missed: int


class PerformancePublic(BaseModel):
    month: str
    previous_month: str
    groups: list[GroupPublic]
    ranking: list[str] = Field(description="territory ids by revenue against target")
    weeks: list[WeekPublic]


def _group(g: performance.GroupReport, month: Month) -> GroupPublic:
    target = EffectiveTarget(g.scope, g.scope_id, g.name, month, g.target, g.rep_id)
    flag = g.flag
    return GroupPublic(
        scope=g.scope.value,
        id=g.scope_id,
        name=g.name,
        rep_id=g.rep_id,
        current=FiguresPublic.of(g.current),
        previous=FiguresPublic.of(g.previous),
        target=TargetPublic.of(target),
        revenue_vs_target=g.revenue_vs_target,
        flag=None
        if flag is None
        else FlagPublic(kind=flag.kind, reason=flag.reason, action=flag.action),
    )


@router.get("/performance", response_model=PerformancePublic)
def get_performance(
    request: Request,
    services: ServicesDep,
    user: ApiUserDep,
    seen: ApiScopeDep,
    month: MonthQuery = None,
    territory: Annotated[str | None, Query(max_length=255)] = None,
    rep: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    """The figures of the performance page for a month against the month before: every
    territory and rep (a rep: their own), or only ``territory`` or ``rep`` (404 when it is
    not one the caller may see)."""
    chosen = month_param(services, month)
    only = None
    if territory is not None:
        only = (TargetScope.TERRITORY, territory)
    elif rep is not None:
        only = (TargetScope.REP, rep)
    body = cached_view(
        services,
        chosen,
        user,
        seen,
        lambda board: pack(performance_public(board).model_dump_json().encode()),
        kind="api",
        only=only,
    )
    return packed_response(request, body, "application/json")


def performance_public(board: performance.Dashboard) -> PerformancePublic:
    month = board.month
    return PerformancePublic(
        month=str(month),
        previous_month=str(month.previous),
        groups=[_group(g, month) for g in board.groups],
        ranking=[g.scope_id for g in board.ranking],
        weeks=[WeekPublic(start=w.start, done=w.done, missed=w.missed) for w in board.weeks],
    )
