"""What performance is measured against: sales figures per account and month, and targets per
territory or rep and month. Periods are calendar months, written as their first day."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from routeplanner.model.rules import VisitRule


def month_start(day: date) -> date:
    """The first day of ``day``'s month (how a period is stored and compared)."""
    return day.replace(day=1)


def next_month(period: date) -> date:
    """The first day of the month after ``period``'s."""
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def previous_month(period: date) -> date:
    """The first day of the month before ``period``'s."""
    return date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)


def month_text(period: date) -> str:
    """``2026-03``: how a period is written in files, forms and URLs."""
    return f"{period.year:04d}-{period.month:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SalesFigure:
    """Revenue of one account in one month and product line (``""``: not split by line);
    ``order_count`` is ``None`` when the export gives none. Revenue may be negative (credit
    notes of a month can outweigh its invoices)."""

    account_id: str
    period: date
    revenue: float
    order_count: int | None = None
    product_line: str = ""

    def __post_init__(self) -> None:
        if self.period.day != 1:
            msg = f"a sales period is a month, given by its first day, not {self.period}"
            raise ValueError(msg)
        if not math.isfinite(self.revenue):
            msg = "revenue must be a finite amount"
            raise ValueError(msg)
        if self.order_count is not None and self.order_count < 0:
            msg = "order_count must not be negative"
            raise ValueError(msg)


class TargetScope(StrEnum):
    """Whom a target is for; the value is stable (stored, sent over the API)."""

    TERRITORY = "territory"
    REP = "rep"


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A month's targets for one territory or rep; ``None`` leaves a figure to its default.
    ``coverage`` is the share (0..1) of due visits to be done on time."""

    scope: TargetScope
    scope_id: str
    period: date
    revenue: float | None = None
    visits_done: int | None = None
    coverage: float | None = None
    new_accounts: int | None = None

    def __post_init__(self) -> None:
        if self.period.day != 1:
            msg = f"a target period is a month, given by its first day, not {self.period}"
            raise ValueError(msg)
        if self.coverage is not None and not 0.0 <= self.coverage <= 1.0:
            msg = "coverage must be a share from 0 to 1"
            raise ValueError(msg)
        for name in ("revenue", "visits_done", "new_accounts"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                msg = f"{name} must be 0 or more"
                raise ValueError(msg)


def parse_potential(text: str) -> dict[str, float]:
    """``A:4000,B:1500,C:500`` (monthly revenue per account of each value class)."""
    found: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, _, value = item.partition(":")
        try:
            amount = float(value)
        except ValueError:
            amount = math.nan
        if not name.strip() or not math.isfinite(amount) or amount < 0:
            msg = f"{item.strip()!r} is not CLASS:AMOUNT (such as A:4000)"
            raise ValueError(msg)
        found[name.strip().upper()] = amount
    return found


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What performance figures and default targets need of an account (reading whole
    accounts, with their opening hours, would cost most of a dashboard's time)."""

    account_id: str
    value_class: str
    visit_rule: VisitRule
    last_visit: date | None


@dataclass(frozen=True, slots=True)
class FigureScope:
    """Which accounts a narrowed read covers: every account any of ``territory_ids`` or
    ``rep_ids`` ever owned, and (for visit records) every report of ``rep_ids``."""

    territory_ids: frozenset[str]
    rep_ids: frozenset[str]
