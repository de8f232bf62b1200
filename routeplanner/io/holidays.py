"""Public holidays per region from a small CSV file ``date,name`` (ISO dates)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from routeplanner.errors import InputError, Problem

HEADER = ("date", "name")


def read_holidays(path: Path) -> frozenset[date]:
    """Read a holiday list; every bad row is reported (file, spreadsheet row, field) at once.

    Raises
    ------
    InputError
        Missing file, wrong header, unparsable or duplicate dates, empty names.
    """
    source = path.name
    if not path.is_file():
        raise InputError(Problem(source, None, None, "file not found"))
    problems: list[Problem] = []
    days: set[date] = set()
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    if not rows or tuple(c.strip().lower() for c in rows[0]) != HEADER:
        got = ",".join(rows[0]) if rows else ""
        raise InputError(Problem(source, 1, None, f"header must be 'date,name', got {got!r}"))
    for row_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            problems.append(Problem(source, row_no, None, f"expected 2 fields, got {len(row)}"))
            continue
        text, name = row[0].strip(), row[1].strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems.append(Problem(source, row_no, "date", f"{text!r} is not a date YYYY-MM-DD"))
            day = None
        if not name:
            problems.append(Problem(source, row_no, "name", "must not be empty"))
        if day is not None:
            if day in days:
                problems.append(Problem(source, row_no, "date", f"{day} is listed twice"))
            days.add(day)
    if problems:
        raise InputError(problems)
    return frozenset(days)
