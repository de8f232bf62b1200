"""Which days a rep works and when an account can be visited on them.

Everything here is a pure function of the model plus a set of public holidays, so the
scheduler, the repair step and the KPIs agree on what a "working day" is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

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


ABSENT = "absent"
HOLIDAY = "public holiday"
NOT_WORKING = "not a working day"


def day_off_cause(rep: Rep, day: date, holidays: frozenset[date] = frozenset()) -> str | None:
    """Why ``rep`` does not work on ``day`` (:data:`ABSENT`, :data:`HOLIDAY` or
    :data:`NOT_WORKING`), or ``None`` on a working day. An absence or day off wins over a
    holiday that falls inside it: the rep would not have worked either way."""
    if day in rep.days_off and rep.working_hours.on(day.weekday()):
        return ABSENT
    if not rep.working_hours.on(day.weekday()):
        return NOT_WORKING
    if day in holidays:
        return HOLIDAY
    return None


def short_day(day: date) -> str:
    """``Mon 07.12.``: how reasons name a day."""
    return f"{day:%a %d.%m.}"


def day_spans(days: Iterable[date]) -> str:
    """Days as short spans: ``Thu 24.12.–Fri 01.01., Wed 06.01.`` (consecutive dates joined)."""
    ordered = sorted(set(days))
    spans: list[tuple[date, date]] = []
    for d in ordered:
        if spans and _next_workday(spans[-1][1]) >= d:
            spans[-1] = (spans[-1][0], d)
        else:
            spans.append((d, d))
    return ", ".join(short_day(a) if a == b else f"{short_day(a)}–{short_day(b)}" for a, b in spans)


def _next_workday(day: date) -> date:
    """The next Monday-to-Friday date after ``day``: spans run on over a weekend."""
    step = {4: 3, 5: 2}.get(day.weekday(), 1)
    return day + timedelta(days=step)


def blocked_days(
    rep: Rep, days: Iterable[date], holidays: frozenset[date] = frozenset()
) -> dict[date, str]:
    """The days of ``days`` the rep is absent or that are public holidays, with that cause
    (weekends are left out: they are the rep's normal week, not news)."""
    found: dict[date, str] = {}
    for d in days:
        cause = day_off_cause(rep, d, holidays)
        if cause is not None and cause != NOT_WORKING:
            found[d] = cause
    return found


def blocked_text(blocked: dict[date, str]) -> str:
    """``the rep is absent Thu 24.12.–Fri 01.01.; public holiday Fri 25.12.``: the causes in a
    stretch of days, absences first."""
    parts = []
    absent = [d for d, c in blocked.items() if c == ABSENT]
    holiday = [d for d, c in blocked.items() if c == HOLIDAY]
    if absent:
        parts.append(f"the rep is absent {day_spans(absent)}")
    if holiday:
        word = "public holiday" if len(holiday) == 1 else "public holidays"
        parts.append(f"{word} {day_spans(holiday)}")
    return "; ".join(parts)
