"""Sales figure use cases: import a CRM or ERP export of monthly revenue per account, and read
the figures back.

An import replaces every month it contains (importing the same file twice changes nothing;
a corrected export of a month replaces that month) and leaves the other months alone. Every
problem of the file, an account that does not exist included, comes at once with its row;
nothing is stored while any remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from routeplanner.errors import InputError, Problem
from routeplanner.io.sales import NumberedFigure, sales_from_table
from routeplanner.io.tables import Table, read_table, read_table_bytes
from routeplanner.model.performance import month_text
from routeplanner.services.scope import Scope
from routeplanner.storage import Store

MAX_SALES_ROWS = 500_000
"""Most rows one import takes (24 months of 10,000 accounts in two product lines fit)."""


@dataclass(frozen=True, slots=True)
class SalesImport:
    """What an import stored: rows, the months it replaced, and how many rows those months
    held before."""

    rows: int
    periods: tuple[date, ...]
    replaced: int

    def describe(self) -> str:
        months = ", ".join(month_text(p) for p in self.periods)
        return f"{self.rows} sales rows for {months} (replacing {self.replaced})"


def import_sales_file(store: Store, path: Path, scope: Scope) -> SalesImport:
    """Import a sales file (CSV with ``,`` or ``;``, or XLSX); see :func:`import_sales`."""
    return import_sales(store, read_table(path), scope)


def import_sales_bytes(store: Store, data: bytes, *, source: str, scope: Scope) -> SalesImport:
    """Import an upload held in memory; see :func:`import_sales`."""
    return import_sales(store, read_table_bytes(data, source=source), scope)


def import_sales(store: Store, table: Table, scope: Scope) -> SalesImport:
    """Validate every row, check every account exists, then replace the months the table
    holds, in one transaction. Only an admin imports: a month is replaced for every account.

    Raises
    ------
    PermissionDeniedError
        A manager scoped to regions.
    InputError
        Every problem (``file:row: column: message``), unknown accounts included; nothing
        stored.
    """
    scope.require_everything("import sales figures")
    if len(table.rows) > MAX_SALES_ROWS:
        msg = f"{len(table.rows)} rows; at most {MAX_SALES_ROWS} per import"
        raise InputError(Problem(table.source, None, None, msg))
    numbered = sales_from_table(table)
    with store.transaction(f"import of sales from {table.source}") as tx:
        known = {a.account_id for a in tx.accounts.all()}
        unknown = _unknown_accounts(table.source, numbered, known)
        if unknown:
            raise InputError(unknown)
        figures = [n.figure for n in numbered]
        replaced = tx.sales.replace_periods(figures, source=table.source)
    periods = tuple(sorted({f.period for f in figures}))
    return SalesImport(len(figures), periods, replaced)


def _unknown_accounts(
    source: str, numbered: list[NumberedFigure], known: set[str]
) -> list[Problem]:
    return [
        Problem(source, n.row, "account_id", f"unknown account {n.figure.account_id!r}")
        for n in numbered
        if n.figure.account_id not in known
    ]


@dataclass(frozen=True, slots=True)
class MonthTotal:
    """One stored month: its revenue over every account and line, and how many rows."""

    period: date
    revenue: float
    rows: int


def stored_months(store: Store, scope: Scope) -> list[MonthTotal]:
    """Every month with stored figures, newest first, with its total over every account (so
    none for a manager scoped to regions)."""
    if not scope.is_everything:
        return []
    return [MonthTotal(p, revenue, rows) for p, revenue, rows in store.sales.month_totals()]
