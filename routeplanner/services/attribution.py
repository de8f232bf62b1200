"""Who owned an account when, and the months performance is measured in.

Figures are attributed through the ownership history, never the current assignment, so a
realignment does not rewrite the past: a visit or a month's revenue counts for the territory
(and rep) that owned the account then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from routeplanner.io.sales import FIRST_YEAR, LAST_YEAR
from routeplanner.model.history import OwnershipRecord
from routeplanner.model.performance import month_start, month_text, next_month, previous_month

__all__ = ["Month", "Ownership", "noon"]


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month: ``first`` to ``last`` day, both inclusive."""

    first: date

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(month_start(day))

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-03``; anything else is a ValueError saying what to write."""
        try:
            year, month = text.strip().split("-")
            if not FIRST_YEAR <= int(year) <= LAST_YEAR:
                raise ValueError(year)
            return cls(date(int(year), int(month), 1))
        except ValueError:
            msg = f"{text!r} is not a month YYYY-MM"
            raise ValueError(msg) from None

    @property
    def last(self) -> date:
        return next_month(self.first) - timedelta(days=1)

    @property
    def days(self) -> int:
        return (next_month(self.first) - self.first).days

    @property
    def previous(self) -> Month:
        return Month(previous_month(self.first))

    @property
    def middle(self) -> datetime:
        """The moment a month's figures are attributed at (its 15th, noon UTC)."""
        return datetime.combine(self.first.replace(day=15), time(12), tzinfo=UTC)

    def __str__(self) -> str:
        return month_text(self.first)


def noon(day: date) -> datetime:
    """The moment a day's visits are attributed at."""
    return datetime.combine(day, time(12), tzinfo=UTC)


class Ownership:
    """The ownership periods of every account, to ask who owned one at a moment.

    Before an account's first recorded period, its first owner counts: data imported today
    with months of history behind it belongs to the territories it was imported into.
    """

    def __init__(self, records: Iterable[OwnershipRecord]) -> None:
        self._periods: dict[str, list[OwnershipRecord]] = {}
        for record in sorted(records, key=lambda r: r.valid_from):
            self._periods.setdefault(record.account_id, []).append(record)

    def at(self, account_id: str, moment: datetime) -> OwnershipRecord | None:
        """The period holding at ``moment`` (``None``: in no territory then)."""
        periods = self._periods.get(account_id)
        if not periods:
            return None
        for period in reversed(periods):
            if period.valid_from <= moment:
                return period if period.holds_at(moment) else None
        return periods[0]

    def members(self, account_ids: Sequence[str], moment: datetime) -> dict[str, OwnershipRecord]:
        """Owner at ``moment`` of each of ``account_ids`` that had one."""
        found = {a: self.at(a, moment) for a in account_ids}
        return {a: o for a, o in found.items() if o is not None}
