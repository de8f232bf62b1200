"""Visit frequencies: how often an account must be seen, and how far apart visits may be."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum


class FrequencyKind(str, Enum):
    """``EVERY``: one visit every ``interval_days``; ``PER_PERIOD``: ``count`` visits per period."""

    EVERY = "every"
    PER_PERIOD = "per_period"


GAP_TOLERANCE = 0.25
"""Default slack around the nominal gap: weekly (7 days) gives 5-9 days, as sales teams expect."""

_NAMED = {
    "daily": 1,
    "weekly": 7,
    "biweekly": 14,
    "fortnightly": 14,
    "monthly": 28,
    "every 4 weeks": 28,
    "quarterly": 91,
}
_EVERY = re.compile(r"^every\s+(\d+)\s*(day|days|d|week|weeks|w)$")
_PER = re.compile(r"^(\d+)\s*(?:x\s*)?(?:per|/)\s*(\d+)?\s*(day|days|d|week|weeks|w|month|months)$")


def _unit_days(unit: str) -> int:
    if unit.startswith("d"):
        return 1
    if unit.startswith("w"):
        return 7
    return 28


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitRule:
    """A visit frequency with the allowed gap between consecutive visits, in whole days.

    ``K per period`` is stored as count/period and gets a nominal gap of period/K days; its gap
    bounds default to the same tolerance as ``every N days``. Months are taken as 4 weeks because
    field-sales cycles are planned in weeks, and a 28-day month keeps every cycle aligned to
    weekdays.
    """

    kind: FrequencyKind
    interval_days: int = 0
    count: int = 0
    period_days: int = 0
    min_gap_days: int = 0
    max_gap_days: int = 0

    def __post_init__(self) -> None:
        if self.kind is FrequencyKind.EVERY:
            if self.interval_days < 1:
                msg = "visit interval must be at least 1 day"
                raise ValueError(msg)
        else:
            if self.count < 1 or self.period_days < 1:
                msg = "visits per period need a count >= 1 and a period >= 1 day"
                raise ValueError(msg)
            if self.count > self.period_days:
                msg = f"{self.count} visits do not fit into {self.period_days} days"
                raise ValueError(msg)
        nominal = self.nominal_gap_days
        if self.min_gap_days == 0 and self.max_gap_days == 0:
            slack = math.ceil(nominal * GAP_TOLERANCE) if nominal > 1 else 0
            object.__setattr__(self, "min_gap_days", max(1, nominal - slack))
            object.__setattr__(self, "max_gap_days", nominal + slack)
        if not 1 <= self.min_gap_days <= self.max_gap_days:
            msg = (
                f"gap bounds must satisfy 1 <= min gap ({self.min_gap_days}) "
                f"<= max gap ({self.max_gap_days})"
            )
            raise ValueError(msg)

    @property
    def nominal_gap_days(self) -> int:
        if self.kind is FrequencyKind.EVERY:
            return self.interval_days
        return max(1, round(self.period_days / self.count))

    def visits_in(self, days: int) -> float:
        """Expected number of visits in ``days`` days (fractional: workload needs averages)."""
        if self.kind is FrequencyKind.EVERY:
            return days / self.interval_days
        return days * self.count / self.period_days

    @classmethod
    def parse(cls, text: str, *, min_gap_days: int = 0, max_gap_days: int = 0) -> VisitRule:
        """Read ``weekly``, ``every 2 weeks``, ``every 10 days``, ``2 per week``, ``3 per 4 weeks``.

        Raises ``ValueError`` with the accepted forms so an import error tells the user how to fix it.
        """
        norm = " ".join(text.strip().lower().split())
        gaps = {"min_gap_days": min_gap_days, "max_gap_days": max_gap_days}
        if norm in _NAMED:
            return cls(kind=FrequencyKind.EVERY, interval_days=_NAMED[norm], **gaps)
        if m := _EVERY.match(norm):
            return cls(
                kind=FrequencyKind.EVERY,
                interval_days=int(m.group(1)) * _unit_days(m.group(2)),
                **gaps,
            )
        if m := _PER.match(norm):
            per = int(m.group(2) or 1) * _unit_days(m.group(3))
            return cls(kind=FrequencyKind.PER_PERIOD, count=int(m.group(1)), period_days=per, **gaps)
        msg = (
            f"unknown frequency {text!r}; use weekly, biweekly, monthly, 'every N days|weeks' "
            "or 'K per N weeks'"
        )
        raise ValueError(msg)

    def __str__(self) -> str:
        if self.kind is FrequencyKind.EVERY:
            d = self.interval_days
            if d == 7:
                return "weekly"
            return f"every {d // 7} weeks" if d % 7 == 0 else f"every {d} days"
        p = self.period_days
        period = f"{p // 7} weeks" if p % 7 == 0 else f"{p} days"
        return f"{self.count} per {period}"
