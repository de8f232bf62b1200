"""Rep files (CSV or XLSX) to :class:`Rep` objects and back, validating every cell first.

Same all-or-nothing contract as the account reader: one :class:`InputError` lists every problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from routeplanner.io.cells import (
    Collector,
    build_all,
    format_minutes,
    parse_date,
    parse_number,
    read_location,
    split_list,
)
from routeplanner.io.opening_hours import (
    format_opening_hours,
    parse_opening_hours,
    parse_time_range,
)
from routeplanner.io.tables import (
    DEFAULT_LIMITS,
    Row,
    Table,
    TableLimits,
    read_table,
    read_table_bytes,
    render_csv,
    write_csv,
    write_xlsx,
)
from routeplanner.model import WEEKDAYS, LunchBreak, Rep, TimeWindow, WeeklyHours
from routeplanner.units import MINUTE

__all__ = [
    "DEFAULT_WORKING_HOURS",
    "REP_COLUMNS",
    "REQUIRED_REP_COLUMNS",
    "format_days_off",
    "parse_days_off",
    "read_reps",
    "read_reps_bytes",
    "reps_from_table",
    "reps_to_csv",
    "write_reps_csv",
    "write_reps_xlsx",
]

REP_COLUMNS = (
    "id",
    "name",
    "home_address",
    "home_lat",
    "home_lon",
    "working_hours",
    "lunch_window",
    "lunch_minutes",
    "days_off",
    "max_visits_per_day",
    "max_drive_minutes",
    "email",
    "qualifications",
)
REQUIRED_REP_COLUMNS = ("id", "name", "home_lat", "home_lon")
DEFAULT_WORKING_HOURS = "Mo-Fr 08:00-17:00"
DEFAULT_LUNCH_MINUTES = 30
DEFAULT_MAX_VISITS = 12
MAX_DAYS_OFF_RANGE = 366
"""A longer range is almost certainly a mistyped year (2026..2062), not a sabbatical."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def read_reps(
    path: Path, *, source: str | None = None, limits: TableLimits = DEFAULT_LIMITS
) -> list[Rep]:
    """Read and validate a rep file (CSV with ``,`` or ``;``, or XLSX).

    Raises
    ------
    InputError
        Listing every problem (file, row, column, message); nothing is returned then.
    """
    return reps_from_table(read_table(path, source=source, limits=limits))


def read_reps_bytes(data: bytes, *, source: str, limits: TableLimits = DEFAULT_LIMITS) -> list[Rep]:
    """:func:`read_reps` for an upload held in memory."""
    return reps_from_table(read_table_bytes(data, source=source, limits=limits))


def parse_days_off(text: str) -> frozenset[date]:
    """Read ``2026-12-24..2026-12-31; 2027-01-06`` into the set of dates it covers.

    Raises
    ------
    ValueError
        Naming the bad item, e.g. ``date range 2026-12-31..2026-12-24 ends before it starts``.
    """
    days: set[date] = set()
    for item in split_list(text):
        if ".." in item:
            first_text, _, last_text = item.partition("..")
            first, last = parse_date(first_text), parse_date(last_text)
            shown = f"{first_text.strip()}..{last_text.strip()}"
            if last < first:
                msg = f"date range {shown} ends before it starts"
                raise ValueError(msg)
            if (last - first).days >= MAX_DAYS_OFF_RANGE:
                msg = f"date range {shown} is longer than a year"
                raise ValueError(msg)
            days.update(first + timedelta(days=k) for k in range((last - first).days + 1))
        else:
            days.add(parse_date(item))
    return frozenset(days)


def format_days_off(days: Iterable[date]) -> str:
    """Consecutive dates collapse into ``first..last`` ranges, so exports stay readable."""
    ordered = sorted(set(days))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] - ordered[j] == timedelta(days=1):
            j += 1
        parts.append(
            ordered[i].isoformat()
            if i == j
            else f"{ordered[i].isoformat()}..{ordered[j].isoformat()}"
        )
        i = j + 1
    return "; ".join(parts)


def reps_from_table(table: Table) -> list[Rep]:
    """Validate rows already read by :mod:`routeplanner.io.tables` and build the reps."""
    return build_all(table, REP_COLUMNS, REQUIRED_REP_COLUMNS, _rep)


def _rep(col: Collector, row: Row, first_row: dict[str, int]) -> Rep | None:
    before = len(col.problems)
    n = row.number
    rep_id = col.identifier(row, "id", required=True)
    if rep_id:
        if rep_id in first_row:
            col.add(n, "id", f"duplicate id {rep_id!r} (first used in row {first_row[rep_id]})")
        else:
            first_row[rep_id] = n
    name = col.text(row, "name", required=True)
    home = read_location(col, row, "home_lat", "home_lon")

    hours_text = row.get("working_hours") or DEFAULT_WORKING_HOURS
    hours = col.parsed(
        row,
        "working_hours",
        parse_opening_hours,
        describe=lambda v, r: f"working hours {v!r} do not parse: {r}",
    )
    if not row.get("working_hours"):
        hours = parse_opening_hours(DEFAULT_WORKING_HOURS)
    if hours is not None and not hours.open_weekdays():
        col.add(n, "working_hours", f"rep never works (working hours {hours_text!r})")
        hours = None

    lunch = _lunch(col, row)
    if lunch is not None and hours is not None:
        _check_lunch_inside_shift(col, row, lunch, hours)
    days_off = col.parsed(row, "days_off", parse_days_off)
    max_visits = col.whole(row, "max_visits_per_day", minimum=1)
    max_drive = col.number(row, "max_drive_minutes")
    if max_drive is not None and max_drive <= 0:
        col.add(
            n,
            "max_drive_minutes",
            f"must be more than 0 minutes, got {row.get('max_drive_minutes')}",
        )
    email = row.get("email")
    if email and not _EMAIL.match(email):
        col.add(n, "email", f"{email!r} is not an e-mail address")

    if len(col.problems) > before:
        return None
    if not rep_id or not name or home is None or hours is None:
        return None  # pragma: no cover - each of these recorded a problem above
    try:
        return Rep(
            rep_id=rep_id,
            name=name,
            home=home,
            working_hours=hours,
            home_address=row.get("home_address"),
            lunch=lunch,
            days_off=days_off or frozenset(),
            max_visits_per_day=max_visits if max_visits is not None else DEFAULT_MAX_VISITS,
            max_drive_s=round(max_drive * MINUTE) if max_drive is not None else None,
            email=email,
            qualifications=frozenset(split_list(row.get("qualifications"))),
        )
    except ValueError as exc:  # pragma: no cover - every invariant is checked above
        col.add(n, None, str(exc))
        return None


def _lunch(col: Collector, row: Row) -> LunchBreak | None:
    window = col.parsed(
        row,
        "lunch_window",
        parse_time_range,
        describe=lambda v, r: f"lunch window {v!r} does not parse: {r}",
    )
    minutes_text = row.get("lunch_minutes")
    minutes = col.parsed(row, "lunch_minutes", parse_number)
    if minutes is not None and minutes < 0:
        col.add(row.number, "lunch_minutes", f"must not be negative, got {minutes_text}")
        return None
    if minutes_text and not row.get("lunch_window"):
        col.add(row.number, "lunch_minutes", "lunch_minutes needs a lunch_window")
        return None
    if window is None:
        return None
    duration = round((minutes if minutes is not None else DEFAULT_LUNCH_MINUTES) * MINUTE)
    try:
        return LunchBreak(window=window, duration_s=duration)
    except ValueError as exc:
        col.add(row.number, "lunch_minutes", str(exc))
        return None


def _check_lunch_inside_shift(
    col: Collector, row: Row, lunch: LunchBreak, hours: WeeklyHours
) -> None:
    """The break is taken during the shift; a window outside it makes every day infeasible."""
    bad = []
    for day in sorted(hours.open_weekdays()):
        windows = hours.on(day)
        shift = TimeWindow(windows[0].start_s, windows[-1].end_s)
        inside = lunch.window.intersect(shift)
        if inside is None or inside.length_s < lunch.duration_s:
            bad.append(WEEKDAYS[day])
    if bad:
        col.add(
            row.number,
            "lunch_window",
            f"lunch window {lunch.window} leaves no {format_minutes(lunch.duration_s)} min inside "
            f"the working hours on {','.join(bad)}",
        )


def _rep_cells(r: Rep) -> list[str]:
    return [
        r.rep_id,
        r.name,
        r.home_address,
        repr(r.home.lat),
        repr(r.home.lon),
        format_opening_hours(r.working_hours),
        str(r.lunch.window) if r.lunch else "",
        format_minutes(r.lunch.duration_s) if r.lunch else "",
        format_days_off(r.days_off),
        str(r.max_visits_per_day),
        format_minutes(r.max_drive_s) if r.max_drive_s is not None else "",
        r.email,
        ", ".join(sorted(r.qualifications)),
    ]


def reps_to_csv(reps: Iterable[Rep]) -> str:
    """The CSV text :func:`read_reps` reads back into equal reps (for downloads)."""
    return render_csv(REP_COLUMNS, (_rep_cells(r) for r in reps))


def write_reps_csv(reps: Iterable[Rep], path: Path) -> None:
    """Write reps as UTF-8 CSV in the import format, so export then import is lossless."""
    write_csv(path, REP_COLUMNS, (_rep_cells(r) for r in reps))


def write_reps_xlsx(reps: Iterable[Rep], path: Path) -> None:
    """Same content as :func:`write_reps_csv` as a workbook."""
    numeric = ("home_lat", "home_lon", "lunch_minutes", "max_visits_per_day", "max_drive_minutes")
    write_xlsx(path, REP_COLUMNS, (_rep_cells(r) for r in reps), numeric=numeric, sheet="reps")
