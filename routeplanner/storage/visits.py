"""What happened at visits, as reps report it: records are added, never changed or deleted,
only withdrawn (a report the rep undid stays stored but no longer counts)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import select, update

from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.storage.common import AreaRepository, check_ids
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
        query = select(VisitRecordRow)
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
                for row in session.scalars(query)
            ]

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
