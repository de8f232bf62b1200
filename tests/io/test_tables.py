"""The table layer: delimiters, header quirks and spreadsheet row numbers for CSV and XLSX."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import Row, read_table, read_table_bytes


def test_delimiters_are_detected_from_the_header() -> None:
    for sep in (",", ";", "\t"):
        data = f"id{sep}name\n1{sep}Bäckerei Müller\n".encode()
        table = read_table_bytes(data, source="t.csv")
        assert table.columns == ("id", "name")
        assert table.rows == (Row(2, {"id": "1", "name": "Bäckerei Müller"}),)


def test_quoted_delimiters_do_not_fool_the_sniffer() -> None:
    data = b'"id;x","name"\n1,"Hauptstrasse 1; Hof"\n'
    assert read_table_bytes(data, source="t.csv").columns == ("id;x", "name")


def test_blank_lines_keep_spreadsheet_row_numbers() -> None:
    data = b"\n\nid,name\n\n1,a\n,\n2,b\n"
    table = read_table_bytes(data, source="t.csv")
    assert table.header_row == 3
    assert [r.number for r in table.rows] == [5, 7]


def test_multiline_cell_is_one_row() -> None:
    data = b'id,notes\n1,"line one\nline two"\n2,x\n'
    table = read_table_bytes(data, source="t.csv")
    assert [r.number for r in table.rows] == [2, 3]
    assert table.rows[0].cells["notes"] == "line one\nline two"


def test_duplicate_and_nameless_columns() -> None:
    data = b"id,name,ID,\n1,a,2,\n3,b,4,oops\n"
    with pytest.raises(InputError) as info:
        read_table_bytes(data, source="t.csv")
    assert info.value.problems == [
        Problem("t.csv", 1, None, "column 'id' appears twice (columns 1 and 3)"),
        Problem("t.csv", 3, None, "column 4 has a value but no name in the header"),
    ]


def test_xlsx_cells_become_the_text_a_user_typed(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B3"] = "id"
    sheet["C3"] = "when"
    sheet["D3"] = "at"
    sheet["E3"] = "n"
    sheet["B5"] = 7
    sheet["C5"] = datetime(2026, 11, 2)
    sheet["D5"] = time(8, 30)
    sheet["E5"] = 2.5
    path = tmp_path / "t.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.header_row == 3
    assert table.columns == ("id", "when", "at", "n")
    assert table.rows == (
        Row(5, {"id": "7", "when": date(2026, 11, 2).isoformat(), "at": "08:30", "n": "2.5"}),
    )
