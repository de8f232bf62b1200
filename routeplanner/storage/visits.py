"""What happened at visits, as reps report it: records are added, never changed or deleted,
only withdrawn (a report the rep undid stays stored but no longer counts)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import case, func, insert, or_, select, update

from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.model.performance import FigureScope
from routeplanner.storage.common import AreaRepository, check_ids, chunks, in_scope
from routeplanner.storage.tables import VisitRecordRow


class VisitRepository(AreaRepository):
    """Visit records (``tx.visits``)."""

    def record(self, record: VisitRecord) -> int:
        """Store what happened at a visit; ``recorded_at`` defaults to now. Returns the id."""
        what = self._what(f"recording the visit of {record.account_id} on {record.day.isoformat()}")
        check_ids(what, "account_id", [record.account_id])
        check_ids(what, "rep_id", [record.rep_id])
        check_ids(what, "visit_id", [record.visit_id])
        with self._session(what, write=True) as session:
            row = VisitRecordRow(
                visit_id=record.visit_id,
                account_id=record.account_id,
                rep_id=record.rep_id,
                day=record.day,
                status=record.status.value,
                actual_start=record.actual_start,
                note=record.note,
                recorded_at=record.recorded_at or self._now(),
                recorded_by=record.recorded_by,
                outcome=record.outcome,
                report_id=record.report_id or None,
                order_value=record.order_value,
                next_step=record.next_step,
            )
            session.add(row)
            session.flush()
            return row.id

    def record_all(self, records: Sequence[VisitRecord]) -> int:
        """Store many reports at once (an imported or generated history): one insert for
        all, checked as :meth:`record` checks one. Returns how many were stored."""
        what = self._what(f"recording {len(records)} visits")
        # lengths only: one account has many reports
        check_ids(what, "account_id", {r.account_id for r in records})
        check_ids(what, "rep_id", {r.rep_id for r in records})
        check_ids(what, "visit_id", {r.visit_id for r in records if r.visit_id})
        now = self._now()
        rows = [
            {
                "visit_id": r.visit_id,
                "account_id": r.account_id,
                "rep_id": r.rep_id,
                "day": r.day,
                "status": r.status.value,
                "actual_start": r.actual_start,
                "note": r.note,
                "recorded_at": r.recorded_at or now,
                "recorded_by": r.recorded_by,
                "outcome": r.outcome,
                "report_id": r.report_id or None,
                "order_value": r.order_value,
                "next_step": r.next_step,
            }
            for r in records
        ]
        with self._session(what, write=True) as session:
            for chunk in chunks(rows):
                session.execute(insert(VisitRecordRow), chunk)
        return len(rows)

    def accounts_since(self, record_id: int | None) -> list[str]:
        """The account of every record with an id above ``record_id`` (all when ``None``),
        by id: what a cache keyed on accounts must forget."""
        query = select(VisitRecordRow.account_id).order_by(VisitRecordRow.id)
        if record_id is not None:
            query = query.where(VisitRecordRow.id > record_id)
        with self._session("reading new visit records") as session:
            return list(session.scalars(query))

    def find(
        self,
        *,
        account_id: str | None = None,
        rep_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        account_ids: Collection[str] | None = None,
        record_id: int | None = None,
        withdrawn: bool = False,
        report_id: str | None = None,
    ) -> list[VisitRecord]:
        """Visit records matching every given filter (``start``/``end`` inclusive), by day and
        then in the order they were recorded; no filter gives all. ``account_ids`` (at most a
        few hundred, such as one day's stops) narrows to those accounts. Withdrawn records
        only with ``withdrawn``; ``report_id`` finds the report the phone sent under that id."""
        # plain rows, not ORM objects: a dashboard reads tens of thousands of records
        query = select(*VisitRecordRow.__table__.columns)
        if not withdrawn:
            query = query.where(VisitRecordRow.withdrawn_at.is_(None))
        if record_id is not None:
            query = query.where(VisitRecordRow.id == record_id)
        if report_id is not None:
            query = query.where(VisitRecordRow.report_id == report_id)
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
        with self._session("reading visit records") as session:
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
                    outcome=row.outcome,
                    record_id=row.id,
                    withdrawn_at=row.withdrawn_at,
                    report_id=row.report_id or "",
                    order_value=row.order_value,
                    next_step=row.next_step,
                )
                for row in session.execute(query)
            ]

    def for_figures(
        self, start: date, end: date, scope: FigureScope | None = None
    ) -> list[VisitRecord]:
        """The records of ``start`` to ``end`` (inclusive, not withdrawn; with ``scope``
        those of its accounts and by its reps) in :meth:`find`'s order with only what
        counting needs: account, rep, day, status, planned visit, order value and id (notes,
        times and outcomes stay empty)."""
        row = VisitRecordRow
        query = (
            select(row.id, row.account_id, row.rep_id, row.day, row.status, row.visit_id)
            .add_columns(row.order_value)
            .where(row.withdrawn_at.is_(None), row.day >= start, row.day <= end)
            .order_by(row.day, row.recorded_at, row.id)
        )
        if scope is not None:
            query = query.where(
                or_(in_scope(row.account_id, scope), row.rep_id.in_(sorted(scope.rep_ids)))
            )
        with self._session("reading visit records") as session:
            statuses = {s.value: s for s in VisitStatus}
            return [
                VisitRecord(
                    account_id=account_id,
                    rep_id=rep_id,
                    day=day,
                    status=statuses[status],
                    visit_id=visit_id,
                    record_id=record_id,
                    order_value=order_value,
                )
                for record_id, account_id, rep_id, day, status, visit_id, order_value in (
                    session.execute(query).tuples()
                )
            ]

    def last_done(
        self, until: Sequence[date], scope: FigureScope | None = None
    ) -> list[dict[str, date]]:
        """For each day of ``until``: the day of each account's (of ``scope``'s) last visit
        done (or checked in) up to it, from records not withdrawn (accounts without one left
        out); one scan."""
        row = VisitRecordRow
        done = (VisitStatus.DONE.value, VisitStatus.CHECKED_IN.value)
        latest = [func.max(case((row.day <= day, row.day))) for day in until]
        query = (
            select(row.account_id, *latest)
            .where(row.withdrawn_at.is_(None), row.status.in_(done), row.day <= max(until))
            .group_by(row.account_id)
        )
        if scope is not None:
            query = query.where(in_scope(row.account_id, scope))
        found: list[dict[str, date]] = [{} for _ in until]
        with self._session("reading the last visits") as session:
            for account_id, *days in session.execute(query):
                for by_account, day in zip(found, days, strict=True):
                    if day is not None:
                        by_account[account_id] = day
        return found

    def withdraw(self, record_id: int, at: datetime | None = None) -> bool:
        """Mark record ``record_id`` withdrawn (the rep undid it); ``False`` when there is no
        such record or it was withdrawn already, so two undos cannot both succeed."""
        with self._session(f"withdrawing visit record {record_id}", write=True) as session:
            result = session.execute(
                update(VisitRecordRow)
                .where(VisitRecordRow.id == record_id, VisitRecordRow.withdrawn_at.is_(None))
                .values(withdrawn_at=at or self._now())
            )
            return bool(getattr(result, "rowcount", 0) == 1)
