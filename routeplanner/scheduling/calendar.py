"""Which days a rep works and when an account can be visited on them.

Everything here is a pure function of the model plus a set of public holidays, so the
scheduler, the repair step and the KPIs agree on what a "working day" is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from routeplanner.model import Account, Horizon, Rep, TimeWindow


def working_days(
    rep: Rep, horizon: Horizon, holidays: frozenset[date] = frozenset()
) -> tuple[date, ...]:
    """Days in the horizon with a shift: not a day off, not a public holiday."""
    return tuple(d for d in horizon.days() if d not in holidays and rep.shift(d) is not None)


def usable_shift_s(rep: Rep, day: date) -> int:
    """Shift length minus lunch: the time a day can hold for driving and visits."""
    shift = rep.shift(day)
    if shift is None:
        return 0
    lunch = rep.lunch.duration_s if rep.lunch is not None else 0
    return max(0, shift.length_s - lunch)


def visit_windows(account: Account, rep: Rep, day: date) -> tuple[TimeWindow, ...]:
    """Opening intervals inside the rep's shift on ``day`` that are long enough for one visit."""
    if day.weekday() in account.forbidden_weekdays:
        return ()
    shift = rep.shift(day)
    if shift is None:
        return ()
    parts = account.opening_hours.intersect_day(day.weekday(), shift)
    return tuple(w for w in parts if w.length_s >= account.visit_duration_s)


def visitable_days(account: Account, rep: Rep, days: Iterable[date]) -> tuple[date, ...]:
    """The subset of ``days`` on which ``rep`` can visit ``account`` inside opening hours."""
    return tuple(d for d in days if visit_windows(account, rep, d))
