"""Hostile spreadsheets: sizes are bounded and the declared ``<dimension>`` is never trusted.

openpyxl's read-only mode pads every row to the width a sheet *declares*; a tiny workbook that
declares ``A1:XFD2000`` must not cost more memory than the cells it really holds. Every refusal
is an :class:`InputError` naming the file (and the row where there is one), never a crash.
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable

import openpyxl
import pytest

from routeplanner.errors import InputError
from routeplanner.io.tables import TableLimits, read_table_bytes


def _workbook(rows: int, *, extra: dict[str, str] | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name"])
    for i in range(rows):
        sheet.append([f"A{i}", f"Account {i}"])
    for ref, value in (extra or {}).items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewrite(data: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """The same workbook with one zip member's XML changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == member:
                body = change(body)
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _declare(data: bytes, ref: str) -> bytes:
    return _rewrite(
        data,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), xml),
    )


def test_a_declared_dimension_costs_no_memory() -> None:
    """2,000 two-cell rows declaring 16,384 columns: openpyxl would pad to 32 million cells."""
    data = _declare(_workbook(2000), "A1:XFD2001")
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        table = read_table_bytes(data, source="tiny.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(table.rows) == 2000
    assert table.columns == ("id", "name")
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"


def test_a_value_beyond_the_column_limit_is_an_error_naming_the_row() -> None:
    data = _workbook(3, extra={"XFD3": "far away"})
    with pytest.raises(InputError) as info:
        read_table_bytes(data, source="wide.xlsx", limits=TableLimits(max_columns=50))
    (problem,) = info.value.problems
    assert problem.source == "wide.xlsx"
    assert problem.row == 3
    assert "16384" in problem.message
    assert "50 columns" in problem.message


def test_too_many_rows_are_refused_in_both_formats() -> None:
    limits = TableLimits(max_rows=100)
    csv_data = ("id,name\n" + "".join(f"A{i},x\n" for i in range(101))).encode()
    for data, name in ((_workbook(101), "many.xlsx"), (csv_data, "many.csv")):
        with pytest.raises(InputError) as info:
            read_table_bytes(data, source=name, limits=limits)
        (problem,) = info.value.problems
        assert problem.source == name
        assert "more than 100 rows" in problem.message
    # exactly at the limit is fine (the header is not a data row)
    assert len(read_table_bytes(_workbook(99), source="ok.xlsx", limits=limits).rows) == 99


def test_too_many_csv_columns_are_refused() -> None:
    header = ",".join(f"c{i}" for i in range(30))
    data = f"{header}\n{'x,' * 29}x\n".encode()
    with pytest.raises(InputError) as info:
        read_table_bytes(data, source="wide.csv", limits=TableLimits(max_columns=20))
    assert "more than 20 columns" in info.value.problems[0].message


def test_a_zip_bomb_is_refused_by_its_uncompressed_size() -> None:
    """30 MB of XML compressed to a few tens of KB, read with a 10 MB limit."""
    data = _rewrite(_workbook(1), "docProps/app.xml", lambda xml: xml + b" " * 30_000_000)
    assert len(data) < 200_000
    limits = TableLimits(max_uncompressed_bytes=10_000_000)
    with pytest.raises(InputError) as info:
        read_table_bytes(data, source="bomb.xlsx", limits=limits)
    (problem,) = info.value.problems
    assert problem.source == "bomb.xlsx"
    assert "uncompressed" in problem.message


def test_a_huge_csv_field_is_an_input_error_not_a_crash() -> None:
    """Python's csv module refuses fields over 128 KB with csv.Error; that is bad input."""
    data = b"id,name\nA1," + b"x" * 300_000 + b"\n"
    with pytest.raises(InputError) as info:
        read_table_bytes(data, source="long.csv")
    (problem,) = info.value.problems
    assert problem.source == "long.csv"
    assert problem.row == 2
    assert "long" in problem.message


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    data = ("id,name\n" + "A,b\n" * 1000).encode()
    with pytest.raises(InputError) as info:
        read_table_bytes(data, source="big.csv", limits=TableLimits(max_bytes=1000))
    assert "larger than" in info.value.problems[0].message
