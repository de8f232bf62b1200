"""What every area repository shares: the scope its statements run in, id checks, chunked
``IN`` lists and the sentences database errors become."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from routeplanner.errors import MissingRecordError, StorageError
from routeplanner.model.performance import FigureScope
from routeplanner.storage.engine import driver_message
from routeplanner.storage.tables import ID_LENGTH, OwnershipRow

Clock = Callable[[], datetime]
_T = TypeVar("_T")
CHUNK = 500
"""Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's bound-parameter limits."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scope(Protocol):
    """Where a repository runs: inside one unit of work, or each call in its own transaction."""

    def now(self) -> datetime:
        """The storage clock's current aware time."""
        ...

    def name(self, what: str) -> str:
        """What errors are prefixed with: the unit of work's name if it has one, else ``what``."""
        ...

    def session(self, what: str, *, write: bool = False) -> AbstractContextManager[Session]:
        """The session for one repository call; errors inside become StorageErrors naming
        ``what``. ``write``: the call changes data."""
        ...


class AreaRepository:
    """Base of the area repositories: typed reads and writes of one area, in domain objects.

    Callers never see a session or a row. A repository is bound to a :class:`Scope`: inside
    ``with store.transaction() as tx`` every ``tx.<area>`` call shares one transaction; a call
    on ``store.<area>`` is a transaction of its own.
    """

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def _what(self, what: str) -> str:
        return self._scope.name(what)

    def _session(self, what: str, *, write: bool = False) -> AbstractContextManager[Session]:
        return self._scope.session(what, write=write)

    def _now(self) -> datetime:
        return self._scope.now()


def in_scope(column: Any, scope: FigureScope) -> ColumnElement[bool]:
    """``column`` (an account id) names an account the scope's territories or reps ever
    owned: a subquery on the ownership history, so no list of ids is sent."""
    ever = select(OwnershipRow.account_id).where(
        or_(
            OwnershipRow.territory_id.in_(sorted(scope.territory_ids)),
            OwnershipRow.rep_id.in_(sorted(scope.rep_ids)),
        )
    )
    return column.in_(ever)  # type: ignore[no-any-return]


def chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def load_by_ids(
    session: Session, table: type[_T], column: Any, ids: Sequence[str], *, lock: bool = False
) -> dict[str, _T]:
    """The rows whose ``column`` is one of ``ids``; ``lock``: ``SELECT ... FOR UPDATE``."""
    found: dict[str, _T] = {}
    for chunk in chunks(sorted(set(ids))):
        query = select(table).where(column.in_(chunk))
        for row in session.scalars(query.with_for_update() if lock else query):
            found[getattr(row, column.key)] = row
    return found


def existing_row(
    session: Session, row_type: type[_T], key: object, what: str, thing: str, *, lock: bool = False
) -> _T:
    """The row with primary key ``key``, or a MissingRecordError saying there is no ``thing``.
    ``lock``: ``SELECT ... FOR UPDATE`` (PostgreSQL; SQLite writers are serialised anyway)."""
    row = session.get(row_type, key, with_for_update=True if lock else None)
    if row is None:
        msg = f"{what}: no such {thing}"
        raise MissingRecordError(msg)
    return row


def check_ids(what: str, field: str, ids: Iterable[str]) -> None:
    """Refuse duplicates and over-long ids before writing, with every offender named."""
    counts = Counter(ids)
    problems = [f"{field} {i!r} appears {n} times" for i, n in counts.items() if n > 1]
    problems += [
        f"{field} {i[:40]!r}... is longer than {ID_LENGTH} characters"
        for i in counts
        if len(i) > ID_LENGTH
    ]
    if problems:
        raise StorageError(f"{what}: " + "; ".join(problems))


def storage_error(what: str, exc: SQLAlchemyError) -> StorageError:
    """The sentence a database error becomes: what failed, and the driver's own first line."""
    if isinstance(exc, IntegrityError):
        return StorageError(f"{what}: the database refused the change: {_integrity_detail(exc)}")
    if isinstance(exc, OperationalError):
        return StorageError(f"{what}: database unavailable or busy: {driver_message(exc)}")
    return StorageError(f"{what}: {driver_message(exc)}")


def _integrity_detail(exc: IntegrityError) -> str:
    """The driver's constraint message plus PostgreSQL's DETAIL line when it names the key.

    Other DETAIL lines (a failed CHECK) echo the whole row, personal data included, so they are
    left out of a message that may reach a log or a browser.
    """
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    detail = [line for line in lines[1:] if line.startswith("DETAIL:") and "Key (" in line]
    return " ".join(lines[:1] + detail) or type(exc).__name__
