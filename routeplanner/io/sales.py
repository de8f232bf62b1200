"""Sales figure files (CSV or XLSX) as a CRM or ERP exports them: one row per account, month
and (optionally) product line, validated like the account files (every problem as
``file:row: column: message``, nothing returned while any remains). The format is documented
in ``docs/data-formats.md``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from routeplanner.io.cells import Collector, build_all
from routeplanner.io.tables import Row, Table
from routeplanner.model.performance import SalesFigure

__all__ = [
    "MAX_REVENUE",
    "SALES_COLUMNS",
    "NumberedFigure",
    "parse_month",
    "sales_from_table",
]

SALES_COLUMNS = ("account_id", "month", "revenue", "order_count", "product_line")
REQUIRED_SALES_COLUMNS = ("account_id", "month", "revenue")
MAX_REVENUE = 1e12
"""Largest revenue of one account in one month, either sign: more is a pasted id or cents
counted twice."""
MAX_PRODUCT_LINE = 100
FIRST_YEAR, LAST_YEAR = 1900, 2999
"""Months outside are typos (and keep a month's neighbours valid dates)."""
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_GERMAN_MONTH = re.compile(r"^(\d{1,2})[./](\d{4})$")


@dataclass(frozen=True, slots=True)
class NumberedFigure:
    """A figure and the spreadsheet row it came from (for later checks that name the row)."""

    row: int
    figure: SalesFigure


def parse_month(text: str) -> date:
    """A month as ``2026-03``, ``03.2026``/``3/2026`` or any day of it (``2026-03-01``, what a
    spreadsheet makes of a month cell); its first day."""
    norm = text.strip()
    msg = f"bad month {norm!r}; use YYYY-MM"
    try:
        if m := _MONTH.match(norm):
            found = date(int(m.group(1)), int(m.group(2)), 1)
        elif m := _GERMAN_MONTH.match(norm):
            found = date(int(m.group(2)), int(m.group(1)), 1)
        else:
            found = datetime.strptime(norm, "%Y-%m-%d").date().replace(day=1)
    except ValueError:
        raise ValueError(msg) from None
    if not FIRST_YEAR <= found.year <= LAST_YEAR:
        raise ValueError(msg)
    return found


def sales_from_table(table: Table) -> list[NumberedFigure]:
    """Validate rows already read by :mod:`routeplanner.io.tables` and build the figures.

    Raises
    ------
    InputError
        Every problem of every row; nothing is returned then.
    """
    return build_all(table, SALES_COLUMNS, REQUIRED_SALES_COLUMNS, _figure)


def _figure(col: Collector, row: Row, first_row: dict[str, int]) -> NumberedFigure | None:
    before = len(col.problems)
    n = row.number
    account_id = col.text(row, "account_id", required=True)
    month = col.parsed(row, "month", parse_month, required=True)
    revenue = col.number(row, "revenue", required=True)
    if revenue is not None and abs(revenue) > MAX_REVENUE:
        col.add(n, "revenue", f"{row.get('revenue')} is beyond ±{MAX_REVENUE:.0e}")
    orders = col.whole(row, "order_count", minimum=0)
    line = row.get("product_line")
    if len(line) > MAX_PRODUCT_LINE:
        col.add(n, "product_line", f"at most {MAX_PRODUCT_LINE} characters")
    if account_id and month is not None:
        key = f"{account_id}\t{month}\t{line}"
        if key in first_row:
            col.add(
                n,
                "account_id",
                f"{account_id!r} has a second row for {month:%Y-%m}"
                + (f" and product line {line!r}" if line else "")
                + f" (first in row {first_row[key]})",
            )
        else:
            first_row[key] = n
    if len(col.problems) > before or not account_id or month is None or revenue is None:
        return None
    return NumberedFigure(
        n,
        SalesFigure(
            account_id=account_id,
            period=month,
            revenue=revenue,
            order_count=orders,
            product_line=line,
        ),
    )
