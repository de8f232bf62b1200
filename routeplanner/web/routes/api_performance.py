"""JSON API for sales figures (``POST /api/v1/sales``), as the performance page's upload does.

Each object of ``rows`` is one row of a sales file: its keys are the file's columns
(``docs/data-formats.md``), its values the cells as text or numbers. The rows go through the
file importer itself, so the API accepts exactly what a file import accepts and names problems
the same way; ``row`` is the 1-based position in the list.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from routeplanner.io.sales import SALES_COLUMNS
from routeplanner.services import sales
from routeplanner.web.auth import ManagerApiDep, api_csrf
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
