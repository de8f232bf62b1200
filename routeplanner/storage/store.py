"""The store: one database, its units of work, and what it tells listeners after a commit.

A unit of work is one transaction over every area::

    with store.transaction() as tx:           # commits at the end, rolls back on any exception
        summary = tx.accounts.replace_all(accounts, source="accounts.csv")
        tx.territories.record_ownership(OwnershipCause.IMPORT, detail="import")

A single call needs no ``with``: ``store.accounts.all()`` or ``store.plans.fail(plan_id, why)``
is a transaction of its own. ``store.read()`` is a unit of work that refuses writes.

Write transactions begin ``IMMEDIATE`` on SQLite (see :mod:`routeplanner.storage.engine`), so
they take the write lock when they start. Every database failure surfaces as
:class:`~routeplanner.errors.StorageError` naming what failed: the transaction's name when it
was given one (``store.transaction("import from accounts.csv")``), else the step's own.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, sessionmaker

from routeplanner.errors import StorageError
from routeplanner.storage.accounts import AccountRepository, RepRepository
from routeplanner.storage.common import Clock, Scope, storage_error, utc_now
from routeplanner.storage.engine import (
    WRITE_OPTION,
    check_schema,
    make_engine,
    migrate,
    session_factory,
)
from routeplanner.storage.feeds import FeedRepository
from routeplanner.storage.learned import LearnedRepository
from routeplanner.storage.performance import SalesRepository, TargetRepository
from routeplanner.storage.plans import PlanRepository
from routeplanner.storage.records import Area, Commit, DataVersion
from routeplanner.storage.regions import RegionRepository
from routeplanner.storage.rules import RuleRepository
from routeplanner.storage.tables import (
    AccountRow,
    AssignmentRuleRow,
    Base,
    CalendarEntryRow,
    CalendarFeedRow,
    LearnedValueRow,
    OwnershipRow,
    PlanPartRow,
    PlanRouteRow,
    PlanRow,
    PlanStopRow,
    PlanUnassignedRow,
    RegionRow,
    RegionTerritoryRow,
    RepRow,
    SalesFigureRow,
    SessionRow,
    TargetRow,
    TerritoryAccountRow,
    TerritoryRow,
    TokenRow,
    UserRegionRow,
    UserRow,
    VisitRecordRow,
)
from routeplanner.storage.territories import TerritoryRepository
from routeplanner.storage.users import SessionRepository, TokenRepository, UserRepository
from routeplanner.storage.visits import VisitRepository

CommitListener = Callable[[Commit], None]

AREA_OF_TABLE: Final[dict[str, Area]] = {
    row.__tablename__: area
    for area, rows in {
        Area.ACCOUNTS: (AccountRow,),
        Area.REPS: (RepRow,),
        Area.TERRITORIES: (TerritoryRow, TerritoryAccountRow, OwnershipRow),
        Area.RULES: (AssignmentRuleRow,),
        Area.PLANS: (PlanRow, PlanPartRow, PlanRouteRow, PlanStopRow, PlanUnassignedRow),
        Area.VISITS: (VisitRecordRow,),
        Area.USERS: (UserRow,),
        Area.TOKENS: (TokenRow,),
        Area.SESSIONS: (SessionRow,),
        Area.FEEDS: (CalendarFeedRow, CalendarEntryRow),
        Area.LEARNED: (LearnedValueRow,),
        Area.SALES: (SalesFigureRow,),
        Area.TARGETS: (TargetRow,),
        Area.REGIONS: (RegionRow, RegionTerritoryRow, UserRegionRow),
    }.items()
    for row in rows
}
"""The area each table belongs to, for :class:`Commit`."""

_WRITTEN = "routeplanner_written_areas"
"""Key in ``Session.info`` of the set of areas the session's transaction wrote."""
_ACCOUNTS = "routeplanner_written_accounts"
"""Key in ``Session.info`` of the ids of the accounts the transaction wrote (``None``:
unknown, a bulk statement wrote the table)."""
_TRACKED: weakref.WeakSet[sessionmaker[Session]] = weakref.WeakSet()
"""Session factories already noting writes. Not ``event.contains``: SQLAlchemy keys its
registry by ``id()``, so a new factory at a freed factory's address looked registered and its
commits went unheard."""


class UnitOfWork:
    """One transaction; every area repository on it shares it (``tx.accounts``, ``tx.plans``).

    Obtained from :meth:`Store.transaction` or :meth:`Store.read`, valid inside the ``with``
    only. A step that raises leaves the transaction unusable: later steps and the commit are
    refused, so catching a StorageError inside the block can never commit half a step.
    """

    def __init__(self, scope: Scope) -> None:
        self.accounts = AccountRepository(scope)
        self.reps = RepRepository(scope)
        self.territories = TerritoryRepository(scope)
        self.rules = RuleRepository(scope)
        self.plans = PlanRepository(scope)
        self.visits = VisitRepository(scope)
        self.users = UserRepository(scope)
        self.tokens = TokenRepository(scope)
        self.sessions = SessionRepository(scope)
        self.feeds = FeedRepository(scope)
        self.learned = LearnedRepository(scope)
        self.sales = SalesRepository(scope)
        self.targets = TargetRepository(scope)
        self.regions = RegionRepository(scope)


class _TransactionScope:
    """The scope of a unit of work: every call runs in its one session."""

    def __init__(self, session: Session, *, clock: Clock, name: str | None, writable: bool) -> None:
        self._session = session
        self._clock = clock
        self._name = name
        self._writable = writable
        self.failure: BaseException | None = None

    def now(self) -> datetime:
        return self._clock()

    def name(self, what: str) -> str:
        return self._name or what

    @contextmanager
    def session(self, what: str, *, write: bool = False) -> Iterator[Session]:
        what = self.name(what)
        if write and not self._writable:
            msg = f"{what}: a read transaction cannot write (use store.transaction())"
            raise StorageError(msg)
        if self.failure is not None:
            msg = f"{what}: an earlier step of this transaction failed: {self.failure}"
            raise StorageError(msg)
        try:
            yield self._session
            if write:
                # Flush here, so a refused write is reported as this step's failure.
                self._session.flush()
        except BaseException as exc:
            self.failure = exc
            if isinstance(exc, SQLAlchemyError):
                raise storage_error(what, exc) from exc
            raise


class _CallScope:
    """The scope of ``store.<area>``: each call is a transaction of its own."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def now(self) -> datetime:
        return self._store.clock()

    def name(self, what: str) -> str:
        return what

    @contextmanager
    def session(self, what: str, *, write: bool = False) -> Iterator[Session]:
        with (
            self._store._scope(what, writable=write) as scope,
            scope.session(what, write=write) as session,
        ):
            yield session


class Store:
    """One database: units of work, one-call repositories, the data version, commit listeners.

    Cheap to create, safe to share between threads (each transaction has its own session).

    Parameters
    ----------
    sessions
        From :func:`routeplanner.storage.engine.session_factory`.
    clock
        Returns the current aware time; tests pass a fixed clock to get exact timestamps.
    """

    def __init__(self, sessions: sessionmaker[Session], *, clock: Clock | None = None) -> None:
        self._sessions = sessions
        self.clock: Clock = clock or utc_now
        self._listeners: tuple[CommitListener, ...] = ()
        if sessions not in _TRACKED:
            event.listen(sessions, "do_orm_execute", _note_statement)
            event.listen(sessions, "before_flush", _note_flush)
            _TRACKED.add(sessions)
        calls = UnitOfWork(_CallScope(self))
        self.accounts = calls.accounts
        self.reps = calls.reps
        self.territories = calls.territories
        self.rules = calls.rules
        self.plans = calls.plans
        self.visits = calls.visits
        self.users = calls.users
        self.tokens = calls.tokens
        self.sessions = calls.sessions
        self.feeds = calls.feeds
        self.learned = calls.learned
        self.sales = calls.sales
        self.targets = calls.targets
        self.regions = calls.regions

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True, clock: Clock | None = None) -> Store:
        """Connect to ``url``; migrate the schema to the newest version unless ``upgrade`` is
        false, in which case an outdated schema is refused.

        Raises
        ------
        StorageError
            The database is unreachable, cannot be migrated or has the wrong schema.
        """
        engine = make_engine(url)
        try:
            if upgrade:
                migrate(engine)
            else:
                check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(session_factory(engine), clock=clock)

    @property
    def engine(self) -> Engine:
        bind = self._sessions.kw.get("bind")
        if not isinstance(bind, Engine):  # pragma: no cover - session_factory always binds
            msg = "the store's session factory is not bound to an engine"
            raise StorageError(msg)
        return bind

    def close(self) -> None:
        """Close pooled connections (an SQLite file is then free to move or delete)."""
        self.engine.dispose()

    def transaction(self, name: str | None = None) -> AbstractContextManager[UnitOfWork]:
        """A unit of work that may write: commits when the ``with`` block ends, rolls back when
        it raises. ``name`` (such as ``"import from accounts.csv"``) starts every error
        message raised inside; without it each step names itself."""
        return self._unit(name, writable=True)

    def read(self, name: str | None = None) -> AbstractContextManager[UnitOfWork]:
        """A unit of work that only reads; writes raise. Its reads share one transaction at
        the database's default isolation: one snapshot on SQLite; on PostgreSQL each statement
        sees what was committed before it began."""
        return self._unit(name, writable=False)

    def on_commit(self, listener: CommitListener) -> None:
        """Call ``listener`` after every committed transaction that wrote, with the areas it
        wrote; never for a rollback or a read. Listeners run on the committing thread and
        should be quick; an exception from one reaches the caller, though the commit stands."""
        self._listeners = (*self._listeners, listener)

    def data_version(self) -> DataVersion:
        """The committed state's :class:`DataVersion`, in one query."""
        query = select(
            select(PlanRow.id).where(PlanRow.is_current.is_(True)).scalar_subquery(),
            select(func.count()).select_from(AccountRow).scalar_subquery(),
            select(func.max(AccountRow.updated_at)).scalar_subquery(),
            select(func.count()).select_from(RepRow).scalar_subquery(),
            select(func.max(RepRow.updated_at)).scalar_subquery(),
            select(func.max(VisitRecordRow.id)).scalar_subquery(),
            select(func.count()).select_from(VisitRecordRow).scalar_subquery(),
            select(func.count())
            .select_from(VisitRecordRow)
            .where(VisitRecordRow.withdrawn_at.is_not(None))
            .scalar_subquery(),
        )
        what = "reading the data version"
        with self._scope(what, writable=False) as scope, scope.session(what) as session:
            row = session.execute(query).one()
        plan_id, accounts, accounts_at, reps, reps_at, newest_visit, visits, withdrawn = row.tuple()
        return DataVersion(
            current_plan_id=plan_id,
            account_count=accounts,
            accounts_updated_at=accounts_at,
            rep_count=reps,
            reps_updated_at=reps_at,
            newest_visit_record_id=newest_visit,
            visit_record_count=visits,
            withdrawn_visit_count=withdrawn,
        )

    def performance_version(self) -> tuple[object, ...]:
        """A fingerprint of what performance figures read besides :meth:`data_version`: sales
        figures (an import deletes and inserts, so the newest id moves), targets (set or
        removed), territories and ownership (a new period or one ended), in one query."""
        query = select(
            select(func.max(SalesFigureRow.id)).scalar_subquery(),
            select(func.count()).select_from(TargetRow).scalar_subquery(),
            select(func.max(TargetRow.updated_at)).scalar_subquery(),
            select(func.count()).select_from(TerritoryRow).scalar_subquery(),
            select(func.max(TerritoryRow.updated_at)).scalar_subquery(),
            select(func.max(OwnershipRow.id)).scalar_subquery(),
            select(func.max(OwnershipRow.valid_to)).scalar_subquery(),
        )
        what = "reading the performance data version"
        with self._scope(what, writable=False) as scope, scope.session(what) as session:
            return tuple(session.execute(query).one())

    @contextmanager
    def _unit(self, name: str | None, *, writable: bool) -> Iterator[UnitOfWork]:
        with self._scope(name, writable=writable) as scope:
            yield UnitOfWork(scope)

    @contextmanager
    def _scope(self, name: str | None, *, writable: bool) -> Iterator[_TransactionScope]:
        """One transaction: commit after the block, roll back when it raises (or when a step
        failed inside it), then tell the listeners what a committed write changed."""
        what = name or ("writing to the database" if writable else "reading from the database")
        try:
            with self._sessions() as session:
                with session.begin():
                    if writable:
                        session.connection(execution_options={WRITE_OPTION: True})
                    scope = _TransactionScope(
                        session, clock=self.clock, name=name, writable=writable
                    )
                    yield scope
                    if scope.failure is not None:
                        msg = f"{what}: not committed, a step failed: {scope.failure}"
                        raise StorageError(msg)
                written: set[Area] = session.info.get(_WRITTEN, set())
                accounts: set[str] | None = session.info.get(_ACCOUNTS, set())
        except SQLAlchemyError as exc:
            raise storage_error(what, exc) from exc
        if written:
            commit = Commit(
                areas=frozenset(written),
                accounts=None if accounts is None else frozenset(accounts),
            )
            for listener in self._listeners:
                listener(commit)


def _note_statement(state: ORMExecuteState) -> None:
    """Remember the area of a bulk ``INSERT``/``UPDATE``/``DELETE`` run through the session."""
    if state.is_insert or state.is_update or state.is_delete:
        table: Any = getattr(state.statement, "table", None)
        _written(state.session).add(AREA_OF_TABLE[table.name])
        if table.name == AccountRow.__tablename__:
            state.session.info[_ACCOUNTS] = None  # which rows it hit is not known


def _note_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Remember the areas of the rows a flush will insert, update or delete."""
    written = _written(session)
    changed = [*session.new, *session.deleted]
    changed += [row for row in session.dirty if session.is_modified(row)]
    for row in changed:
        if isinstance(row, Base):
            written.add(AREA_OF_TABLE[row.__tablename__])
        if isinstance(row, AccountRow):
            accounts: set[str] | None = session.info.setdefault(_ACCOUNTS, set())
            if accounts is not None:
                accounts.add(row.account_id)


def _written(session: Session) -> set[Area]:
    found: set[Area] = session.info.setdefault(_WRITTEN, set())
    return found
