"""Account files (CSV or XLSX) to :class:`Account` objects and back, validating every cell first.

Import is all or nothing: every problem of every row is collected into one :class:`InputError`
and no account is returned while any remains, so a half-imported list never reaches a plan.
The column format is documented in ``docs/data-formats.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from routeplanner.io.cells import (
    Collector,
    build_all,
    format_minutes,
    parse_date,
    read_location,
    split_list,
)
from routeplanner.io.opening_hours import format_opening_hours, parse_opening_hours, parse_weekdays
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
from routeplanner.model import WEEKDAYS, Account, VisitRule, WeeklyHours
from routeplanner.units import MINUTE

__all__ = [
    "ACCOUNT_COLUMNS",
    "REQUIRED_ACCOUNT_COLUMNS",
    "accounts_from_table",
    "accounts_to_csv",
    "read_accounts",
    "read_accounts_bytes",
    "write_accounts_csv",
    "write_accounts_xlsx",
]

ACCOUNT_COLUMNS = (
    "id",
    "name",
    "address",
    "lat",
    "lon",
    "category",
    "value_class",
    "frequency",
    "min_gap_days",
    "max_gap_days",
    "visit_minutes",
    "opening_hours",
    "preferred_days",
    "forbidden_days",
    "last_visit",
    "contact",
    "phone",
    "notes",
    "tags",
    "postcode",
    "locked_rep",
    "requires",
)
REQUIRED_ACCOUNT_COLUMNS = ("id", "name", "lat", "lon", "frequency")
VALUE_CLASSES = ("A", "B", "C")
DEFAULT_VISIT_MINUTES = 30
MAX_VISIT_MINUTES = 12 * 60
"""A visit longer than a working day is a typo (hours typed as minutes, or seconds)."""


def read_accounts(
    path: Path, *, source: str | None = None, limits: TableLimits = DEFAULT_LIMITS
) -> list[Account]:
    """Read and validate an account file (CSV with ``,`` or ``;``, or XLSX).

    Raises
    ------
    InputError
        Listing every problem (file, row, column, message); nothing is returned then.
    """
    return accounts_from_table(read_table(path, source=source, limits=limits))


def read_accounts_bytes(
    data: bytes, *, source: str, limits: TableLimits = DEFAULT_LIMITS
) -> list[Account]:
    """:func:`read_accounts` for an upload held in memory."""
    return accounts_from_table(read_table_bytes(data, source=source, limits=limits))


def _days_text(days: Iterable[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(days))


def _frequency_message(value: str, reason: str) -> str:
    return reason if reason.startswith("unknown frequency") else f"frequency {value!r}: {reason}"


def accounts_from_table(table: Table) -> list[Account]:
    """Validate rows already read by :mod:`routeplanner.io.tables` and build the accounts."""
    return build_all(table, ACCOUNT_COLUMNS, REQUIRED_ACCOUNT_COLUMNS, _account)


def _account(col: Collector, row: Row, first_row: dict[str, int]) -> Account | None:
    """One row; records problems and returns ``None`` when any cell is unusable."""
    before = len(col.problems)
    n = row.number
    account_id = col.identifier(row, "id", required=True)
    if account_id:
        if account_id in first_row:
            col.add(
                n, "id", f"duplicate id {account_id!r} (first used in row {first_row[account_id]})"
            )
        else:
            first_row[account_id] = n
    name = col.text(row, "name", required=True)
    location = read_location(col, row, "lat", "lon")

    value_class = (col.text(row, "value_class") or "B").upper()
    if value_class not in VALUE_CLASSES:
        col.add(n, "value_class", f"unknown value class {row.get('value_class')!r}; use A, B or C")

    min_gap = col.whole(row, "min_gap_days", minimum=1)
    max_gap = col.whole(row, "max_gap_days", minimum=1)
    rule = col.parsed(row, "frequency", VisitRule.parse, required=True, describe=_frequency_message)
    if rule is not None and (min_gap is not None or max_gap is not None):
        try:
            rule = VisitRule.parse(
                row.get("frequency"),
                min_gap_days=min_gap if min_gap is not None else rule.min_gap_days,
                max_gap_days=max_gap if max_gap is not None else rule.max_gap_days,
            )
        except ValueError as exc:
            col.add(n, "max_gap_days" if max_gap is not None else "min_gap_days", str(exc))
            rule = None

    duration_s = _visit_seconds(col, row)
    hours = col.parsed(
        row,
        "opening_hours",
        parse_opening_hours,
        describe=lambda v, r: f"opening hours {v!r} do not parse: {r}",
    )
    if not row.get("opening_hours"):
        hours = WeeklyHours.always()
    preferred = col.parsed(
        row, "preferred_days", parse_weekdays, describe=lambda v, r: f"bad weekday list {v!r}: {r}"
    )
    forbidden = col.parsed(
        row, "forbidden_days", parse_weekdays, describe=lambda v, r: f"bad weekday list {v!r}: {r}"
    )
    if preferred and forbidden and preferred & forbidden:
        col.add(
            n,
            "forbidden_days",
            f"preferred and forbidden at once: {_days_text(preferred & forbidden)}",
        )
    if hours is not None:
        _check_open_long_enough(col, row, hours, duration_s, forbidden or frozenset())

    last_visit = col.parsed(row, "last_visit", parse_date)
    locked_rep = col.identifier(row, "locked_rep")

    if len(col.problems) > before:
        return None
    if not account_id or not name or location is None or rule is None or hours is None:
        return None  # pragma: no cover - each of these recorded a problem above
    if duration_s is None:
        return None  # pragma: no cover - recorded above
    try:
        return Account(
            account_id=account_id,
            name=name,
            location=location,
            visit_rule=rule,
            visit_duration_s=duration_s,
            opening_hours=hours,
            address=row.get("address"),
            category=row.get("category"),
            value_class=value_class,
            preferred_weekdays=preferred or frozenset(),
            forbidden_weekdays=forbidden or frozenset(),
            last_visit=last_visit,
            notes=row.get("notes"),
            contact=row.get("contact"),
            phone=row.get("phone"),
            tags=frozenset(split_list(row.get("tags"))),
            postcode=row.get("postcode"),
            locked_rep_id=locked_rep or None,
            required_qualifications=frozenset(split_list(row.get("requires"))),
        )
    except ValueError as exc:  # pragma: no cover - every invariant is checked above
        col.add(n, None, str(exc))
        return None


def _visit_seconds(col: Collector, row: Row) -> int | None:
    text = row.get("visit_minutes")
    if not text:
        return DEFAULT_VISIT_MINUTES * MINUTE
    minutes = col.number(row, "visit_minutes")
    if minutes is None:
        return None
    if minutes <= 0:
        col.add(row.number, "visit_minutes", f"must be more than 0 minutes, got {text}")
        return None
    if minutes > MAX_VISIT_MINUTES:
        col.add(row.number, "visit_minutes", f"visit of {minutes:g} min is longer than 12 hours")
        return None
    return round(minutes * MINUTE)


def _check_open_long_enough(
    col: Collector,
    row: Row,
    hours: WeeklyHours,
    duration_s: int | None,
    forbidden: frozenset[int],
) -> None:
    """The visit must fit one opening window on some allowed weekday, or it can never happen."""
    if not hours.open_weekdays():
        col.add(
            row.number,
            "opening_hours",
            f"account is never open (opening hours {row.get('opening_hours')!r})",
        )
        return
    if duration_s is None:
        return
    longest = max(hours.longest_s(d) for d in range(7))
    if longest < duration_s:
        col.add(
            row.number,
            "visit_minutes",
            f"visit of {format_minutes(duration_s)} min is longer than every opening window "
            f"(longest {format_minutes(longest)} min)",
        )
        return
    fitting = {d for d in range(7) if hours.longest_s(d) >= duration_s}
    if fitting <= forbidden:
        col.add(
            row.number,
            "forbidden_days",
            f"no weekday left for a visit: open long enough only on {_days_text(fitting)}, "
            "all forbidden",
        )


def _account_cells(a: Account) -> list[str]:
    default = VisitRule.parse(str(a.visit_rule))
    gaps_default = (a.visit_rule.min_gap_days, a.visit_rule.max_gap_days) == (
        default.min_gap_days,
        default.max_gap_days,
    )
    return [
        a.account_id,
        a.name,
        a.address,
        repr(a.location.lat),
        repr(a.location.lon),
        a.category,
        a.value_class,
        str(a.visit_rule),
        "" if gaps_default else str(a.visit_rule.min_gap_days),
        "" if gaps_default else str(a.visit_rule.max_gap_days),
        format_minutes(a.visit_duration_s),
        format_opening_hours(a.opening_hours),
        _days_text(a.preferred_weekdays),
        _days_text(a.forbidden_weekdays),
        a.last_visit.isoformat() if a.last_visit else "",
        a.contact,
        a.phone,
        a.notes,
        ", ".join(sorted(a.tags)),
        a.postcode,
        a.locked_rep_id or "",
        ", ".join(sorted(a.required_qualifications)),
    ]


def accounts_to_csv(accounts: Iterable[Account]) -> str:
    """The CSV text :func:`read_accounts` reads back into equal accounts (for downloads)."""
    return render_csv(ACCOUNT_COLUMNS, (_account_cells(a) for a in accounts))


def write_accounts_csv(accounts: Iterable[Account], path: Path) -> None:
    """Write accounts as UTF-8 CSV in the import format, so export then import is lossless."""
    write_csv(path, ACCOUNT_COLUMNS, (_account_cells(a) for a in accounts))


def write_accounts_xlsx(accounts: Iterable[Account], path: Path) -> None:
    """Same content as :func:`write_accounts_csv` as a workbook, for people who live in Excel."""
    numeric = ("lat", "lon", "min_gap_days", "max_gap_days", "visit_minutes")
    write_xlsx(
        path,
        ACCOUNT_COLUMNS,
        (_account_cells(a) for a in accounts),
        numeric=numeric,
        sheet="accounts",
    )
