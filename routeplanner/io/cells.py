"""Cell readers that record a :class:`Problem` instead of raising, so one pass finds every error.

Each reader returns ``None`` when the cell is unusable (and records why); callers build a domain
object only from rows without problems. Messages are fixed sentences that tests assert verbatim
and ``docs/data-formats.md`` quotes.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from typing import TypeVar

from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import Row, Table
from routeplanner.model import GeoPoint
from routeplanner.model.ids import id_problem
from routeplanner.units import MINUTE

T = TypeVar("T")

IGNORED_PREFIX = "x_"
"""Columns starting with this are kept in the file but ignored, e.g. a CRM's own ids."""

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class Collector:
    """Problems of one file, in the order found (rows ascending, columns left to right)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.problems: list[Problem] = []
        self.absent: set[str] = set()

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.problems.append(Problem(self.table.source, row, column, message))

    def raise_if_any(self) -> None:
        """Raise one error with every problem, sorted by row, then column position in the file.

        Cross-column checks run after the single-cell ones; sorting puts each message under the
        column it names, so the report reads like the spreadsheet.
        """
        if not self.problems:
            return
        position = {c: i for i, c in enumerate(self.table.columns)}

        def key(p: Problem) -> tuple[int, int]:
            return (p.row or 0, position.get(p.field or "", -1))

        raise InputError(sorted(self.problems, key=key))

    def check_columns(self, required: Collection[str], optional: Collection[str]) -> None:
        """Report missing required columns and unknown ones.

        Unknown columns are errors, not warnings: a misspelt optional column (``preferd_days``)
        would otherwise be dropped silently and the plan would ignore the user's wishes. Columns
        prefixed ``x_`` are the documented way to keep extra data in the file.
        """
        present = set(self.table.columns)
        for col in required:
            if col not in present:
                self.absent.add(col)
                self.add(None, col, "required column is missing")
        known = [*required, *optional]
        for col in self.table.columns:
            if col in known or col.startswith(IGNORED_PREFIX) or not col:
                continue
            close = difflib.get_close_matches(col, known, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.add(
                self.table.header_row,
                col,
                f"unknown column{hint}; rename it or prefix it with "
                f"'{IGNORED_PREFIX}' to ignore it",
            )
        for col in optional:
            if col not in present:
                self.absent.add(col)

    def text(self, row: Row, column: str, *, required: bool = False) -> str | None:
        value = row.get(column)
        if not value and required and column not in self.absent:
            self.add(row.number, column, "missing value")
            return None
        return value

    def identifier(self, row: Row, column: str, *, required: bool = False) -> str | None:
        """An id cell (see :mod:`routeplanner.model.ids`); an unsafe one is a problem."""
        value = self.text(row, column, required=required)
        if value and (unsafe := id_problem(value)) is not None:
            self.add(row.number, column, unsafe)
            return None
        return value

    def parsed(
        self,
        row: Row,
        column: str,
        parse: Callable[[str], T],
        *,
        required: bool = False,
        describe: Callable[[str, str], str] | None = None,
    ) -> T | None:
        """Run ``parse`` on a non-empty cell; a ``ValueError`` becomes a problem.

        ``describe(value, reason)`` turns the parser's reason into the message, so the user sees
        both what was in the cell and why it is wrong.
        """
        value = self.text(row, column, required=required)
        if not value:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.add(row.number, column, describe(value, str(exc)) if describe else str(exc))
            return None

    def number(self, row: Row, column: str, *, required: bool = False) -> float | None:
        return self.parsed(row, column, parse_number, required=required)

    def whole(self, row: Row, column: str, *, minimum: int, required: bool = False) -> int | None:
        value = self.parsed(row, column, parse_whole, required=required)
        if value is not None and value < minimum:
            self.add(row.number, column, f"must be at least {minimum}, got {value}")
            return None
        return value


def parse_number(text: str) -> float:
    """A decimal number; a decimal comma is accepted when there is no dot (German exports)."""
    norm = text.strip()
    if "," in norm and "." not in norm and norm.count(",") == 1:
        norm = norm.replace(",", ".")
    if not _NUMBER.match(norm):
        msg = f"{text!r} is not a number"
        raise ValueError(msg)
    value = float(norm)
    if not math.isfinite(value):  # pragma: no cover - the pattern admits only finite numbers
        msg = f"{text!r} is not a number"
        raise ValueError(msg)
    return value


def parse_whole(text: str) -> int:
    """A whole number; ``3.0`` (what spreadsheets store) counts as whole."""
    value = parse_number(text)
    if not value.is_integer():
        msg = f"{text!r} is not a whole number"
        raise ValueError(msg)
    return int(value)


def parse_date(text: str) -> date:
    """ISO ``2026-03-02`` or German ``02.03.2026``; anything else is refused, never guessed."""
    norm = text.strip()
    try:
        if m := _GERMAN_DATE.match(norm):
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        return datetime.strptime(norm, "%Y-%m-%d").date()
    except ValueError:
        msg = f"bad date {text.strip()!r}; use YYYY-MM-DD"
        raise ValueError(msg) from None


def split_list(text: str) -> list[str]:
    """Items of a list cell; ``;`` and ``,`` both separate, so any CSV dialect can quote it."""
    return [item.strip() for item in re.split(r"[;,]", text) if item.strip()]


def format_minutes(seconds: int) -> str:
    """Minutes as written in files and messages: ``90``, or ``7.5`` for odd seconds."""
    return str(seconds // MINUTE) if seconds % MINUTE == 0 else f"{seconds / MINUTE:g}"


def read_location(col: Collector, row: Row, lat_col: str, lon_col: str) -> GeoPoint | None:
    """Coordinates with range checks; shared with the rep reader (home_lat/home_lon)."""
    lat = col.number(row, lat_col, required=True)
    lon = col.number(row, lon_col, required=True)
    ok = True
    if lat is not None and not -90.0 <= lat <= 90.0:
        col.add(row.number, lat_col, f"latitude {lat:g} is outside -90..90")
        ok = False
    if lon is not None and not -180.0 <= lon <= 180.0:
        col.add(row.number, lon_col, f"longitude {lon:g} is outside -180..180")
        ok = False
    if lat is None or lon is None or not ok:
        return None
    if lat == 0.0 and lon == 0.0:
        # 0,0 is in the Gulf of Guinea: it is what a failed geocoder writes, never a customer
        col.add(row.number, lat_col, "latitude and longitude are both 0 (address not geocoded?)")
        return None
    return GeoPoint(lat, lon)


def build_all(
    table: Table,
    columns: Sequence[str],
    required: Collection[str],
    build_row: Callable[[Collector, Row, dict[str, int]], T | None],
) -> list[T]:
    """Check the header, build one object per row, and raise once with every problem found.

    ``build_row`` records its problems on the collector; a row that added any problem is left
    out even if it returned an object, so nothing half-valid reaches the caller. The shared
    ``first_row`` map lets ``build_row`` name the row where a duplicate id was first used.
    """
    col = Collector(table)
    col.check_columns(required, [c for c in columns if c not in required])
    if not table.rows:
        col.add(None, None, "file has a header but no data rows")
    first_row: dict[str, int] = {}
    built: list[T] = []
    for row in table.rows:
        before = len(col.problems)
        item = build_row(col, row, first_row)
        if item is not None and len(col.problems) == before:
            built.append(item)
    col.raise_if_any()
    return built
