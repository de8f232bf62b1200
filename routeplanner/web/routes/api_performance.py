"""JSON API for sales figures (``POST /api/v1/sales``), as the performance page's upload does,
and targets (``GET``/``PUT /api/v1/targets``), as the page's targets form does.

Each object of ``rows`` is one row of a sales file: its keys are the file's columns
(``docs/data-formats.md``), its values the cells as text or numbers. The rows go through the
file importer itself, so the API accepts exactly what a file import accepts and names problems
the same way; ``row`` is the 1-based position in the list.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from routeplanner.errors import InputError, Problem
from routeplanner.io.sales import SALES_COLUMNS
from routeplanner.services import sales, targets
from routeplanner.services.attribution import Month
from routeplanner.services.targets import TARGET_COLUMNS, EffectiveTarget
from routeplanner.web.auth import ApiUserDep, ManagerApiDep, api_csrf
from routeplanner.web.deps import get_services
from routeplanner.web.routes.api_accounts import Cell, table_of
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
def import_sales(body: SalesUpload, services: ServicesDep, _user: ManagerApiDep) -> SalesImported:
    """Import monthly sales figures (managers only): every month in ``rows`` replaces what
    was stored for it, other months stay. Every problem comes at once (422), each with
    ``row`` and ``field`` as a file import reports them, an unknown account included; nothing
    is stored on any problem."""
    result = sales.import_sales(services.store, table_of(body.rows))
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


def month_param(text: str) -> Month:
    """A ``month`` query parameter (422 naming it when it is no YYYY-MM)."""
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise InputError(Problem("query", None, "month", str(exc))) from None


MonthQuery = Annotated[str, Query(pattern=r"^\d{4}-\d{1,2}$", description="YYYY-MM")]


@router.get("/targets", response_model=list[TargetPublic])
def get_targets(month: MonthQuery, services: ServicesDep, user: ApiUserDep) -> list[TargetPublic]:
    """Every territory's and rep's targets for a month, set or default (a rep: their own and
    their territory's)."""
    found = targets.effective_targets(
        services.store, month_param(month), services.settings.potential, user=user
    )
    return [TargetPublic.of(t) for t in found]


@router.put("/targets", response_model=list[TargetPublic], dependencies=[Depends(api_csrf)])
def put_targets(
    body: TargetsUpload, services: ServicesDep, user: ManagerApiDep
) -> list[TargetPublic]:
    """Set targets (managers only), replacing those stored for the same territory or rep and
    month; answers the stored ones as they now are. Every problem, an unknown territory or
    rep included, is 422 with ``row`` the position in ``rows``; nothing is stored then."""
    saved = targets.save_targets(services.store, table_of(body.rows), user=user.username)
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
