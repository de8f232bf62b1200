"""Accounts and reps: imports that count what changed, exact round trips of every field.

Removing an account also removes it from its territory, and removing a rep leaves its
territories unowned (what the schema's ``ON DELETE`` rules say, done explicitly here). Neither
records the ownership change: a use case that removes accounts or reps calls
``tx.territories.record_ownership(...)`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from routeplanner.model import (
    Account,
    FrequencyKind,
    GeoPoint,
    LunchBreak,
    Rep,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.model.performance import AccountFacts, FigureScope
from routeplanner.storage.common import AreaRepository, check_ids, chunks, in_scope, load_by_ids
from routeplanner.storage.records import ImportSummary
from routeplanner.storage.tables import AccountRow, RepRow, TerritoryAccountRow, TerritoryRow


class AccountRepository(AreaRepository):
    """The stored accounts (``tx.accounts``)."""

    def all(self) -> list[Account]:
        """Every account, by id."""
        with self._session("reading accounts") as session:
            rows = session.scalars(select(AccountRow).order_by(AccountRow.account_id))
            return [_account_from_row(row) for row in rows]

    def facts(self, scope: FigureScope | None = None) -> list[AccountFacts]:
        """What performance figures need of every account (of those ``scope`` covers), by
        id (a few columns)."""
        row = AccountRow
        query = select(
            row.account_id,
            row.value_class,
            row.last_visit,
            row.rule_kind,
            row.interval_days,
            row.count,
            row.period_days,
            row.min_gap_days,
            row.max_gap_days,
        ).order_by(row.account_id)
        if scope is not None:
            query = query.where(in_scope(row.account_id, scope))
        with self._session("reading accounts") as session:
            rows = session.execute(query).tuples().all()
        return [
            AccountFacts(a, c, _rule_of(kind, interval, n, period, low, high), last)
            for a, c, last, kind, interval, n, period, low, high in rows
        ]

    def class_sizes(self) -> dict[str, int]:
        """How many accounts each value class has."""
        query = select(AccountRow.value_class, func.count()).group_by(AccountRow.value_class)
        with self._session("counting accounts") as session:
            return {c: int(n) for c, n in session.execute(query).tuples()}

    def find(self, account_ids: Sequence[str], *, lock: bool = False) -> list[Account]:
        """The stored accounts among ``account_ids``, by id. ``lock`` (PostgreSQL; SQLite
        writers are serialised anyway) keeps them from changing until the transaction ends, so
        a check made on them still holds when the same transaction writes."""
        with self._session("reading accounts") as session:
            rows = load_by_ids(session, AccountRow, AccountRow.account_id, account_ids, lock=lock)
            return [_account_from_row(rows[i]) for i in sorted(rows)]

    def changed_since(self, moment: datetime) -> list[Account]:
        """The accounts added or updated at ``moment`` or later (storage clock), by id: with
        the newest ``updated_at`` of :meth:`Store.data_version`, what changed since it was read
        (accounts stamped in the same tick come again)."""
        with self._session("reading changed accounts") as session:
            query = select(AccountRow).where(AccountRow.updated_at >= moment)
            rows = session.scalars(query.order_by(AccountRow.account_id))
            return [_account_from_row(row) for row in rows]

    def get(self, account_id: str) -> Account | None:
        with self._session(f"reading account {account_id}") as session:
            row = session.get(AccountRow, account_id)
            return None if row is None else _account_from_row(row)

    def upsert(self, accounts: Sequence[Account], *, source: str) -> ImportSummary:
        """Add new accounts and update existing ones; accounts not listed stay as they are.

        An unchanged account keeps its row untouched (no new ``updated_at``), so re-importing
        the same file reports "unchanged" and leaves the audit columns alone.
        """
        what = self._what(f"import of accounts from {source}")
        ids = [a.account_id for a in accounts]
        check_ids(what, "account_id", ids)
        now = self._now()
        with self._session(what, write=True) as session:
            old = load_by_ids(session, AccountRow, AccountRow.account_id, ids)
            added, changed, same = _upsert_accounts(session, accounts, old, source=source, now=now)
        return ImportSummary(
            accounts_added=added, accounts_changed=changed, accounts_unchanged=same
        )

    def replace_all(self, accounts: Sequence[Account], *, source: str) -> ImportSummary:
        """Make the stored accounts exactly ``accounts``: the rest are removed (see
        :meth:`delete`)."""
        what = self._what(f"import of accounts from {source}")
        ids = [a.account_id for a in accounts]
        check_ids(what, "account_id", ids)
        now = self._now()
        with self._session(what, write=True) as session:
            old = {row.account_id: row for row in session.scalars(select(AccountRow))}
            gone = sorted(old.keys() - set(ids))
            _delete_accounts(session, gone)
            added, changed, same = _upsert_accounts(session, accounts, old, source=source, now=now)
        return ImportSummary(
            accounts_added=added,
            accounts_changed=changed,
            accounts_unchanged=same,
            accounts_removed=len(gone),
        )

    def delete(self, account_ids: Sequence[str]) -> int:
        """Remove accounts and their territory membership; returns how many existed."""
        with self._session("deleting accounts", write=True) as session:
            return _delete_accounts(session, sorted(set(account_ids)))


class RepRepository(AreaRepository):
    """The stored reps (``tx.reps``)."""

    def all(self) -> list[Rep]:
        """Every rep, by id."""
        with self._session("reading reps") as session:
            rows = session.scalars(select(RepRow).order_by(RepRow.rep_id))
            return [_rep_from_row(row) for row in rows]

    def get(self, rep_id: str) -> Rep | None:
        with self._session(f"reading rep {rep_id}") as session:
            row = session.get(RepRow, rep_id)
            return None if row is None else _rep_from_row(row)

    def upsert(self, reps: Sequence[Rep], *, source: str) -> ImportSummary:
        """Add new reps and update existing ones; reps not listed stay as they are."""
        what = self._what(f"import of reps from {source}")
        ids = [r.rep_id for r in reps]
        check_ids(what, "rep_id", ids)
        now = self._now()
        with self._session(what, write=True) as session:
            old = load_by_ids(session, RepRow, RepRow.rep_id, ids)
            added, changed, same = _upsert_reps(session, reps, old, source=source, now=now)
        return ImportSummary(reps_added=added, reps_changed=changed, reps_unchanged=same)

    def replace_all(self, reps: Sequence[Rep], *, source: str) -> ImportSummary:
        """Make the stored reps exactly ``reps``; territories of removed reps become unowned."""
        what = self._what(f"import of reps from {source}")
        ids = [r.rep_id for r in reps]
        check_ids(what, "rep_id", ids)
        now = self._now()
        with self._session(what, write=True) as session:
            old = {row.rep_id: row for row in session.scalars(select(RepRow))}
            gone = sorted(old.keys() - set(ids))
            for chunk in chunks(gone):
                session.execute(
                    update(TerritoryRow).where(TerritoryRow.rep_id.in_(chunk)).values(rep_id=None)
                )
                session.execute(delete(RepRow).where(RepRow.rep_id.in_(chunk)))
            added, changed, same = _upsert_reps(session, reps, old, source=source, now=now)
        return ImportSummary(
            reps_added=added, reps_changed=changed, reps_unchanged=same, reps_removed=len(gone)
        )


def _delete_accounts(session: Session, account_ids: Sequence[str]) -> int:
    removed = 0
    for chunk in chunks(account_ids):
        session.execute(
            delete(TerritoryAccountRow).where(TerritoryAccountRow.account_id.in_(chunk))
        )
        existing = session.scalars(
            select(AccountRow.account_id).where(AccountRow.account_id.in_(chunk))
        ).all()
        removed += len(existing)
        session.execute(delete(AccountRow).where(AccountRow.account_id.in_(chunk)))
    return removed


# ---------------------------------------------------------------------- conversions


def _hours_to_json(hours: WeeklyHours) -> list[list[list[int]]]:
    return [[[w.start_s, w.end_s] for w in day] for day in hours.days]


def _hours_from_json(data: Any) -> WeeklyHours:
    return WeeklyHours(tuple(tuple(TimeWindow(int(s), int(e)) for s, e in day) for day in data))


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


def _rule_of(
    kind: str, interval: int, count: int, period: int, min_gap: int, max_gap: int
) -> VisitRule:
    return VisitRule(
        kind=FrequencyKind(kind),
        interval_days=interval,
        count=count,
        period_days=period,
        min_gap_days=min_gap,
        max_gap_days=max_gap,
    )


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
    """Insert or update domain objects; returns (added, changed, unchanged)."""
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
