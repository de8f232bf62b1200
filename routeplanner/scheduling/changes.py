"""What a repair changed in a rep's plan, visit by visit, each change with the reason for it.

A *changed visit* is one of: a visit added, a visit dropped, a visit moved to another day, or a
visit left on its day whose order among the day's other remaining visits changed. A rep
re-reads exactly these, so they are what a repair promises to keep few, and each carries a
sentence a manager (and the rep) can read.

:func:`plan_changes` measures the changes between two plans independently of how they came
about (benchmarks and tests count with it); :class:`ChangeSet` is plain data, convertible to
and from JSON-ready dicts so it can be stored with a plan version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from routeplanner.model import Plan
from routeplanner.scheduling.day_router import visit_id


class ChangeKind(StrEnum):
    """The value is stable: it is sent over the API and stored with a change list."""

    ADDED = "added"
    DROPPED = "dropped"
    MOVED = "moved"
    REORDERED = "reordered"


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitChange:
    """One changed visit: ``old_day`` is ``None`` when added, ``new_day`` when dropped; a
    reordered visit has both equal. ``why`` is the manager-readable reason."""

    kind: ChangeKind
    account_id: str
    old_day: date | None = None
    new_day: date | None = None
    why: str = ""

    @property
    def visit_id(self) -> str:
        """The visit's id in the new plan (in the old one for a dropped visit)."""
        day = self.new_day if self.new_day is not None else self.old_day
        assert day is not None
        return visit_id(self.account_id, day)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind.value,
            "account_id": self.account_id,
            "old_day": None if self.old_day is None else self.old_day.isoformat(),
            "new_day": None if self.new_day is None else self.new_day.isoformat(),
            "why": self.why,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VisitChange:
        def day(key: str) -> date | None:
            value = data.get(key)
            return None if value is None else date.fromisoformat(str(value))

        return cls(
            kind=ChangeKind(str(data["kind"])),
            account_id=str(data["account_id"]),
            old_day=day("old_day"),
            new_day=day("new_day"),
            why=str(data.get("why", "")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Move:
    account_id: str
    old_day: date
    new_day: date


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """Every changed visit of one rep's plan, in (day, account) order."""

    changes: tuple[VisitChange, ...] = ()

    @property
    def size(self) -> int:
        return len(self.changes)

    def of_kind(self, kind: ChangeKind) -> tuple[VisitChange, ...]:
        return tuple(c for c in self.changes if c.kind is kind)

    @property
    def moved(self) -> tuple[Move, ...]:
        return tuple(
            Move(account_id=c.account_id, old_day=c.old_day, new_day=c.new_day)
            for c in self.of_kind(ChangeKind.MOVED)
            if c.old_day is not None and c.new_day is not None
        )

    @property
    def added(self) -> tuple[str, ...]:
        """Ids of the visits new in the plan."""
        return tuple(c.visit_id for c in self.of_kind(ChangeKind.ADDED))

    @property
    def dropped(self) -> tuple[str, ...]:
        """Ids of the visits no longer in the plan."""
        return tuple(c.visit_id for c in self.of_kind(ChangeKind.DROPPED))

    @property
    def reordered(self) -> tuple[str, ...]:
        return tuple(c.visit_id for c in self.of_kind(ChangeKind.REORDERED))

    def to_dicts(self) -> list[dict[str, str | None]]:
        return [c.to_dict() for c in self.changes]

    @classmethod
    def from_dicts(cls, data: Iterable[Mapping[str, Any]]) -> ChangeSet:
        return cls(tuple(VisitChange.from_dict(d) for d in data))


def _ordered(changes: Iterable[VisitChange]) -> tuple[VisitChange, ...]:
    def key(c: VisitChange) -> tuple[date, str, str]:
        day = c.new_day if c.new_day is not None else c.old_day
        assert day is not None
        return day, c.account_id, c.kind.value

    return tuple(sorted(changes, key=key))


def change_set(changes: Iterable[VisitChange]) -> ChangeSet:
    """A change set in the stable (day, account) order."""
    return ChangeSet(_ordered(changes))


def _days_by_account(
    plan: Plan, rep_id: str, first: date | None, last: date | None
) -> tuple[dict[str, list[date]], dict[date, list[str]]]:
    days: dict[str, list[date]] = {}
    order: dict[date, list[str]] = {}
    for route in plan.routes_of(rep_id):
        if (first is not None and route.day < first) or (last is not None and route.day > last):
            continue
        order[route.day] = [s.account_id for s in route.stops]
        for stop in route.stops:
            days.setdefault(stop.account_id, []).append(route.day)
    return days, order


def _pair_nearest(old: Sequence[date], new: Sequence[date]) -> list[tuple[date, date]]:
    """Pairs of (old, new) days by smallest distance, earlier days first on ties."""
    candidates = sorted((abs((n - o).days), o, n) for o in old for n in new)
    used_old: set[date] = set()
    used_new: set[date] = set()
    pairs = []
    for _, o, n in candidates:
        if o not in used_old and n not in used_new:
            used_old.add(o)
            used_new.add(n)
            pairs.append((o, n))
    return sorted(pairs)


def _out_of_order(old: Sequence[str], new: Sequence[str]) -> list[str]:
    """Visits of ``new`` outside one longest common subsequence with ``old`` (both hold the
    same accounts): the fewest visits whose position among the others changed."""
    n, m = len(old), len(new)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if old[i] == new[j]:
                table[i][j] = table[i + 1][j + 1] + 1
            else:
                table[i][j] = max(table[i + 1][j], table[i][j + 1])
    kept: set[str] = set()
    i = j = 0
    while i < n and j < m:
        if old[i] == new[j]:
            kept.add(new[j])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return [a for a in new if a not in kept]


def plan_changes(
    old: Plan,
    new: Plan,
    rep_id: str,
    *,
    first: date | None = None,
    last: date | None = None,
) -> ChangeSet:
    """The changed visits of ``rep_id`` between two plans on days ``first``..``last``
    (inclusive; ``None``: unbounded), without reasons.

    Per account, visits on the same day in both are unchanged; the others are paired by
    nearest day (moved), the rest are added or dropped. Per day, visits kept there whose order
    among each other changed are reordered (the fewest such visits).
    """
    before, old_order = _days_by_account(old, rep_id, first, last)
    after, new_order = _days_by_account(new, rep_id, first, last)
    changes: list[VisitChange] = []
    for account in sorted(set(before) | set(after)):
        was, now = set(before.get(account, ())), set(after.get(account, ()))
        pairs = _pair_nearest(sorted(was - now), sorted(now - was))
        for o, n in pairs:
            changes.append(
                VisitChange(kind=ChangeKind.MOVED, account_id=account, old_day=o, new_day=n)
            )
        paired_old = {o for o, _ in pairs}
        paired_new = {n for _, n in pairs}
        changes.extend(
            VisitChange(kind=ChangeKind.DROPPED, account_id=account, old_day=d)
            for d in sorted(was - now - paired_old)
        )
        changes.extend(
            VisitChange(kind=ChangeKind.ADDED, account_id=account, new_day=d)
            for d in sorted(now - was - paired_new)
        )
    for day in sorted(set(old_order) & set(new_order)):
        stay = set(old_order[day]) & set(new_order[day])
        moved = _out_of_order(
            [a for a in old_order[day] if a in stay], [a for a in new_order[day] if a in stay]
        )
        changes.extend(
            VisitChange(kind=ChangeKind.REORDERED, account_id=a, old_day=day, new_day=day)
            for a in moved
        )
    return change_set(changes)
