"""Every read and write of routeplanner data, in domain objects, each call one transaction.

Callers never see a session or a row: they pass and get back frozen domain objects (``Account``,
``Plan``, ...) or the records of :mod:`routeplanner.storage.records`. Each public method is one
transaction, so an import or a plan is stored whole or not at all, and every database failure
surfaces as :class:`~routeplanner.errors.StorageError` with a sentence saying what failed.

Plan versions: :meth:`Repository.start_plan` creates a *running* version that readers ignore;
:meth:`Repository.complete_plan` writes its routes and makes it current in the same transaction,
so readers see either the old plan or the whole new one. Older versions stay readable by id.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from routeplanner.assignment.assign import Decision, DecisionCause
from routeplanner.assignment.rules import AssignmentRule, parse_rules, rule_to_data
from routeplanner.errors import ConflictError, InputError, StorageError
from routeplanner.model import (
    Account,
    DayRoute,
    FrequencyKind,
    GeoPoint,
    Horizon,
    LunchBreak,
    Plan,
    Rep,
    Stop,
    Territory,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    VisitRule,
    WeeklyHours,
)
from routeplanner.model.feed import FeedEntry, FeedStatus
from routeplanner.model.history import OwnershipCause, OwnershipRecord, VisitRecord, VisitStatus
from routeplanner.storage.engine import (
    WRITE_OPTION,
    check_schema,
    driver_message,
    make_engine,
    migrate,
    session_factory,
)
from routeplanner.storage.records import (
    FeedInfo,
    ImportSummary,
    PlanInfo,
    PlanStatus,
    TokenKind,
    TokenRecord,
    UserRecord,
    UserRole,
)
from routeplanner.storage.tables import (
    ID_LENGTH,
    AccountRow,
    AssignmentRuleRow,
    CalendarEntryRow,
    CalendarFeedRow,
    OwnershipRow,
    PlanRouteRow,
    PlanRow,
    PlanStopRow,
    PlanUnassignedRow,
    RepRow,
    TerritoryAccountRow,
    TerritoryRow,
    TokenRow,
    UserRow,
    VisitRecordRow,
)

Clock = Callable[[], datetime]
_T = TypeVar("_T")
_PLAN_SWITCH_LOCK = 7_268_100_042
"""Key of the PostgreSQL advisory lock held while a plan becomes current."""
_CHUNK = 500
"""Ids per ``IN (...)`` list: far below SQLite's and PostgreSQL's bound-parameter limits."""


class _Keep(Enum):
    """Marker for "leave this field as it is" where ``None`` is a real value."""

    KEEP = 0


KEEP = _Keep.KEEP


def hash_token(token: str) -> str:
    """SHA-256 hex of an API or calendar token: tokens are random, so no salt or slow hash is
    needed, and an equal hash can be looked up with an index."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class Repository:
    """Typed access to one database; cheap to create, safe to share between threads.

    Parameters
    ----------
    sessions
        From :func:`routeplanner.storage.engine.session_factory`.
    clock
        Returns the current aware time; tests pass a fixed clock to get exact timestamps.
    """

    def __init__(self, sessions: sessionmaker[Session], *, clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._clock = clock or _utc_now
        self._writes = 0  # account/rep write transactions through this object (data_version)
        self._generation = 0  # every write transaction through this object (web caches)

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True, clock: Clock | None = None) -> Repository:
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
            msg = "the repository's session factory is not bound to an engine"
            raise StorageError(msg)
        return bind

    def close(self) -> None:
        """Close pooled connections (an SQLite file is then free to move or delete)."""
        self.engine.dispose()

    @contextmanager
    def _transaction(
        self, what: str, *, write: bool = False, data: bool = False
    ) -> Iterator[Session]:
        """One transaction; any database error becomes a StorageError naming ``what``.
        ``data``: it writes accounts or reps (counted for :meth:`data_version`)."""
        try:
            with self._sessions() as session, session.begin():
                if write:
                    session.connection(execution_options={WRITE_OPTION: True})
                yield session
        except IntegrityError as exc:
            msg = f"{what}: the database refused the change: {_integrity_detail(exc)}"
            raise StorageError(msg) from exc
        except OperationalError as exc:
            msg = f"{what}: database unavailable or busy: {driver_message(exc)}"
            raise StorageError(msg) from exc
        except SQLAlchemyError as exc:
            msg = f"{what}: {driver_message(exc)}"
            raise StorageError(msg) from exc
        finally:
            if data:
                self._writes += 1
            if write:
                self._generation += 1

    @property
    def write_generation(self) -> int:
        """How many write transactions went through this object (committed or not): a web
        cache that remembers this number knows without a query whether this process wrote."""
        return self._generation

    def data_version(self) -> tuple[object, ...]:
        """A cheap fingerprint (one query) of what web pages cache: the current plan id, the
        number and latest change of accounts and of reps, this object's own count of account
        and rep writes, then the newest visit record id and the number of visit records
        (visit records are never updated or deleted, so the two change with every report).

        Changes made by another process show up through the counts, ``updated_at`` and ids
        once they are committed; the write count also catches this process's changes within
        one clock tick (tests with a fixed clock).
        """
        query = select(
            select(PlanRow.id).where(PlanRow.is_current.is_(True)).scalar_subquery(),
            select(func.count()).select_from(AccountRow).scalar_subquery(),
            select(func.max(AccountRow.updated_at)).scalar_subquery(),
            select(func.count()).select_from(RepRow).scalar_subquery(),
            select(func.max(RepRow.updated_at)).scalar_subquery(),
            select(func.max(VisitRecordRow.id)).scalar_subquery(),
            select(func.count()).select_from(VisitRecordRow).scalar_subquery(),
        )
        writes = self._writes
        with self._transaction("reading the data version") as session:
            row = session.execute(query).one()
        values = row.tuple()
        return (*values[:5], writes, *values[5:])

    # ------------------------------------------------------------------ accounts and reps

    def replace_accounts_and_reps(
        self,
        accounts: Sequence[Account],
        reps: Sequence[Rep],
        *,
        source: str,
        user: str = "",
        assignment: Sequence[Decision] = (),
    ) -> ImportSummary:
        """Make the stored accounts and reps exactly ``accounts`` and ``reps`` (a full import).

        Accounts and reps missing from the import are removed: removed accounts leave their
        territories, territories of removed reps become unowned, and the ownership history
        records both with cause ``import``. ``assignment`` (decisions for new accounts, see
        :meth:`apply_assignment`) is stored in the same transaction, so new accounts never
        sit without a territory. All or nothing: on any error nothing changes.
        """
        what = f"import from {source}"
        _check_ids(what, "account_id", [a.account_id for a in accounts])
        _check_ids(what, "rep_id", [r.rep_id for r in reps])
        now = self._clock()
        with self._transaction(what, write=True, data=True) as session:
            old_accounts = {row.account_id: row for row in session.scalars(select(AccountRow))}
            old_reps = {row.rep_id: row for row in session.scalars(select(RepRow))}
            gone_accounts = sorted(old_accounts.keys() - {a.account_id for a in accounts})
            gone_reps = sorted(old_reps.keys() - {r.rep_id for r in reps})
            for chunk in _chunks(gone_accounts):
                session.execute(
                    delete(TerritoryAccountRow).where(TerritoryAccountRow.account_id.in_(chunk))
                )
                session.execute(delete(AccountRow).where(AccountRow.account_id.in_(chunk)))
            for chunk in _chunks(gone_reps):
                session.execute(
                    update(TerritoryRow).where(TerritoryRow.rep_id.in_(chunk)).values(rep_id=None)
                )
                session.execute(delete(RepRow).where(RepRow.rep_id.in_(chunk)))
            added_a, changed_a, same_a = _upsert_accounts(
                session, accounts, old_accounts, source=source, now=now
            )
            added_r, changed_r, same_r = _upsert_reps(
                session, reps, old_reps, source=source, now=now
            )
            session.flush()
            _sync_ownership(session, now, OwnershipCause.IMPORT, user, what)
            moves = [d for d in assignment if d.changed]
            if moves:
                _apply_moves(session, moves, OwnershipCause.IMPORT, user, what, now)
        return ImportSummary(
            accounts_added=added_a,
            accounts_changed=changed_a,
            accounts_unchanged=same_a,
            accounts_removed=len(gone_accounts),
            reps_added=added_r,
            reps_changed=changed_r,
            reps_unchanged=same_r,
            reps_removed=len(gone_reps),
        )

    def upsert_accounts(self, accounts: Sequence[Account], *, source: str) -> ImportSummary:
        """Add new accounts and update existing ones; accounts not listed stay as they are."""
        what = f"import of accounts from {source}"
        ids = [a.account_id for a in accounts]
        _check_ids(what, "account_id", ids)
        now = self._clock()
        with self._transaction(what, write=True, data=True) as session:
            old = _load_by_ids(session, AccountRow, AccountRow.account_id, ids)
            added, changed, same = _upsert_accounts(session, accounts, old, source=source, now=now)
        return ImportSummary(
            accounts_added=added, accounts_changed=changed, accounts_unchanged=same
        )

    def upsert_reps(self, reps: Sequence[Rep], *, source: str) -> ImportSummary:
        """Add new reps and update existing ones; reps not listed stay as they are."""
        what = f"import of reps from {source}"
        ids = [r.rep_id for r in reps]
        _check_ids(what, "rep_id", ids)
        now = self._clock()
        with self._transaction(what, write=True, data=True) as session:
            old = _load_by_ids(session, RepRow, RepRow.rep_id, ids)
            added, changed, same = _upsert_reps(session, reps, old, source=source, now=now)
        return ImportSummary(reps_added=added, reps_changed=changed, reps_unchanged=same)

    def delete_accounts(self, account_ids: Sequence[str], *, user: str = "") -> int:
        """Remove accounts (and their territory membership); returns how many existed."""
        what = "deleting accounts"
        now = self._clock()
        ids = sorted(set(account_ids))
        removed = 0
        with self._transaction(what, write=True, data=True) as session:
            for chunk in _chunks(ids):
                session.execute(
                    delete(TerritoryAccountRow).where(TerritoryAccountRow.account_id.in_(chunk))
                )
                existing = session.scalars(
                    select(AccountRow.account_id).where(AccountRow.account_id.in_(chunk))
                ).all()
                removed += len(existing)
                session.execute(delete(AccountRow).where(AccountRow.account_id.in_(chunk)))
            _sync_ownership(session, now, OwnershipCause.MANUAL, user, what)
        return removed

    def list_accounts(self) -> list[Account]:
        with self._transaction("reading accounts") as session:
            rows = session.scalars(select(AccountRow).order_by(AccountRow.account_id))
            return [_account_from_row(row) for row in rows]

    def get_account(self, account_id: str) -> Account | None:
        with self._transaction(f"reading account {account_id}") as session:
            row = session.get(AccountRow, account_id)
            return None if row is None else _account_from_row(row)

    def list_reps(self) -> list[Rep]:
        with self._transaction("reading reps") as session:
            rows = session.scalars(select(RepRow).order_by(RepRow.rep_id))
            return [_rep_from_row(row) for row in rows]

    def get_rep(self, rep_id: str) -> Rep | None:
        with self._transaction(f"reading rep {rep_id}") as session:
            row = session.get(RepRow, rep_id)
            return None if row is None else _rep_from_row(row)

    # ------------------------------------------------------------------ territories

    def save_territories(
        self,
        territories: Sequence[Territory],
        *,
        cause: OwnershipCause | str,
        user: str = "",
        detail: str = "",
        replace_all: bool = False,
    ) -> None:
        """Store territories and record every resulting change of ownership.

        Each listed territory gets exactly its ``account_ids``; an account listed here leaves
        whatever territory held it before. With ``replace_all`` the listed territories become
        the whole set and all others are deleted. Ownership periods that end are closed and
        new ones opened, all stamped with ``cause``, ``user`` and ``detail``.

        Raises
        ------
        StorageError
            An account appears in two territories, a territory names an unknown account or rep,
            or the database refuses the write; nothing is changed then.
        """
        what = "saving territories"
        cause = _ownership_cause(what, cause)
        _check_ids(what, "territory_id", [t.territory_id for t in territories])
        claimed: dict[str, str] = {}
        problems: list[str] = []
        for territory in territories:
            for account_id in territory.account_ids:
                if account_id in claimed:
                    problems.append(
                        f"account {account_id} is in territories {claimed[account_id]} "
                        f"and {territory.territory_id}"
                    )
                claimed[account_id] = territory.territory_id
        if problems:
            raise StorageError(f"{what}: " + "; ".join(problems))
        now = self._clock()
        with self._transaction(what, write=True) as session:
            _check_references(session, what, territories)
            given = [t.territory_id for t in territories]
            old = {row.territory_id: row for row in session.scalars(select(TerritoryRow))}
            if replace_all:
                stale = sorted(old.keys() - set(given))
                for chunk in _chunks(stale):
                    session.execute(
                        delete(TerritoryAccountRow).where(
                            TerritoryAccountRow.territory_id.in_(chunk)
                        )
                    )
                    session.execute(
                        delete(TerritoryRow).where(TerritoryRow.territory_id.in_(chunk))
                    )
            for chunk in _chunks(given):
                session.execute(
                    delete(TerritoryAccountRow).where(TerritoryAccountRow.territory_id.in_(chunk))
                )
            for chunk in _chunks(sorted(claimed)):
                session.execute(
                    delete(TerritoryAccountRow).where(TerritoryAccountRow.account_id.in_(chunk))
                )
            for territory in territories:
                row = old.get(territory.territory_id)
                if row is None:
                    row = TerritoryRow(territory_id=territory.territory_id)
                    session.add(row)
                row.name = territory.name
                row.rep_id = territory.rep_id
                row.segment = territory.segment
                row.locked = territory.locked
                row.updated_at = now
            session.flush()
            members = [
                {"account_id": a, "territory_id": t.territory_id, "position": i}
                for t in territories
                for i, a in enumerate(t.account_ids)
            ]
            if members:
                session.execute(insert(TerritoryAccountRow), members)
            _sync_ownership(session, now, cause, user, detail)

    def current_territories(self) -> list[Territory]:
        with self._transaction("reading territories") as session:
            members: dict[str, list[str]] = {}
            for account_id, territory_id in session.execute(
                select(TerritoryAccountRow.account_id, TerritoryAccountRow.territory_id).order_by(
                    TerritoryAccountRow.territory_id, TerritoryAccountRow.position
                )
            ):
                members.setdefault(territory_id, []).append(account_id)
            return [
                Territory(
                    territory_id=row.territory_id,
                    name=row.name,
                    rep_id=row.rep_id,
                    account_ids=tuple(members.get(row.territory_id, ())),
                    segment=row.segment,
                    locked=row.locked,
                )
                for row in session.scalars(select(TerritoryRow).order_by(TerritoryRow.territory_id))
            ]

    def ownership_history(self, account_id: str | None = None) -> list[OwnershipRecord]:
        """Every ownership period of the account (of all accounts if ``None``), oldest first."""
        query = select(OwnershipRow).order_by(
            OwnershipRow.valid_from, OwnershipRow.account_id, OwnershipRow.id
        )
        if account_id is not None:
            query = query.where(OwnershipRow.account_id == account_id)
        with self._transaction("reading ownership history") as session:
            return [_ownership_from_row(row) for row in session.scalars(query)]

    def account_owner_at(self, account_id: str, when: datetime) -> OwnershipRecord | None:
        """The ownership period holding at ``when`` (aware), or ``None`` if the account was in
        no territory then."""
        if when.tzinfo is None:
            msg = "account_owner_at needs a timezone-aware datetime"
            raise ValueError(msg)
        with self._transaction(f"reading the owner of {account_id}") as session:
            row = session.scalars(
                select(OwnershipRow)
                .where(
                    OwnershipRow.account_id == account_id,
                    OwnershipRow.valid_from <= when,
                    (OwnershipRow.valid_to.is_(None)) | (OwnershipRow.valid_to > when),
                )
                .order_by(OwnershipRow.valid_from.desc(), OwnershipRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _ownership_from_row(row)

    def current_ownership(self, account_id: str) -> OwnershipRecord | None:
        """The open ownership period of the account: its owner now and why (cause, detail such
        as ``rule 3: category = pharmacy``, user); ``None`` when it is in no territory."""
        with self._transaction(f"reading the owner of {account_id}") as session:
            row = session.scalars(
                select(OwnershipRow)
                .where(OwnershipRow.account_id == account_id, OwnershipRow.valid_to.is_(None))
                .order_by(OwnershipRow.valid_from.desc(), OwnershipRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _ownership_from_row(row)

    def current_ownerships(self) -> dict[str, OwnershipRecord]:
        """Open ownership period per account (for lists showing each owner and reason)."""
        with self._transaction("reading current owners") as session:
            rows = session.scalars(
                select(OwnershipRow)
                .where(OwnershipRow.valid_to.is_(None))
                .order_by(OwnershipRow.valid_from, OwnershipRow.id)
            )
            return {row.account_id: _ownership_from_row(row) for row in rows}

    def set_territory_segments(self, segments: Mapping[str, str]) -> None:
        """Set the segment of each named territory (others unchanged).

        Raises
        ------
        StorageError
            A named territory does not exist; nothing is changed then.
        """
        what = "setting territory segments"
        with self._transaction(what, write=True) as session:
            _set_segments(session, what, segments, self._clock())

    # ------------------------------------------------------------------ assignment rules

    def list_rules(self) -> list[AssignmentRule]:
        """The stored assignment rules in order (position 1 first)."""
        with self._transaction("reading assignment rules") as session:
            rows = list(
                session.scalars(select(AssignmentRuleRow).order_by(AssignmentRuleRow.position))
            )
            data = [row.data for row in rows]
        try:
            return list(parse_rules(data, source="database"))
        except InputError as exc:  # pragma: no cover - only rules that parsed are stored
            msg = f"stored assignment rules are unreadable: {exc}"
            raise StorageError(msg) from exc

    def replace_rules(
        self,
        rules: Sequence[AssignmentRule],
        *,
        user: str = "",
        segments: Mapping[str, str] | None = None,
    ) -> None:
        """Make the stored rules exactly ``rules``, in their ``position`` order, and (when
        given) set territory segments, in one transaction: all or nothing.

        Rules are stored as given; checking them against territories is
        :func:`routeplanner.assignment.validate_rules`, which callers run first.

        Raises
        ------
        StorageError
            Duplicate or over-long rule ids, duplicate positions, an unknown territory in
            ``segments``, or the database refuses the write.
        """
        what = "saving assignment rules"
        _check_ids(what, "rule_id", [r.rule_id for r in rules])
        positions = Counter(r.position for r in rules)
        doubled = sorted(p for p, n in positions.items() if n > 1)
        if doubled:
            msg = f"{what}: position {doubled[0]} is used by more than one rule"
            raise StorageError(msg)
        ordered = sorted(rules, key=lambda r: r.position)
        now = self._clock()
        with self._transaction(what, write=True) as session:
            if segments is not None:
                _set_segments(session, what, segments, now)
            session.execute(delete(AssignmentRuleRow))
            session.flush()
            if ordered:
                session.execute(
                    insert(AssignmentRuleRow),
                    [
                        {
                            "rule_id": rule.rule_id,
                            "position": k,
                            "enabled": rule.enabled,
                            "data": rule_to_data(rule),
                            "updated_at": now,
                            "updated_by": user,
                        }
                        for k, rule in enumerate(ordered, start=1)
                    ],
                )

    def reorder_rules(self, rule_ids: Sequence[str], *, user: str = "") -> list[AssignmentRule]:
        """Put the stored rules in the order of ``rule_ids`` (every stored id exactly once).

        Raises
        ------
        StorageError
            ``rule_ids`` is not a permutation of the stored ids (missing, unknown, repeated).
        """
        what = "reordering assignment rules"
        now = self._clock()
        with self._transaction(what, write=True) as session:
            rows = {row.rule_id: row for row in session.scalars(select(AssignmentRuleRow))}
            problems = [
                f"rule {r} appears {n} times" for r, n in Counter(rule_ids).items() if n > 1
            ]
            problems += [f"unknown rule {r}" for r in rule_ids if r not in rows]
            problems += [f"rule {r} is missing" for r in sorted(rows.keys() - set(rule_ids))]
            if problems:
                raise StorageError(f"{what}: " + "; ".join(problems))
            kept = [
                (r, rows[r].enabled, rows[r].data, rows[r].updated_at, rows[r].updated_by)
                for r in rule_ids
            ]
            session.execute(delete(AssignmentRuleRow))
            session.flush()
            if kept:
                session.execute(
                    insert(AssignmentRuleRow),
                    [
                        {
                            "rule_id": rule_id,
                            "position": k,
                            "enabled": enabled,
                            "data": data,
                            "updated_at": now if rows[rule_id].position != k else at,
                            "updated_by": user if rows[rule_id].position != k else by,
                        }
                        for k, (rule_id, enabled, data, at, by) in enumerate(kept, start=1)
                    ],
                )
        return self.list_rules()

    def apply_assignment(
        self,
        decisions: Sequence[Decision],
        *,
        user: str = "",
        cause: OwnershipCause | str | None = None,
    ) -> int:
        """Move accounts as decided, with one ownership record per moved account, in ONE
        transaction; returns how many accounts moved.

        Only decisions that change the owner are applied. Each new ownership period records the
        decision's reason as detail and ``cause`` (default per decision: a lock is ``manual``,
        a rule or best fit ``rule``; an import passes ``import``).

        Raises
        ------
        ConflictError
            An account's territory is no longer the one the decision started from (someone
            changed it since the dry run: run it again; a web layer answers 409).
        StorageError
            An account or territory does not exist. Nothing is changed in either case.
        """
        what = "applying the assignment"
        fixed = None if cause is None else _ownership_cause(what, cause)
        moves = [d for d in decisions if d.changed]
        _check_ids(what, "account_id", [d.account_id for d in moves])
        if not moves:
            return 0
        with self._transaction(what, write=True) as session:
            _apply_moves(session, moves, fixed, user, what, self._clock())
        return len(moves)

    def import_accounts_and_assign(
        self,
        accounts: Sequence[Account],
        decisions: Sequence[Decision],
        *,
        source: str,
        user: str = "",
    ) -> tuple[ImportSummary, int]:
        """:meth:`upsert_accounts` and :meth:`apply_assignment` (cause ``import``) in ONE
        transaction, so an import never leaves new accounts without their territory."""
        what = f"import of accounts from {source}"
        ids = [a.account_id for a in accounts]
        _check_ids(what, "account_id", ids)
        moves = [d for d in decisions if d.changed]
        _check_ids(what, "account_id", [d.account_id for d in moves])
        now = self._clock()
        with self._transaction(what, write=True, data=True) as session:
            old = _load_by_ids(session, AccountRow, AccountRow.account_id, ids)
            added, changed, same = _upsert_accounts(session, accounts, old, source=source, now=now)
            if moves:
                session.flush()
                _apply_moves(session, moves, OwnershipCause.IMPORT, user, what, now)
        summary = ImportSummary(
            accounts_added=added, accounts_changed=changed, accounts_unchanged=same
        )
        return summary, len(moves)

    # ------------------------------------------------------------------ plans

    def start_plan(
        self, horizon: Horizon, meta: Mapping[str, str] | None = None, *, user: str = ""
    ) -> int:
        """Register a running plan version (not current, invisible to readers); returns its id."""
        with self._transaction("starting a plan", write=True) as session:
            row = PlanRow(
                created_at=self._clock(),
                finished_at=None,
                horizon_start=horizon.start,
                horizon_weeks=horizon.weeks,
                horizon_tz=horizon.timezone,
                status=PlanStatus.RUNNING.value,
                is_current=None,
                progress=0.0,
                message="",
                error="",
                meta=dict(meta or {}),
                created_by=user,
            )
            session.add(row)
            session.flush()
            return row.id

    def update_plan_progress(self, plan_id: int, fraction: float, message: str = "") -> None:
        """Record how far a running plan is (0..1) and what it is doing, for progress bars."""
        if not 0.0 <= fraction <= 1.0:
            msg = f"plan progress must be within 0..1, got {fraction}"
            raise ValueError(msg)
        what = f"updating progress of plan {plan_id}"
        with self._transaction(what, write=True) as session:
            row = _running_plan(session, what, plan_id)
            row.progress = fraction
            row.message = message

    def complete_plan(self, plan_id: int, plan: Plan) -> None:
        """Store the plan's routes and unassigned visits and make it the current version.

        One transaction: until it commits, readers see the previous current plan; afterwards
        the whole new one. The previous version stays stored and readable by its id.
        ``plan.meta`` is added to the meta given at start; ``plan.created_at``, when set,
        replaces the start time.
        """
        what = f"storing plan {plan_id}"
        _check_plan_ids(what, plan)
        with self._transaction(what, write=True) as session:
            _serialise_plan_switches(session)
            row = _running_plan(session, what, plan_id, lock=True)
            row.routes = [_route_row(plan_id, i, route) for i, route in enumerate(plan.routes)]
            row.unassigned = [
                PlanUnassignedRow(
                    position=i,
                    visit_id=u.visit_id,
                    account_id=u.account_id,
                    reason=u.reason.value,
                    detail=u.detail,
                    day=u.day,
                )
                for i, u in enumerate(plan.unassigned)
            ]
            previous = session.scalars(
                select(PlanRow).where(PlanRow.is_current.is_(True)).with_for_update()
            ).all()
            for old in previous:
                old.is_current = None
            # Clear the old flag before setting the new one: the unique constraint on
            # is_current is checked per statement and the flush orders updates by id.
            session.flush()
            row.status = PlanStatus.COMPLETE.value
            row.is_current = True
            row.finished_at = self._clock()
            row.progress = 1.0
            row.message = ""
            row.meta = {**row.meta, **plan.meta}
            if plan.created_at is not None:
                row.created_at = plan.created_at

    def fail_plan(self, plan_id: int, error: str) -> None:
        """Mark a running plan failed; the current plan stays current."""
        what = f"marking plan {plan_id} failed"
        with self._transaction(what, write=True) as session:
            row = _running_plan(session, what, plan_id, lock=True)
            row.status = PlanStatus.FAILED.value
            row.error = error
            row.finished_at = self._clock()

    def fail_running_plans(self, error: str, *, plan_ids: Collection[int] | None = None) -> int:
        """Mark running plans failed (all, or those of ``plan_ids``), e.g. at start-up after a
        crash; returns how many. Plans that finished meanwhile are left alone."""
        query = select(PlanRow).where(PlanRow.status == PlanStatus.RUNNING.value)
        if plan_ids is not None:
            query = query.where(PlanRow.id.in_(sorted(set(plan_ids))))
        with self._transaction("failing interrupted plans", write=True) as session:
            rows = session.scalars(query.with_for_update()).all()
            for row in rows:
                row.status = PlanStatus.FAILED.value
                row.error = error
                row.finished_at = self._clock()
            return len(rows)

    def current_plan(self) -> tuple[int, Plan] | None:
        """The current plan version with its id, or ``None`` before the first complete plan."""
        with self._transaction("reading the current plan") as session:
            row = session.scalars(
                select(PlanRow).options(*_PLAN_LOADING).where(PlanRow.is_current.is_(True))
            ).first()
            return None if row is None else (row.id, _plan_from_row(row))

    def current_plan_id(self) -> int | None:
        """Id of the current plan version without loading it (cheap: cache keys, polling)."""
        with self._transaction("reading the current plan id") as session:
            return session.scalars(select(PlanRow.id).where(PlanRow.is_current.is_(True))).first()

    def get_plan(self, plan_id: int) -> Plan:
        """A complete plan version by id (current or not).

        Raises
        ------
        StorageError
            No such plan, or it is still running or failed (and so has no routes).
        """
        what = f"reading plan {plan_id}"
        with self._transaction(what) as session:
            row = session.scalars(
                select(PlanRow).options(*_PLAN_LOADING).where(PlanRow.id == plan_id)
            ).first()
            if row is None:
                msg = f"{what}: no such plan"
                raise StorageError(msg)
            if row.status != PlanStatus.COMPLETE.value:
                msg = f"{what}: the plan is {row.status}, not complete"
                raise StorageError(msg)
            return _plan_from_row(row)

    def plan_info(self, plan_id: int) -> PlanInfo:
        what = f"reading plan {plan_id}"
        with self._transaction(what) as session:
            row = session.get(PlanRow, plan_id)
            if row is None:
                msg = f"{what}: no such plan"
                raise StorageError(msg)
            return _plan_info(row)

    def list_plans(self) -> list[PlanInfo]:
        """All plan versions, newest first."""
        with self._transaction("listing plans") as session:
            return [
                _plan_info(row)
                for row in session.scalars(select(PlanRow).order_by(PlanRow.id.desc()))
            ]

    def delete_plan(self, plan_id: int) -> None:
        """Delete an old plan version; the current one cannot be deleted."""
        what = f"deleting plan {plan_id}"
        with self._transaction(what, write=True) as session:
            row = session.get(PlanRow, plan_id)
            if row is None:
                msg = f"{what}: no such plan"
                raise StorageError(msg)
            if row.is_current:
                msg = f"{what}: it is the current plan"
                raise StorageError(msg)
            session.delete(row)

    # ------------------------------------------------------------------ visit records

    def record_visit(self, record: VisitRecord) -> int:
        """Store what happened at a visit; ``recorded_at`` defaults to now. Returns the id."""
        what = f"recording the visit of {record.account_id} on {record.day.isoformat()}"
        _check_ids(what, "account_id", [record.account_id])
        _check_ids(what, "rep_id", [record.rep_id])
        _check_ids(what, "visit_id", [record.visit_id])
        with self._transaction(what, write=True) as session:
            row = VisitRecordRow(
                visit_id=record.visit_id,
                account_id=record.account_id,
                rep_id=record.rep_id,
                day=record.day,
                status=record.status.value,
                actual_start=record.actual_start,
                note=record.note,
                recorded_at=record.recorded_at or self._clock(),
                recorded_by=record.recorded_by,
            )
            session.add(row)
            session.flush()
            return row.id

    def visit_records(
        self,
        *,
        account_id: str | None = None,
        rep_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        account_ids: Collection[str] | None = None,
    ) -> list[VisitRecord]:
        """Visit records matching every given filter (``start``/``end`` inclusive), by day and
        then in the order they were recorded. ``account_ids`` (at most a few hundred, such as
        one day's stops) narrows to those accounts."""
        query = select(VisitRecordRow)
        if account_id is not None:
            query = query.where(VisitRecordRow.account_id == account_id)
        if account_ids is not None:
            query = query.where(VisitRecordRow.account_id.in_(sorted(set(account_ids))))
        if rep_id is not None:
            query = query.where(VisitRecordRow.rep_id == rep_id)
        if start is not None:
            query = query.where(VisitRecordRow.day >= start)
        if end is not None:
            query = query.where(VisitRecordRow.day <= end)
        query = query.order_by(VisitRecordRow.day, VisitRecordRow.recorded_at, VisitRecordRow.id)
        with self._transaction("reading visit records") as session:
            return [
                VisitRecord(
                    account_id=row.account_id,
                    rep_id=row.rep_id,
                    day=row.day,
                    status=VisitStatus(row.status),
                    visit_id=row.visit_id,
                    actual_start=row.actual_start,
                    note=row.note,
                    recorded_at=row.recorded_at,
                    recorded_by=row.recorded_by,
                )
                for row in session.scalars(query)
            ]

    # ------------------------------------------------------------------ users and tokens

    def create_user(
        self,
        username: str,
        password_hash: str,
        *,
        role: UserRole | str,
        rep_id: str | None = None,
        active: bool = True,
    ) -> UserRecord:
        """Add a web user. ``password_hash`` comes hashed from the caller; a rep needs a rep_id.

        Raises
        ------
        StorageError
            The username is empty or taken, the role is unknown or a rep has no rep_id.
        """
        what = f"creating user {username!r}"
        role = _user_role(what, role)
        _check_user(what, username, role, rep_id)
        with self._transaction(what, write=True) as session:
            taken = select(UserRow.id).where(UserRow.username == username)
            if session.scalars(taken).first() is not None:
                msg = f"{what}: the username is already taken"
                raise StorageError(msg)
            row = UserRow(
                username=username,
                password_hash=password_hash,
                role=role.value,
                rep_id=rep_id,
                active=active,
                created_at=self._clock(),
            )
            session.add(row)
            session.flush()
            return _user_from_row(row)

    def get_user(self, user_id: int) -> UserRecord | None:
        with self._transaction(f"reading user {user_id}") as session:
            row = session.get(UserRow, user_id)
            return None if row is None else _user_from_row(row)

    def find_user(self, username: str) -> UserRecord | None:
        with self._transaction(f"reading user {username!r}") as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _user_from_row(row)

    def list_users(self) -> list[UserRecord]:
        with self._transaction("listing users") as session:
            rows = session.scalars(select(UserRow).order_by(UserRow.username))
            return [_user_from_row(row) for row in rows]

    def update_user(
        self,
        user_id: int,
        *,
        password_hash: str | None = None,
        role: UserRole | str | None = None,
        rep_id: str | _Keep | None = KEEP,
        active: bool | None = None,
    ) -> UserRecord:
        """Change the given fields (``None`` or ``KEEP`` leaves a field alone)."""
        what = f"updating user {user_id}"
        with self._transaction(what, write=True) as session:
            row = session.get(UserRow, user_id)
            if row is None:
                msg = f"{what}: no such user"
                raise StorageError(msg)
            new_role = UserRole(row.role) if role is None else _user_role(what, role)
            new_rep = row.rep_id if isinstance(rep_id, _Keep) else rep_id
            _check_user(what, row.username, new_role, new_rep)
            row.role = new_role.value
            row.rep_id = new_rep
            if password_hash is not None:
                row.password_hash = password_hash
            if active is not None:
                row.active = active
            session.flush()
            return _user_from_row(row)

    def delete_user(self, user_id: int) -> None:
        """Delete a user and their tokens."""
        what = f"deleting user {user_id}"
        with self._transaction(what, write=True) as session:
            row = session.get(UserRow, user_id)
            if row is None:
                msg = f"{what}: no such user"
                raise StorageError(msg)
            session.execute(delete(TokenRow).where(TokenRow.user_id == user_id))
            session.delete(row)

    def create_token(
        self, user_id: int, kind: TokenKind | str, token_hash: str, *, label: str = ""
    ) -> TokenRecord:
        """Store the hash (see :func:`hash_token`) of a new token for a user."""
        what = f"creating a token for user {user_id}"
        try:
            kind = TokenKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in TokenKind)
            msg = f"{what}: unknown token kind {kind!r} (use {known})"
            raise StorageError(msg) from None
        with self._transaction(what, write=True) as session:
            if session.get(UserRow, user_id) is None:
                msg = f"{what}: no such user"
                raise StorageError(msg)
            row = TokenRow(
                kind=kind.value,
                token_hash=token_hash,
                user_id=user_id,
                label=label,
                created_at=self._clock(),
                revoked_at=None,
            )
            session.add(row)
            session.flush()
            return _token_from_row(row)

    def find_token(
        self, token_hash: str, kind: TokenKind | str
    ) -> tuple[TokenRecord, UserRecord] | None:
        """The active token with this hash and kind and its active user, else ``None``."""
        with self._transaction("checking a token") as session:
            found = session.execute(
                select(TokenRow, UserRow)
                .join(UserRow, UserRow.id == TokenRow.user_id)
                .where(
                    TokenRow.token_hash == token_hash,
                    TokenRow.kind == TokenKind(kind).value,
                    TokenRow.revoked_at.is_(None),
                    UserRow.active.is_(True),
                )
            ).first()
            if found is None:
                return None
            token, user = found.tuple()
            return _token_from_row(token), _user_from_row(user)

    def list_tokens(self, user_id: int) -> list[TokenRecord]:
        with self._transaction(f"listing tokens of user {user_id}") as session:
            rows = session.scalars(
                select(TokenRow).where(TokenRow.user_id == user_id).order_by(TokenRow.id)
            )
            return [_token_from_row(row) for row in rows]

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token; revoking twice keeps the first revocation time."""
        what = f"revoking token {token_id}"
        with self._transaction(what, write=True) as session:
            row = session.get(TokenRow, token_id)
            if row is None:
                msg = f"{what}: no such token"
                raise StorageError(msg)
            if row.revoked_at is None:
                row.revoked_at = self._clock()

    # ------------------------------------------------------------------ calendar feeds

    def feed_infos(self, rep_ids: Sequence[str]) -> dict[str, FeedInfo]:
        """Feed state of those reps that have one (a rep never fed is missing)."""
        with self._transaction("reading calendar feed state") as session:
            found: dict[str, FeedInfo] = {}
            for chunk in _chunks(list(rep_ids)):
                query = select(CalendarFeedRow).where(CalendarFeedRow.rep_id.in_(chunk))
                for row in session.scalars(query):
                    found[row.rep_id] = FeedInfo(
                        rep_id=row.rep_id,
                        plan_id=row.plan_id,
                        version=row.version,
                        updated_at=row.updated_at,
                    )
            return found

    def feed_entries(self, rep_ids: Sequence[str]) -> list[FeedEntry]:
        """Published calendar events of these reps, ordered by (day, rep, account, uid)."""
        with self._transaction("reading calendar feed entries") as session:
            entries: list[FeedEntry] = []
            for chunk in _chunks(list(rep_ids)):
                query = select(CalendarEntryRow).where(CalendarEntryRow.rep_id.in_(chunk))
                entries += [_feed_entry_from_row(row) for row in session.scalars(query)]
            entries.sort(key=lambda e: (e.day, e.rep_id, e.account_id, e.uid))
            return entries

    def save_feed(
        self,
        rep_id: str,
        plan_id: int,
        entries: Sequence[FeedEntry],
        *,
        expected_version: int,
    ) -> int | None:
        """Replace a rep's feed entries after reconciling with ``plan_id``; one transaction.

        Optimistic: when the stored version is no longer ``expected_version`` (0 = no feed yet),
        another request reconciled first and nothing is written (returns ``None``); otherwise
        returns the new version.
        """
        what = f"storing the calendar feed of rep {rep_id}"
        _check_ids(what, "uid", [e.uid for e in entries])
        if any(e.rep_id != rep_id for e in entries):
            msg = f"{what}: every entry must belong to rep {rep_id}"
            raise StorageError(msg)
        with self._transaction(what, write=True) as session:
            row = session.get(CalendarFeedRow, rep_id, with_for_update=True)
            version = 0 if row is None else row.version
            if version != expected_version:
                return None
            if row is None:
                row = CalendarFeedRow(rep_id=rep_id, version=0, updated_at=self._clock())
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    return None  # a concurrent first reconcile inserted the row first
            row.plan_id = plan_id
            row.version = version + 1
            row.updated_at = self._clock()
            session.execute(delete(CalendarEntryRow).where(CalendarEntryRow.rep_id == rep_id))
            if entries:
                session.execute(
                    insert(CalendarEntryRow),
                    [
                        {
                            "rep_id": e.rep_id,
                            "account_id": e.account_id,
                            "uid": e.uid,
                            "day": e.day,
                            "sequence": e.sequence,
                            "status": e.status.value,
                            "content_hash": e.content_hash,
                            "content": dict(e.content),
                            "modified_at": e.modified_at,
                            "cancelled_at": e.cancelled_at,
                        }
                        for e in entries
                    ],
                )
            return row.version


# ---------------------------------------------------------------------- validation helpers


def _check_ids(what: str, field: str, ids: Iterable[str]) -> None:
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


def _check_plan_ids(what: str, plan: Plan) -> None:
    long_ids = [
        value
        for route in plan.routes
        for value in (route.rep_id, *(x for s in route.stops for x in (s.visit_id, s.account_id)))
        if len(value) > ID_LENGTH
    ]
    long_ids += [
        value
        for u in plan.unassigned
        for value in (u.visit_id, u.account_id)
        if len(value) > ID_LENGTH
    ]
    if long_ids:
        msg = f"{what}: id {long_ids[0][:40]!r}... is longer than {ID_LENGTH} characters"
        raise StorageError(msg)


def _check_references(session: Session, what: str, territories: Sequence[Territory]) -> None:
    """Name unknown accounts and reps; the foreign keys would only say "constraint failed"."""
    account_ids = sorted({a for t in territories for a in t.account_ids})
    known: set[str] = set()
    for chunk in _chunks(account_ids):
        known.update(
            session.scalars(select(AccountRow.account_id).where(AccountRow.account_id.in_(chunk)))
        )
    rep_ids = sorted({t.rep_id for t in territories if t.rep_id is not None})
    known_reps = set(session.scalars(select(RepRow.rep_id).where(RepRow.rep_id.in_(rep_ids))))
    problems: list[str] = []
    for t in territories:
        unknown = [a for a in t.account_ids if a not in known]
        if unknown:
            problems.append(f"territory {t.territory_id}: unknown account(s) {', '.join(unknown)}")
        if t.rep_id is not None and t.rep_id not in known_reps:
            problems.append(f"territory {t.territory_id}: unknown rep {t.rep_id}")
    if problems:
        raise StorageError(f"{what}: " + "; ".join(problems))


def _ownership_cause(what: str, cause: OwnershipCause | str) -> OwnershipCause:
    try:
        return OwnershipCause(cause)
    except ValueError:
        known = ", ".join(c.value for c in OwnershipCause)
        msg = f"{what}: unknown cause {cause!r} (use {known})"
        raise StorageError(msg) from None


def _user_role(what: str, role: UserRole | str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        known = ", ".join(r.value for r in UserRole)
        msg = f"{what}: unknown role {role!r} (use {known})"
        raise StorageError(msg) from None


def _check_user(what: str, username: str, role: UserRole, rep_id: str | None) -> None:
    if not username.strip():
        msg = f"{what}: the username must not be empty"
        raise StorageError(msg)
    if len(username) > ID_LENGTH:
        msg = f"{what}: the username is longer than {ID_LENGTH} characters"
        raise StorageError(msg)
    if role is UserRole.REP and not rep_id:
        msg = f"{what}: a user with role rep needs a rep_id"
        raise StorageError(msg)


def _integrity_detail(exc: IntegrityError) -> str:
    """The driver's constraint message plus PostgreSQL's DETAIL line when it names the key.

    Other DETAIL lines (a failed CHECK) echo the whole row, personal data included, so they are
    left out of a message that may reach a log or a browser.
    """
    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    detail = [line for line in lines[1:] if line.startswith("DETAIL:") and "Key (" in line]
    return " ".join(lines[:1] + detail) or type(exc).__name__


# ---------------------------------------------------------------------- conversions


def _hours_to_json(hours: WeeklyHours) -> list[list[list[int]]]:
    return [[[w.start_s, w.end_s] for w in day] for day in hours.days]


def _hours_from_json(data: Any) -> WeeklyHours:
    return WeeklyHours(tuple(tuple(TimeWindow(int(s), int(e)) for s, e in day) for day in data))


def _apply_moves(
    session: Session,
    moves: Sequence[Decision],
    fixed: OwnershipCause | None,
    user: str,
    what: str,
    now: datetime,
) -> None:
    """Move accounts as decided inside ``session`` (see :meth:`Repository.apply_assignment`)."""
    ids = [d.account_id for d in moves]
    known: set[str] = set()
    for chunk in _chunks(sorted(ids)):
        known.update(
            session.scalars(select(AccountRow.account_id).where(AccountRow.account_id.in_(chunk)))
        )
    territories = {row.territory_id: row.rep_id for row in session.scalars(select(TerritoryRow))}
    current: dict[str, str] = {}
    for chunk in _chunks(sorted(ids)):
        current.update(
            session.execute(
                select(TerritoryAccountRow.account_id, TerritoryAccountRow.territory_id).where(
                    TerritoryAccountRow.account_id.in_(chunk)
                )
            )
            .tuples()
            .all()
        )
    problems = [f"unknown account {d.account_id}" for d in moves if d.account_id not in known]
    problems += [
        f"unknown territory {d.territory_id} (account {d.account_id})"
        for d in moves
        if d.territory_id not in territories
    ]
    stale = [d.account_id for d in moves if current.get(d.account_id) != d.previous_territory_id]
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        problems.append(
            f"account(s) {shown} changed territory since the assignment was computed; "
            "compute it again"
        )
    if problems:
        error = ConflictError if stale and len(problems) == 1 else StorageError
        raise error(f"{what}: " + "; ".join(problems))
    for chunk in _chunks(ids):
        session.execute(
            delete(TerritoryAccountRow).where(TerritoryAccountRow.account_id.in_(chunk))
        )
    targets = sorted({d.territory_id for d in moves if d.territory_id is not None})
    last = dict(
        session.execute(
            select(TerritoryAccountRow.territory_id, func.max(TerritoryAccountRow.position))
            .where(TerritoryAccountRow.territory_id.in_(targets))
            .group_by(TerritoryAccountRow.territory_id)
        )
        .tuples()
        .all()
    )
    rows = []
    for d in moves:
        assert d.territory_id is not None
        previous = last.get(d.territory_id)
        position = 0 if previous is None else previous + 1
        last[d.territory_id] = position
        rows.append(
            {
                "account_id": d.account_id,
                "territory_id": d.territory_id,
                "position": position,
            }
        )
    session.execute(insert(TerritoryAccountRow), rows)
    session.execute(
        update(TerritoryRow).where(TerritoryRow.territory_id.in_(targets)).values(updated_at=now)
    )
    per_account = {d.account_id: (fixed or _decision_cause(d.cause), d.reason) for d in moves}
    _sync_ownership(session, now, fixed or OwnershipCause.RULE, user, what, per_account=per_account)


def _account_values(account: Account) -> dict[str, Any]:
    """Column values of an account (module-level so a test can make an import fail midway)."""
    rule = account.visit_rule
    return {
        "name": account.name,
        "lat": account.location.lat,
        "lon": account.location.lon,
        "rule_kind": rule.kind.value,
        "interval_days": rule.interval_days,
        "count": rule.count,
        "period_days": rule.period_days,
        "min_gap_days": rule.min_gap_days,
        "max_gap_days": rule.max_gap_days,
        "visit_duration_s": account.visit_duration_s,
        "opening_hours": _hours_to_json(account.opening_hours),
        "address": account.address,
        "category": account.category,
        "value_class": account.value_class,
        "preferred_weekdays": sorted(account.preferred_weekdays),
        "forbidden_weekdays": sorted(account.forbidden_weekdays),
        "last_visit": account.last_visit,
        "notes": account.notes,
        "contact": account.contact,
        "phone": account.phone,
        "tags": sorted(account.tags),
        "postcode": account.postcode,
        "locked_rep_id": account.locked_rep_id,
        "required_qualifications": sorted(account.required_qualifications),
    }


def _account_from_row(row: AccountRow) -> Account:
    return Account(
        account_id=row.account_id,
        name=row.name,
        location=GeoPoint(row.lat, row.lon),
        visit_rule=VisitRule(
            kind=FrequencyKind(row.rule_kind),
            interval_days=row.interval_days,
            count=row.count,
            period_days=row.period_days,
            min_gap_days=row.min_gap_days,
            max_gap_days=row.max_gap_days,
        ),
        visit_duration_s=row.visit_duration_s,
        opening_hours=_hours_from_json(row.opening_hours),
        address=row.address,
        category=row.category,
        value_class=row.value_class,
        preferred_weekdays=frozenset(int(d) for d in row.preferred_weekdays),
        forbidden_weekdays=frozenset(int(d) for d in row.forbidden_weekdays),
        last_visit=row.last_visit,
        notes=row.notes,
        contact=row.contact,
        phone=row.phone,
        tags=frozenset(str(t) for t in row.tags),
        postcode=row.postcode,
        locked_rep_id=row.locked_rep_id,
        required_qualifications=frozenset(str(q) for q in row.required_qualifications),
    )


def _rep_values(rep: Rep) -> dict[str, Any]:
    lunch = rep.lunch
    return {
        "name": rep.name,
        "home_lat": rep.home.lat,
        "home_lon": rep.home.lon,
        "working_hours": _hours_to_json(rep.working_hours),
        "home_address": rep.home_address,
        "lunch_start_s": None if lunch is None else lunch.window.start_s,
        "lunch_end_s": None if lunch is None else lunch.window.end_s,
        "lunch_duration_s": None if lunch is None else lunch.duration_s,
        "days_off": sorted(d.isoformat() for d in rep.days_off),
        "max_visits_per_day": rep.max_visits_per_day,
        "max_drive_s": rep.max_drive_s,
        "email": rep.email,
        "qualifications": sorted(rep.qualifications),
    }


def _rep_from_row(row: RepRow) -> Rep:
    lunch = None
    if row.lunch_start_s is not None and row.lunch_end_s is not None:
        lunch = LunchBreak(
            window=TimeWindow(row.lunch_start_s, row.lunch_end_s),
            duration_s=row.lunch_duration_s or 0,
        )
    return Rep(
        rep_id=row.rep_id,
        name=row.name,
        home=GeoPoint(row.home_lat, row.home_lon),
        working_hours=_hours_from_json(row.working_hours),
        home_address=row.home_address,
        lunch=lunch,
        days_off=frozenset(date.fromisoformat(d) for d in row.days_off),
        max_visits_per_day=row.max_visits_per_day,
        max_drive_s=row.max_drive_s,
        email=row.email,
        qualifications=frozenset(str(q) for q in row.qualifications),
    )


_D = TypeVar("_D", Account, Rep)
_R = TypeVar("_R", AccountRow, RepRow)


def _upsert(
    session: Session,
    items: Sequence[_D],
    old: Mapping[str, _R],
    *,
    row_type: type[_R],
    id_field: str,
    values: Callable[[_D], dict[str, Any]],
    from_row: Callable[[_R], _D],
    source: str,
    now: datetime,
) -> tuple[int, int, int]:
    """Insert or update domain objects; returns (added, changed, unchanged).

    An unchanged object keeps its row untouched (no new ``updated_at``), so re-importing the
    same file reports "unchanged" and leaves the audit columns alone.
    """
    added = changed = same = 0
    for item in items:
        item_id: str = getattr(item, id_field)
        fields = values(item)
        row = old.get(item_id)
        if row is None:
            session.add(row_type(**{id_field: item_id}, source=source, updated_at=now, **fields))
            added += 1
        elif from_row(row) == item:
            same += 1
        else:
            for key, value in fields.items():
                setattr(row, key, value)
            row.source = source
            row.updated_at = now
            changed += 1
    session.flush()
    return added, changed, same


def _upsert_accounts(
    session: Session,
    accounts: Sequence[Account],
    old: Mapping[str, AccountRow],
    *,
    source: str,
    now: datetime,
) -> tuple[int, int, int]:
    return _upsert(
        session,
        accounts,
        old,
        row_type=AccountRow,
        id_field="account_id",
        values=_account_values,
        from_row=_account_from_row,
        source=source,
        now=now,
    )


def _upsert_reps(
    session: Session,
    reps: Sequence[Rep],
    old: Mapping[str, RepRow],
    *,
    source: str,
    now: datetime,
) -> tuple[int, int, int]:
    return _upsert(
        session,
        reps,
        old,
        row_type=RepRow,
        id_field="rep_id",
        values=_rep_values,
        from_row=_rep_from_row,
        source=source,
        now=now,
    )


def _load_by_ids(
    session: Session, table: type[_T], column: Any, ids: Sequence[str]
) -> dict[str, _T]:
    found: dict[str, _T] = {}
    for chunk in _chunks(sorted(set(ids))):
        for row in session.scalars(select(table).where(column.in_(chunk))):
            found[getattr(row, column.key)] = row
    return found


def _sync_ownership(
    session: Session,
    now: datetime,
    cause: OwnershipCause,
    user: str,
    detail: str,
    *,
    per_account: Mapping[str, tuple[OwnershipCause, str]] | None = None,
) -> None:
    """Make the open ownership periods match the current territories.

    Comparing the stored state with the open history rows (instead of tracking each move by
    hand) means every writer - import, territory save, account deletion - records history the
    same way, and an account whose owner did not change keeps its period untouched.
    ``per_account`` gives some accounts their own cause and detail (an assignment records each
    account's reason).
    """
    special = per_account or {}
    session.flush()
    current = {
        account_id: (territory_id, rep_id)
        for account_id, territory_id, rep_id in session.execute(
            select(
                TerritoryAccountRow.account_id,
                TerritoryAccountRow.territory_id,
                TerritoryRow.rep_id,
            ).join(TerritoryRow, TerritoryRow.territory_id == TerritoryAccountRow.territory_id)
        ).tuples()
    }
    kept: set[str] = set()
    for row in session.scalars(select(OwnershipRow).where(OwnershipRow.valid_to.is_(None))):
        holds = current.get(row.account_id) == (row.territory_id, row.rep_id)
        if holds and row.account_id not in kept:
            kept.add(row.account_id)
            continue
        row.valid_to = now
        row.ended_cause = special.get(row.account_id, (cause, ""))[0].value
        row.ended_by = user
    session.add_all(
        OwnershipRow(
            account_id=account_id,
            territory_id=territory_id,
            rep_id=rep_id,
            valid_from=now,
            valid_to=None,
            cause=special.get(account_id, (cause, detail))[0].value,
            detail=special.get(account_id, (cause, detail))[1],
            changed_by=user,
            ended_cause=None,
            ended_by="",
        )
        for account_id, (territory_id, rep_id) in sorted(current.items())
        if account_id not in kept
    )
    session.flush()


def _decision_cause(cause: DecisionCause) -> OwnershipCause:
    """History cause of a decision: a lock is a manager's manual choice, the rest the rules'."""
    return OwnershipCause.MANUAL if cause is DecisionCause.LOCK else OwnershipCause.RULE


def _set_segments(session: Session, what: str, segments: Mapping[str, str], now: datetime) -> None:
    rows = {row.territory_id: row for row in session.scalars(select(TerritoryRow))}
    unknown = sorted(set(segments) - rows.keys())
    if unknown:
        msg = f"{what}: unknown territory {', '.join(unknown)} in segments"
        raise StorageError(msg)
    for territory_id, segment in segments.items():
        row = rows[territory_id]
        if row.segment != segment:
            row.segment = segment
            row.updated_at = now


def _ownership_from_row(row: OwnershipRow) -> OwnershipRecord:
    return OwnershipRecord(
        account_id=row.account_id,
        territory_id=row.territory_id,
        rep_id=row.rep_id,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        cause=OwnershipCause(row.cause),
        detail=row.detail,
        changed_by=row.changed_by,
        ended_cause=None if row.ended_cause is None else OwnershipCause(row.ended_cause),
        ended_by=row.ended_by,
    )


def _serialise_plan_switches(session: Session) -> None:
    """Let only one transaction at a time move the current-plan flag.

    On PostgreSQL two concurrent completions would both find the same old current plan, and
    the second would then hit the unique constraint; a transaction-scoped advisory lock makes
    the second wait and then see the first one's result. SQLite needs nothing: write
    transactions begin IMMEDIATE, so writers are serialised already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PLAN_SWITCH_LOCK})


def _running_plan(session: Session, what: str, plan_id: int, *, lock: bool = False) -> PlanRow:
    row = session.get(PlanRow, plan_id, with_for_update=lock)
    if row is None:
        msg = f"{what}: no such plan"
        raise StorageError(msg)
    if row.status != PlanStatus.RUNNING.value:
        msg = f"{what}: the plan is {row.status}, not running"
        raise StorageError(msg)
    return row


def _route_row(plan_id: int, position: int, route: DayRoute) -> PlanRouteRow:
    return PlanRouteRow(
        position=position,
        rep_id=route.rep_id,
        day=route.day,
        start_s=route.start_s,
        end_s=route.end_s,
        travel_s=route.travel_s,
        distance_m=route.distance_m,
        break_start_s=route.break_start_s,
        break_duration_s=route.break_duration_s,
        stops=[
            PlanStopRow(
                plan_id=plan_id,
                position=i,
                day=route.day,
                rep_id=route.rep_id,
                visit_id=stop.visit_id,
                account_id=stop.account_id,
                arrival_s=stop.arrival_s,
                start_s=stop.start_s,
                departure_s=stop.departure_s,
                travel_s=stop.travel_s,
                distance_m=stop.distance_m,
                wait_s=stop.wait_s,
                violations=list(stop.violations),
            )
            for i, stop in enumerate(route.stops)
        ],
    )


_PLAN_LOADING = (
    selectinload(PlanRow.routes).selectinload(PlanRouteRow.stops),
    selectinload(PlanRow.unassigned),
)
"""Load a plan's routes, stops and unassigned visits in three queries, not one per route."""


def _plan_from_row(row: PlanRow) -> Plan:
    return Plan(
        routes=tuple(
            DayRoute(
                rep_id=r.rep_id,
                day=r.day,
                start_s=r.start_s,
                end_s=r.end_s,
                stops=tuple(
                    Stop(
                        visit_id=s.visit_id,
                        account_id=s.account_id,
                        arrival_s=s.arrival_s,
                        start_s=s.start_s,
                        departure_s=s.departure_s,
                        travel_s=s.travel_s,
                        distance_m=s.distance_m,
                        wait_s=s.wait_s,
                        violations=tuple(str(v) for v in s.violations),
                    )
                    for s in r.stops
                ),
                travel_s=r.travel_s,
                distance_m=r.distance_m,
                break_start_s=r.break_start_s,
                break_duration_s=r.break_duration_s,
            )
            for r in row.routes
        ),
        unassigned=tuple(
            Unassigned(
                visit_id=u.visit_id,
                account_id=u.account_id,
                reason=UnassignedReason(u.reason),
                detail=u.detail,
                day=u.day,
            )
            for u in row.unassigned
        ),
        created_at=row.created_at,
        meta={str(k): str(v) for k, v in row.meta.items()},
    )


def _plan_info(row: PlanRow) -> PlanInfo:
    return PlanInfo(
        plan_id=row.id,
        horizon=Horizon(start=row.horizon_start, weeks=row.horizon_weeks, timezone=row.horizon_tz),
        status=PlanStatus(row.status),
        is_current=bool(row.is_current),
        created_at=row.created_at,
        finished_at=row.finished_at,
        progress=row.progress,
        message=row.message,
        error=row.error,
        meta={str(k): str(v) for k, v in row.meta.items()},
        created_by=row.created_by,
    )


def _user_from_row(row: UserRow) -> UserRecord:
    return UserRecord(
        user_id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        role=UserRole(row.role),
        rep_id=row.rep_id,
        active=row.active,
        created_at=row.created_at,
    )


def _token_from_row(row: TokenRow) -> TokenRecord:
    return TokenRecord(
        token_id=row.id,
        user_id=row.user_id,
        kind=TokenKind(row.kind),
        token_hash=row.token_hash,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _feed_entry_from_row(row: CalendarEntryRow) -> FeedEntry:
    return FeedEntry(
        rep_id=row.rep_id,
        account_id=row.account_id,
        uid=row.uid,
        day=row.day,
        sequence=row.sequence,
        status=FeedStatus(row.status),
        content_hash=row.content_hash,
        content={str(k): str(v) for k, v in dict(row.content).items()},
        modified_at=row.modified_at,
        cancelled_at=row.cancelled_at,
    )
