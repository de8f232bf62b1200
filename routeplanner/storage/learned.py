"""Learned travel factors and visit lengths a manager confirmed (or rejected), with evidence.

One row per kind and key is in force: confirming again replaces the value, withdrawing
deletes it, so planning reads at most one value per rep and per account.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from routeplanner.storage.common import AreaRepository, check_ids
from routeplanner.storage.records import LearnedKind, LearnedValue
from routeplanner.storage.tables import LearnedValueRow


class LearnedRepository(AreaRepository):
    """Confirmed learned values (``tx.learned``)."""

    def all(self) -> list[LearnedValue]:
        """Every value in force, by kind and key."""
        query = select(LearnedValueRow).order_by(LearnedValueRow.kind, LearnedValueRow.key)
        with self._session("reading learned values") as session:
            return [_value(row) for row in session.scalars(query)]

    def confirm(self, value: LearnedValue) -> LearnedValue:
        """Put ``value`` in force for its kind and key, replacing any earlier one."""
        what = self._what(f"confirming the learned {value.kind.value} of {value.key}")
        check_ids(what, "key", [value.key])
        with self._session(what, write=True) as session:
            session.execute(
                delete(LearnedValueRow).where(
                    LearnedValueRow.kind == value.kind.value, LearnedValueRow.key == value.key
                )
            )
            row = LearnedValueRow(
                kind=value.kind.value,
                key=value.key,
                value=value.value,
                low=value.low,
                high=value.high,
                observations=value.observations,
                planned=value.planned,
                decided_by=value.decided_by,
                decided_at=value.decided_at or self._now(),
            )
            session.add(row)
            session.flush()
            return _value(row)

    def withdraw(self, kind: LearnedKind, key: str) -> bool:
        """Stop applying the value of ``kind`` for ``key``; ``False`` when none was in force."""
        what = self._what(f"withdrawing the learned {kind.value} of {key}")
        with self._session(what, write=True) as session:
            result = session.execute(
                delete(LearnedValueRow).where(
                    LearnedValueRow.kind == kind.value, LearnedValueRow.key == key
                )
            )
            return bool(getattr(result, "rowcount", 0))


def _value(row: LearnedValueRow) -> LearnedValue:
    return LearnedValue(
        kind=LearnedKind(row.kind),
        key=row.key,
        value=row.value,
        low=row.low,
        high=row.high,
        observations=row.observations,
        planned=row.planned,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )
