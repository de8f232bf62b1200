"""Sales import on SQLite and PostgreSQL: a month is replaced whole, other months stay, an
unknown account or any bad row stores nothing, and re-importing the same file changes
nothing."""

from __future__ import annotations

from datetime import date

import pytest

from routeplanner.errors import InputError
from routeplanner.io.tables import read_table_bytes
from routeplanner.services import sales
from routeplanner.services.scope import Scope
from routeplanner.storage import Store

from .conftest import make_accounts

HEADER = "account_id,month,revenue,order_count,product_line\n"


def _import(store: Store, text: str) -> sales.SalesImport:
    table = read_table_bytes(text.encode("utf-8"), source="umsatz.csv")
    return sales.import_sales(store, table, Scope.everything())


def _stored(store: Store) -> list[tuple[str, str, float, str]]:
    return [
        (f.account_id, f.period.strftime("%Y-%m"), f.revenue, f.product_line)
        for f in store.sales.find()
    ]


def test_a_month_is_replaced_whole_and_others_stay(store: Store) -> None:
    store.accounts.upsert(make_accounts(), source="test")
    first = _import(store, HEADER + "A1,2026-02,100,2,\nA1,2026-03,50,,Tee\nA2,2026-03,70,,\n")
    assert (first.rows, first.replaced) == (3, 0)
    assert first.periods == (date(2026, 2, 1), date(2026, 3, 1))
    again = _import(store, HEADER + "A1,2026-02,100,2,\nA1,2026-03,50,,Tee\nA2,2026-03,70,,\n")
    assert (again.rows, again.replaced) == (3, 3)
    assert _stored(store) == [
        ("A1", "2026-02", 100.0, ""),
        ("A1", "2026-03", 50.0, "Tee"),
        ("A2", "2026-03", 70.0, ""),
    ]
    corrected = _import(store, HEADER + "A3,2026-03,12.5,,\n")
    assert (corrected.rows, corrected.replaced) == (1, 2)
    assert _stored(store) == [("A1", "2026-02", 100.0, ""), ("A3", "2026-03", 12.5, "")]
    assert store.sales.find(start=date(2026, 3, 1), account_ids=["A1"]) == []
    assert sales.stored_months(store, Scope.everything()) == [
        sales.MonthTotal(date(2026, 3, 1), 12.5, 1),
        sales.MonthTotal(date(2026, 2, 1), 100.0, 1),
    ]


def test_unknown_accounts_and_bad_rows_store_nothing(store: Store) -> None:
    store.accounts.upsert(make_accounts(), source="test")
    _import(store, HEADER + "A1,2026-03,10,,\n")
    with pytest.raises(InputError) as exc:
        _import(store, HEADER + "A1,2026-03,99,,\nA9,2026-03,1,,\nB7,2026-04,1,,\n")
    assert [str(p) for p in exc.value.problems] == [
        "umsatz.csv:3: account_id: unknown account 'A9'",
        "umsatz.csv:4: account_id: unknown account 'B7'",
    ]
    with pytest.raises(InputError, match=r"umsatz\.csv:3: revenue: 'x' is not a number"):
        _import(store, HEADER + "A1,2026-03,99,,\nA2,2026-03,x,,\n")
    assert _stored(store) == [("A1", "2026-03", 10.0, "")]
