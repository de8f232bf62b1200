"""Public-holiday CSV reader: good file, and every bad row reported with row and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from routeplanner.errors import InputError
from routeplanner.io.holidays import read_holidays
from tests.helpers import SAMPLE_DIR


def test_reads_dates(tmp_path: Path) -> None:
    f = tmp_path / "holidays-test.csv"
    f.write_text("date,name\n2026-04-03,Karfreitag\n2026-04-06,Ostermontag\n\n", encoding="utf-8")
    assert read_holidays(f) == frozenset({date(2026, 4, 3), date(2026, 4, 6)})


def test_reports_every_bad_row(tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text(
        "date,name\n2026-13-01,Nope\n2026-04-03,\n2026-05-01,Tag der Arbeit\n2026-05-01,again\n"
        "2026-06-04\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_holidays(f)
    assert [str(p) for p in err.value.problems] == [
        "bad.csv:2: date: '2026-13-01' is not a date YYYY-MM-DD",
        "bad.csv:3: name: must not be empty",
        "bad.csv:5: date: 2026-05-01 is listed twice",
        "bad.csv:6: expected 2 fields, got 1",
    ]


def test_wrong_header(tmp_path: Path) -> None:
    f = tmp_path / "h.csv"
    f.write_text("day;name\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"h.csv:1: header must be 'date,name', got 'day;name'"):
        read_holidays(f)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothere\.csv: file not found"):
        read_holidays(tmp_path / "nothere.csv")


def test_reads_the_sample_region_file() -> None:
    days = read_holidays(SAMPLE_DIR / "holidays-de-bw.csv")
    # 12 Baden-Württemberg holidays a year, 2026 and 2027; Good Friday 2026 is 3 April.
    assert len(days) == 24
    assert date(2026, 4, 3) in days
    assert date(2026, 12, 25) in days
