"""Every table of the performance dashboard, and an account's visit history and revenue, as
a spreadsheet (CSV or XLSX) with the same figures as the page and the JSON API.

Numbers are written exactly (``repr`` of the float, shares 0..1 and due visits to three
places as in the API, empty where the API has ``null``), so a spreadsheet gets what the API
answers; text goes through the one
CSV writer (:func:`routeplanner.io.tables.render_csv`) or the XLSX writer, both of which keep a
cell such as ``=HYPERLINK(...)`` from becoming a formula.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final

from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import render_csv, render_xlsx
from routeplanner.services.field import AccountCard
from routeplanner.services.performance import Dashboard, GroupReport

FORMATS: Final = ("csv", "xlsx")
MEDIA_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

Cell = str | float | int | None


@dataclass(frozen=True, slots=True)
class Sheet:
    """One exported table: its name (the file's), columns, rows and which columns are
    numbers."""

    name: str
    columns: tuple[str, ...]
    rows: list[list[Cell]]
    numeric: frozenset[str]


GROUP_COLUMNS: Final = (
    "id", "name", "rep_id", "accounts", "planned", "done", "missed", "cancelled", "due",
    "coverage", "coverage_on_time", "adherence", "overdue", "drive_share", "revenue",
    "revenue_target", "revenue_vs_target", "revenue_per_visit", "order_value", "new_accounts",
    "previous_done", "previous_revenue", "flag", "flag_reason",
)  # fmt: skip
TEXT_COLUMNS: Final = frozenset({"id", "name", "rep_id", "flag", "flag_reason"})


def _group_row(g: GroupReport) -> list[Cell]:
    c = g.current
    return [
        g.scope_id, g.name, g.rep_id, c.accounts, c.planned, c.done, c.missed, c.cancelled,
        round(c.due, 3), c.coverage, c.on_time, c.adherence, c.overdue, c.drive_share, c.revenue,
        g.target.revenue, g.revenue_vs_target, c.revenue_per_visit, c.order_value,
        c.new_accounts, g.previous.done, g.previous.revenue,
        g.flag.kind if g.flag else None, g.flag.reason if g.flag else None,
    ]  # fmt: skip


def _groups(name: str, groups: Sequence[GroupReport]) -> Sheet:
    numeric = frozenset(GROUP_COLUMNS) - TEXT_COLUMNS
    return Sheet(name, GROUP_COLUMNS, [_group_row(g) for g in groups], numeric)


def _classes(board: Dashboard) -> Sheet:
    rows: list[list[Cell]] = [
        [g.scope_id, value_class, revenue, potential]
        for g in board.territories
        for value_class, (revenue, potential) in g.current.by_class.items()
    ]
    columns = ("territory_id", "value_class", "revenue", "potential")
    return Sheet("classes", columns, rows, frozenset({"revenue", "potential"}))


def _weeks(board: Dashboard) -> Sheet:
    rows: list[list[Cell]] = [[w.start.isoformat(), w.done, w.missed] for w in board.weeks]
    return Sheet("weeks", ("week_start", "done", "missed"), rows, frozenset({"done", "missed"}))


def _ranking(board: Dashboard) -> Sheet:
    rows: list[list[Cell]] = [
        [rank, g.scope_id, g.name, g.revenue_vs_target]
        for rank, g in enumerate(board.ranking, start=1)
    ]
    columns = ("rank", "territory_id", "name", "revenue_vs_target")
    return Sheet("ranking", columns, rows, frozenset({"rank", "revenue_vs_target"}))


def _targets(board: Dashboard) -> Sheet:
    rows: list[list[Cell]] = [
        [
            g.scope.value, g.scope_id, g.name, str(board.month), g.target.revenue,
            g.target.visits_done, g.target.coverage, g.target.new_accounts,
            " ".join(sorted(g.target.defaults)),
        ]
        for g in board.groups
    ]  # fmt: skip
    columns = (
        "scope", "id", "name", "month", "revenue", "visits_done", "coverage", "new_accounts",
        "defaults",
    )  # fmt: skip
    numeric = frozenset({"revenue", "visits_done", "coverage", "new_accounts"})
    return Sheet("targets", columns, rows, numeric)


DASHBOARD_TABLES: Final[dict[str, Callable[[Dashboard], Sheet]]] = {
    "territories": lambda b: _groups("territories", b.territories),
    "reps": lambda b: _groups("reps", b.reps),
    "ranking": _ranking,
    "classes": _classes,
    "weeks": _weeks,
    "targets": _targets,
}
ACCOUNT_TABLES: Final = ("visits", "revenue")


def dashboard_sheet(board: Dashboard, table: str) -> Sheet:
    """The dashboard's ``table`` (one of :data:`DASHBOARD_TABLES`).

    Raises
    ------
    InputError
        No such table.
    """
    make = DASHBOARD_TABLES.get(table)
    if make is None:
        raise InputError(Problem("query", None, "table", _choices(table, DASHBOARD_TABLES)))
    return make(board)


def account_sheet(card: AccountCard, table: str) -> Sheet:
    """An account's ``visits`` (reports, newest first, with outcomes) or ``revenue`` (per
    month).

    Raises
    ------
    InputError
        No such table.
    """
    if table == "revenue":
        rows: list[list[Cell]] = [[p.strftime("%Y-%m"), amount] for p, amount in card.revenue]
        return Sheet("revenue", ("month", "revenue"), rows, frozenset({"revenue"}))
    if table != "visits":
        raise InputError(Problem("query", None, "table", _choices(table, ACCOUNT_TABLES)))
    rows = [
        [
            r.day.isoformat(), r.rep_id, r.status.value, r.outcome, r.order_value, r.next_step,
            r.note,
        ]
        for r in card.history
    ]  # fmt: skip
    columns = ("day", "rep_id", "status", "outcome", "order_value", "next_step", "note")
    return Sheet("visits", columns, rows, frozenset({"order_value"}))


def check_export(table: str, file_format: str, tables: Collection[str]) -> None:
    """Refuse an unknown table or format before any figure is computed.

    Raises
    ------
    InputError
        Every problem of the two.
    """
    problems = []
    if table not in tables:
        problems.append(Problem("query", None, "table", _choices(table, tables)))
    if file_format not in FORMATS:
        problems.append(Problem("query", None, "format", _choices(file_format, FORMATS)))
    if problems:
        raise InputError(problems)


def _choices(given: str, known: Collection[str]) -> str:
    return f"{given[:40]!r} is none of " + ", ".join(known)


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render_sheet(sheet: Sheet, file_format: str) -> bytes:
    """``sheet`` as CSV (UTF-8) or XLSX bytes.

    Raises
    ------
    InputError
        A format other than csv and xlsx.
    """
    cells = [[_text(v) for v in row] for row in sheet.rows]
    if file_format == "csv":
        return render_csv(sheet.columns, cells).encode("utf-8")
    if file_format == "xlsx":
        return render_xlsx(sheet.columns, cells, numeric=sheet.numeric, sheet=sheet.name)
    raise InputError(Problem("query", None, "format", _choices(file_format, FORMATS)))
