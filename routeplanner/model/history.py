"""What happened, as opposed to what is planned: visit outcomes and territory ownership periods.

Plan repair reads visit records (a missed visit must be rescheduled, a done one resets its
frequency clock) and territory metrics read ownership history; both live here, in the pure model,
so the core can use them without knowing where they are stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class VisitStatus(StrEnum):
    """Outcome of a planned visit; the value is stable (stored, sent over the API)."""

    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"


class OwnershipCause(StrEnum):
    """Why an account changed hands; the value is stable (stored, shown in the audit trail)."""

    RULE = "rule"
    REALIGNMENT = "realignment"
    MANUAL = "manual"
    IMPORT = "import"


def _require_aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        msg = f"{name} must be timezone-aware"
        raise ValueError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class VisitRecord:
    """What a rep reports about one visit on one day.

    ``visit_id`` links the record to a planned stop when there was one; it is empty for an
    unplanned visit. Datetimes are timezone-aware so a record means the same instant everywhere.
    ``outcome`` is the short result the rep picked (``order``, ``no order`` …; ``None``: not
    given); ``record_id`` is the stored id (0 before storing; not part of equality, as the same
    report read back is the same report); ``withdrawn_at`` is set when the
    rep undid the report, which then no longer counts. ``report_id`` is the id the phone gave
    the report (empty: none), so a report sent twice is stored once.
    rep undid the report, which then no longer counts. ``order_value`` is the value of an
    order taken at the visit (``None``: none given) and ``next_step`` what was agreed next.
    """

    account_id: str
    rep_id: str
    day: date
    status: VisitStatus
    visit_id: str = ""
    actual_start: datetime | None = None
    note: str = ""
    recorded_at: datetime | None = None
    recorded_by: str = ""
    outcome: str | None = None
    record_id: int = field(default=0, compare=False)
    withdrawn_at: datetime | None = None
    report_id: str = ""
    order_value: float | None = None
    next_step: str = ""

    def __post_init__(self) -> None:
        if not self.account_id.strip():
            msg = "account_id must not be empty"
            raise ValueError(msg)
        if not self.rep_id.strip():
            msg = "rep_id must not be empty"
            raise ValueError(msg)
        _require_aware("actual_start", self.actual_start)
        _require_aware("recorded_at", self.recorded_at)
        _require_aware("withdrawn_at", self.withdrawn_at)
        if self.order_value is not None and not 0 <= self.order_value < float("inf"):
            msg = "order_value must be a finite amount of 0 or more"
            raise ValueError(msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnershipRecord:
    """One period in which an account sat in a territory owned by a rep (``None``: unowned).

    The period is half-open, ``[valid_from, valid_to)``; ``valid_to`` of ``None`` means it still
    holds. ``cause`` and ``changed_by`` say why and by whom the period started; ``ended_cause``
    and ``ended_by`` say the same about its end.
    """

    account_id: str
    territory_id: str
    rep_id: str | None
    valid_from: datetime
    valid_to: datetime | None
    cause: OwnershipCause
    detail: str = ""
    changed_by: str = ""
    ended_cause: OwnershipCause | None = None
    ended_by: str = ""

    def __post_init__(self) -> None:
        _require_aware("valid_from", self.valid_from)
        _require_aware("valid_to", self.valid_to)
        if self.valid_to is not None and self.valid_to < self.valid_from:
            msg = "ownership valid_to must not be before valid_from"
            raise ValueError(msg)

    def holds_at(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)
