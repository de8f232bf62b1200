"""JSON API for adding accounts (``POST /api/v1/accounts``), as the accounts page's import does.

Each object of the list is one row of an account file: its keys are the import columns
(``docs/data-formats.md``), its values the cells as text or numbers. The rows go through the
importer itself (:func:`~routeplanner.io.accounts.accounts_from_table`), so the API accepts
exactly what a file import accepts and names problems the same way; ``row`` is the 1-based
position in the list. Then :func:`routeplanner.services.imports.add_accounts` stores them and
gives each a territory by the stored rules, else best fit, as the accounts page's import does.

This operation only adds: an id that already exists is a problem of its row (422, listed with
every other problem), because silently overwriting an account is what ``PATCH`` is for. Nothing
is stored while any problem remains.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from routeplanner.errors import InputError, Problem
from routeplanner.io.accounts import ACCOUNT_COLUMNS, accounts_from_table
from routeplanner.io.tables import Row, Table, normalise_column
from routeplanner.services import imports
from routeplanner.web.assignment_schemas import BalancePublic, DecisionPublic
from routeplanner.web.auth import ApiScopeDep, ManagerApiDep, api_csrf
from routeplanner.web.deps import get_services
from routeplanner.web.routes.api import _safe_snaps
from routeplanner.web.schemas import API_ERRORS, AccountPublic
from routeplanner.web.services import Services

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=API_ERRORS)
ServicesDep = Annotated[Services, Depends(get_services)]
SOURCE = "request"
"""The ``source`` of every problem, where a file import names the file."""
MAX_ACCOUNTS = 5000

Cell = StrictStr | StrictInt | StrictFloat | None


class AccountsCreate(BaseModel):
    accounts: list[dict[str, Cell]] = Field(
        min_length=1,
        max_length=MAX_ACCOUNTS,
        description="one object per account, keyed by the import columns: "
        + ", ".join(ACCOUNT_COLUMNS)
        + " (id, name, lat, lon and frequency required; x_... keys are ignored)",
    )


class CreatedAccount(BaseModel):
    account: AccountPublic
    territory_id: str | None = Field(description="null: no territories stored, or nowhere fits")
    rep_id: str | None
    reason: str = Field(description="why it went there: the rule, best fit, a lock")
    assignment: DecisionPublic | None


class AccountsCreated(BaseModel):
    accounts: list[CreatedAccount]
    assigned: int = Field(description="how many got a territory")
    balance: list[BalancePublic] = Field(description="every territory afterwards")
    suggest_realignment: bool = Field(description="a territory drifted beyond the tolerance")
    travel_note: str = Field(description="non-empty when straight-line estimates were used")


def _text(value: Cell) -> str:
    """A cell as the text someone would have typed in a file (``12.0`` is ``12``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def table_of(rows: list[dict[str, Cell]], *, source: str = SOURCE) -> Table:
    """The list as the importer's table: columns in order of first appearance, row ``n`` the
    ``n``-th object, header row 0 (so a column problem names no row of the list).

    Raises
    ------
    InputError
        An empty key, or two keys of one object naming the same column (``Name``, ``name``).
    """
    columns: dict[str, None] = {}
    problems: list[Problem] = []
    table_rows = []
    for number, obj in enumerate(rows, start=1):
        cells: dict[str, str] = {}
        keys: dict[str, str] = {}
        for key, value in obj.items():
            column = normalise_column(key)
            if not column:
                problems.append(Problem(source, number, None, f"empty key {key!r}"))
                continue
            if column in keys:
                message = f"keys {keys[column]!r} and {key!r} name the same column"
                problems.append(Problem(source, number, column, message))
                continue
            keys[column] = key
            columns.setdefault(column)
            cells[column] = _text(value)
        table_rows.append(Row(number, cells))
    if problems:
        raise InputError(problems)
    return Table(source, tuple(columns), tuple(table_rows), header_row=0)


def _first_row(rows: list[dict[str, Cell]], column: str) -> int | None:
    return next(
        (
            n
            for n, obj in enumerate(rows, start=1)
            if any(normalise_column(k) == column for k in obj)
        ),
        None,
    )


@router.post(
    "/accounts",
    response_model=AccountsCreated,
    status_code=201,
    dependencies=[Depends(api_csrf)],
)
def create_accounts(
    body: AccountsCreate, services: ServicesDep, user: ManagerApiDep, scope: ApiScopeDep
) -> AccountsCreated:
    """Add accounts (managers only) as an import does, and assign each to a territory.

    Every problem comes at once (422), each with ``row`` (1-based position in the list) and
    ``field`` (the column) as a file import reports them; an id that already exists is one of
    them. Nothing is stored on any problem. 201: the accounts, each one's territory, rep and
    reason, the balance afterwards and whether a realignment is due.
    """
    scope.require_everything("import accounts")
    table = table_of(body.accounts)
    problems: list[Problem] = []
    accounts = []
    try:
        accounts = accounts_from_table(table)
    except InputError as exc:
        problems += [
            Problem(p.source, _first_row(body.accounts, p.field or ""), p.field, p.message)
            if p.row == 0
            else p
            for p in exc.problems
        ]
    stored = imports.stored_account_ids(services.store, {row.get("id") for row in table.rows})
    for row in table.rows:
        account_id = row.get("id")
        if account_id in stored:
            message = f"account {account_id!r} already exists; change it with PATCH"
            problems.append(Problem(SOURCE, row.number, "id", message))
    if problems:
        position = {c: i for i, c in enumerate(table.columns)}
        problems.sort(key=lambda p: (p.row or 0, position.get(p.field or "", -1)))
        raise InputError(problems)
    result = imports.add_accounts(
        services.store, accounts, services.travel, source="api", scope=scope, user=user.username
    )
    report = result.report
    names = {a.account_id: a.name for a in accounts}
    decisions = {} if report is None else {d.account_id: d for d in report.decisions}
    snaps = _safe_snaps(services, accounts, services.store.reps.all())
    created = []
    for a in accounts:
        d = decisions.get(a.account_id)
        created.append(
            CreatedAccount(
                account=AccountPublic.of(a, snaps.get(f"account:{a.account_id}")),
                territory_id=None if d is None else d.territory_id,
                rep_id=None if d is None else d.rep_id,
                reason="no territories stored" if d is None else d.reason,
                assignment=None if d is None else DecisionPublic.of(d, names),
            )
        )
    return AccountsCreated(
        accounts=created,
        assigned=result.moved,
        balance=[] if report is None else [BalancePublic.of(b) for b in report.balance],
        suggest_realignment=False if report is None else report.suggest_realignment,
        travel_note=result.travel_note,
    )
