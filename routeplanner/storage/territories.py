"""Territories, their accounts and segments, and the history of who owned each account.

Every writer records ownership the same way (:meth:`TerritoryRepository.record_ownership`):
the open history periods are compared with the stored territories, periods that no longer
hold are closed and new ones opened, so an account whose owner did not change keeps its
period untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.orm import Session

from routeplanner.assignment.assign import Decision, DecisionCause
from routeplanner.errors import StaleStateError, StorageError
from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause, OwnershipRecord
from routeplanner.model.performance import FigureScope
from routeplanner.storage.common import AreaRepository, check_ids, chunks, in_scope
from routeplanner.storage.tables import (
    AccountRow,
    OwnershipRow,
    RepRow,
    TerritoryAccountRow,
    TerritoryRow,
)


class TerritoryRepository(AreaRepository):
    """Territories, membership, segments and ownership history (``tx.territories``)."""

    def all(self) -> list[Territory]:
        """Every territory by id, each with its accounts in their stored order."""
        with self._session("reading territories") as session:
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

    def save(
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
        what = self._what("saving territories")
        cause = _ownership_cause(what, cause)
        check_ids(what, "territory_id", [t.territory_id for t in territories])
        claimed = _claimed_accounts(what, territories)
        now = self._now()
        with self._session(what, write=True) as session:
            _check_references(session, what, territories)
            given = [t.territory_id for t in territories]
            old = {row.territory_id: row for row in session.scalars(select(TerritoryRow))}
            if replace_all:
                stale = sorted(old.keys() - set(given))
                for chunk in chunks(stale):
                    session.execute(
                        delete(TerritoryAccountRow).where(
                            TerritoryAccountRow.territory_id.in_(chunk)
                        )
                    )
                    session.execute(
                        delete(TerritoryRow).where(TerritoryRow.territory_id.in_(chunk))
                    )
            for chunk in chunks(given):
                session.execute(
                    delete(TerritoryAccountRow).where(TerritoryAccountRow.territory_id.in_(chunk))
                )
            for chunk in chunks(sorted(claimed)):
                session.execute(
                    delete(TerritoryAccountRow).where(TerritoryAccountRow.account_id.in_(chunk))
                )
            _write_territories(session, territories, old, now)
            _sync_ownership(session, now, cause, user, detail)

    def set_segments(self, segments: Mapping[str, str]) -> None:
        """Set the segment of each named territory (others unchanged).

        Raises
        ------
        StorageError
            A named territory does not exist; nothing is changed then.
        """
        what = self._what("setting territory segments")
        with self._session(what, write=True) as session:
            rows = {row.territory_id: row for row in session.scalars(select(TerritoryRow))}
            unknown = sorted(set(segments) - rows.keys())
            if unknown:
                msg = f"{what}: unknown territory {', '.join(unknown)} in segments"
                raise StorageError(msg)
            now = self._now()
            for territory_id, segment in segments.items():
                row = rows[territory_id]
                if row.segment != segment:
                    row.segment = segment
                    row.updated_at = now

    def apply_assignment(
        self,
        decisions: Sequence[Decision],
        *,
        user: str = "",
        cause: OwnershipCause | str | None = None,
    ) -> int:
        """Move accounts as decided, with one ownership record per moved account; returns how
        many accounts moved.

        Only decisions that change the owner are applied. Each new ownership period records the
        decision's reason as detail and ``cause`` (default per decision: a lock is ``manual``,
        a rule or best fit ``rule``; an import passes ``import``).

        Raises
        ------
        StaleStateError
            An account's territory is no longer the one the decision started from (someone
            changed it since the dry run: run it again; a web layer answers 409).
        StorageError
            An account or territory does not exist. Nothing is changed in either case.
        """
        what = self._what("applying the assignment")
        fixed = None if cause is None else _ownership_cause(what, cause)
        moves = [d for d in decisions if d.changed]
        check_ids(what, "account_id", [d.account_id for d in moves])
        if not moves:
            return 0
        now = self._now()
        with self._session(what, write=True) as session:
            _check_moves(session, what, moves)
            _move_accounts(session, moves, now)
            per_account = {
                d.account_id: (fixed or _decision_cause(d.cause), d.reason) for d in moves
            }
            _sync_ownership(
                session, now, fixed or OwnershipCause.RULE, user, what, per_account=per_account
            )
        return len(moves)

    def record_ownership(
        self, cause: OwnershipCause | str, *, user: str = "", detail: str = ""
    ) -> None:
        """Make the ownership history match the stored territories: periods that no longer
        hold end, new ones begin, stamped with ``cause``, ``user`` and ``detail``. Run it in
        the transaction that removed accounts or reps (territory writes here record their own).
        """
        what = self._what("recording ownership changes")
        cause = _ownership_cause(what, cause)
        with self._session(what, write=True) as session:
            _sync_ownership(session, self._now(), cause, user, detail)

    def names(self) -> list[tuple[str, str, str | None]]:
        """(id, name, rep) of every territory, by id, without their accounts."""
        row = TerritoryRow
        query = select(row.territory_id, row.name, row.rep_id).order_by(row.territory_id)
        with self._session("reading territory names") as session:
            return list(session.execute(query).tuples())

    def ownership_history(
        self, account_id: str | None = None, *, scope: FigureScope | None = None
    ) -> list[OwnershipRecord]:
        """Every ownership period of the account (of all accounts if ``None``; of those
        ``scope`` covers), oldest first."""
        # plain rows, not ORM objects: dashboards read every account's history
        query = select(*OwnershipRow.__table__.columns).order_by(
            OwnershipRow.valid_from, OwnershipRow.account_id, OwnershipRow.id
        )
        if account_id is not None:
            query = query.where(OwnershipRow.account_id == account_id)
        if scope is not None:
            query = query.where(in_scope(OwnershipRow.account_id, scope))
        with self._session("reading ownership history") as session:
            return [_ownership_from_row(row) for row in session.execute(query)]

    def owner_at(self, account_id: str, when: datetime) -> OwnershipRecord | None:
        """The ownership period holding at ``when`` (aware), or ``None`` if the account was in
        no territory then."""
        if when.tzinfo is None:
            msg = "owner_at needs a timezone-aware datetime"
            raise ValueError(msg)
        with self._session(f"reading the owner of {account_id}") as session:
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
        with self._session(f"reading the owner of {account_id}") as session:
            row = session.scalars(
                select(OwnershipRow)
                .where(OwnershipRow.account_id == account_id, OwnershipRow.valid_to.is_(None))
                .order_by(OwnershipRow.valid_from.desc(), OwnershipRow.id.desc())
                .limit(1)
            ).first()
            return None if row is None else _ownership_from_row(row)

    def current_ownerships(self) -> dict[str, OwnershipRecord]:
        """Open ownership period per account (for lists showing each owner and reason)."""
        with self._session("reading current owners") as session:
            rows = session.scalars(
                select(OwnershipRow)
                .where(OwnershipRow.valid_to.is_(None))
                .order_by(OwnershipRow.valid_from, OwnershipRow.id)
            )
            return {row.account_id: _ownership_from_row(row) for row in rows}


def _claimed_accounts(what: str, territories: Sequence[Territory]) -> dict[str, str]:
    """Territory of each listed account; an account listed twice is refused."""
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
    return claimed


def _write_territories(
    session: Session,
    territories: Sequence[Territory],
    old: Mapping[str, TerritoryRow],
    now: datetime,
) -> None:
    """Insert or update the territory rows, then insert their (already cleared) members."""
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


def _check_references(session: Session, what: str, territories: Sequence[Territory]) -> None:
    """Name unknown accounts and reps; the foreign keys would only say "constraint failed"."""
    account_ids = sorted({a for t in territories for a in t.account_ids})
    known: set[str] = set()
    for chunk in chunks(account_ids):
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


def _check_moves(session: Session, what: str, moves: Sequence[Decision]) -> None:
    """Refuse moves of unknown accounts, to unknown territories, or from a territory the account
    has left since the decision (a :class:`StaleStateError` when that is the only problem)."""
    ids = sorted(d.account_id for d in moves)
    known: set[str] = set()
    current: dict[str, str] = {}
    for chunk in chunks(ids):
        known.update(
            session.scalars(select(AccountRow.account_id).where(AccountRow.account_id.in_(chunk)))
        )
        current.update(
            session.execute(
                select(TerritoryAccountRow.account_id, TerritoryAccountRow.territory_id).where(
                    TerritoryAccountRow.account_id.in_(chunk)
                )
            )
            .tuples()
            .all()
        )
    territories = set(session.scalars(select(TerritoryRow.territory_id)))
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
        error = StaleStateError if stale and len(problems) == 1 else StorageError
        raise error(f"{what}: " + "; ".join(problems))


def _move_accounts(session: Session, moves: Sequence[Decision], now: datetime) -> None:
    """Put each account at the end of its decided territory (checked by :func:`_check_moves`)."""
    ids = [d.account_id for d in moves]
    for chunk in chunks(ids):
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
            {"account_id": d.account_id, "territory_id": d.territory_id, "position": position}
        )
    session.execute(insert(TerritoryAccountRow), rows)
    session.execute(
        update(TerritoryRow).where(TerritoryRow.territory_id.in_(targets)).values(updated_at=now)
    )


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
    same way. ``per_account`` gives some accounts their own cause and detail (an assignment
    records each account's reason).
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


def _ownership_cause(what: str, cause: OwnershipCause | str) -> OwnershipCause:
    try:
        return OwnershipCause(cause)
    except ValueError:
        known = ", ".join(c.value for c in OwnershipCause)
        msg = f"{what}: unknown cause {cause!r} (use {known})"
        raise StorageError(msg) from None


def _ownership_from_row(row: OwnershipRow | Row[Any]) -> OwnershipRecord:
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
