"""Sales files: every bad cell with its exact ``file:row: column: message``, months in the
forms exports write them, XLSX with native numbers and dates."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from routeplanner.errors import InputError
from routeplanner.io.sales import parse_month, sales_from_table
from routeplanner.io.tables import read_table, read_table_bytes
from routeplanner.model.performance import SalesFigure

HEADER = "account_id,month,revenue,order_count,product_line\n"


def _read(text: str) -> list[SalesFigure]:
    table = read_table_bytes(text.encode("utf-8"), source="umsatz.csv")
    return [n.figure for n in sales_from_table(table)]


def _problems(text: str) -> list[str]:
    with pytest.raises(InputError) as exc:
        _read(text)
    return [str(p) for p in exc.value.problems]


def test_good_rows_in_every_month_form() -> None:
    text = HEADER + "A1,2026-03,1200.5,3,Kaffee\nA1,03.2026,80,,Tee\nA2,2026-04-17,-25,,\n"
    assert _read(text) == [
        SalesFigure(
            account_id="A1",
            period=date(2026, 3, 1),
            revenue=1200.5,
            order_count=3,
            product_line="Kaffee",
        ),
        SalesFigure(account_id="A1", period=date(2026, 3, 1), revenue=80, product_line="Tee"),
        SalesFigure(account_id="A2", period=date(2026, 4, 1), revenue=-25),
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",2026-03,10,,", "umsatz.csv:3: account_id: missing value"),
        ("A2,,10,,", "umsatz.csv:3: month: missing value"),
        ("A2,März,10,,", "umsatz.csv:3: month: bad month 'März'; use YYYY-MM"),
        ("A2,2026-13,10,,", "umsatz.csv:3: month: bad month '2026-13'; use YYYY-MM"),
        ("A2,0001-01,10,,", "umsatz.csv:3: month: bad month '0001-01'; use YYYY-MM"),
        ("A2,2026-03,,,", "umsatz.csv:3: revenue: missing value"),
        ("A2,2026-03,viel,,", "umsatz.csv:3: revenue: 'viel' is not a number"),
        ("A2,2026-03,2e12,,", "umsatz.csv:3: revenue: 2e12 is beyond ±1e+12"),
        ("A2,2026-03,10,-1,", "umsatz.csv:3: order_count: must be at least 0, got -1"),
        ("A2,2026-03,10,1.5,", "umsatz.csv:3: order_count: '1.5' is not a whole number"),
        ("A2,2026-03,10,," + "x" * 101, "umsatz.csv:3: product_line: at most 100 characters"),
        (
            "A1,2026-03-09,10,,",
            "umsatz.csv:3: account_id: 'A1' has a second row for 2026-03 (first in row 2)",
        ),
    ],
)
def test_each_bad_cell_is_named(row: str, message: str) -> None:
    assert _problems(HEADER + "A1,2026-03,5,,\n" + row + "\n") == [message]


def test_every_problem_at_once_and_bad_headers() -> None:
    text = "account_id,monat,revenue,umsatz_x\nA1,2026-03,x,1\n"
    assert _problems(text) == [
        "umsatz.csv: month: required column is missing",
        "umsatz.csv:1: monat: unknown column (did you mean 'month'?); rename it or prefix it "
        "with 'x_' to ignore it",
        "umsatz.csv:1: umsatz_x: unknown column; rename it or prefix it with 'x_' to ignore it",
        "umsatz.csv:2: revenue: 'x' is not a number",
    ]
    assert _problems(HEADER) == ["umsatz.csv: file has a header but no data rows"]


def test_months_as_spreadsheets_write_them() -> None:
    assert parse_month(" 2026-3 ") == date(2026, 3, 1)
    assert parse_month("3/2026") == date(2026, 3, 1)
    assert parse_month("2026-03-31") == date(2026, 3, 1)
    with pytest.raises(ValueError, match="use YYYY-MM"):
        parse_month("2026")


def test_xlsx_with_native_numbers_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "umsatz.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Account ID", "Month", "Revenue", "Order Count"])
    sheet.append(["0042", datetime(2026, 5, 1), 1999.99, 4])
    book.save(path)
    (numbered,) = sales_from_table(read_table(path))
    assert numbered.row == 2
    assert numbered.figure == SalesFigure(
        account_id="0042", period=date(2026, 5, 1), revenue=1999.99, order_count=4
    )
