"""Published calendar feeds: each rep's events as last reconciled with a plan, and a version
that a reconcile bumps (optimistically, so two concurrent requests never both write)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from routeplanner.errors import StorageError
from routeplanner.model.feed import FeedEntry, FeedStatus
from routeplanner.storage.common import AreaRepository, check_ids, chunks
from routeplanner.storage.records import FeedInfo
from routeplanner.storage.tables import CalendarEntryRow, CalendarFeedRow


class FeedRepository(AreaRepository):
    """Calendar feed state and entries per rep (``tx.feeds``)."""

    def infos(self, rep_ids: Sequence[str]) -> dict[str, FeedInfo]:
        """Feed state of those reps that have one (a rep never fed is missing)."""
        with self._session("reading calendar feed state") as session:
            found: dict[str, FeedInfo] = {}
            for chunk in chunks(list(rep_ids)):
                query = select(CalendarFeedRow).where(CalendarFeedRow.rep_id.in_(chunk))
                for row in session.scalars(query):
                    found[row.rep_id] = FeedInfo(
                        rep_id=row.rep_id,
                        plan_id=row.plan_id,
                        version=row.version,
                        updated_at=row.updated_at,
                        basis=row.basis,
                    )
            return found

    def entries(self, rep_ids: Sequence[str]) -> list[FeedEntry]:
        """Published calendar events of these reps, ordered by (day, rep, account, uid)."""
        with self._session("reading calendar feed entries") as session:
            entries: list[FeedEntry] = []
            for chunk in chunks(list(rep_ids)):
                query = select(CalendarEntryRow).where(CalendarEntryRow.rep_id.in_(chunk))
                entries += [_feed_entry_from_row(row) for row in session.scalars(query)]
            entries.sort(key=lambda e: (e.day, e.rep_id, e.account_id, e.uid))
            return entries

    def save(
        self,
        rep_id: str,
        plan_id: int,
        entries: Sequence[FeedEntry],
        *,
        expected_version: int,
        basis: str = "",
    ) -> int | None:
        """Replace a rep's feed entries after reconciling with ``plan_id`` and the accounts as
        of ``basis``.

        Optimistic: when the stored version is no longer ``expected_version`` (0 = no feed yet),
        another request reconciled first and nothing is written (returns ``None``); otherwise
        returns the new version.
        """
        what = self._what(f"storing the calendar feed of rep {rep_id}")
        check_ids(what, "uid", [e.uid for e in entries])
        if any(e.rep_id != rep_id for e in entries):
            msg = f"{what}: every entry must belong to rep {rep_id}"
            raise StorageError(msg)
        with self._session(what, write=True) as session:
            row = session.get(CalendarFeedRow, rep_id, with_for_update=True)
            version = 0 if row is None else row.version
            if version != expected_version:
                return None
            if row is None:
                row = CalendarFeedRow(rep_id=rep_id, version=0, updated_at=self._now(), basis=basis)
                try:
                    with session.begin_nested():
                        session.add(row)
                except IntegrityError:
                    return None  # a concurrent first reconcile inserted the row first
            row.plan_id = plan_id
            row.basis = basis
            row.version = version + 1
            row.updated_at = self._now()
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
