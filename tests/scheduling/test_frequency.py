"""Visit rules -> due occurrences and day combinations; impossible frequencies carry a reason."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from routeplanner.model import (
    GeoPoint,
    Horizon,
    Rep,
    TimeWindow,
    UnassignedReason,
    VisitRule,
    WeeklyHours,
)
from routeplanner.model.account import Account
from routeplanner.scheduling.calendar import HOLIDAY, blocked_days, visitable_days, working_days
from routeplanner.scheduling.frequency import due_occurrences, gap_ok, visit_options
from routeplanner.units import HOUR

MON = date(2026, 3, 2)
END = MON + timedelta(days=27)  # four weeks, Monday to Sunday


def _account(
    rule: str, *, last: date | None = None, weekdays: tuple[int, ...] = range(5)
) -> Account:
    return Account(
        account_id="a1",
        name="A",
        location=GeoPoint(49.4, 8.7),
        visit_rule=VisitRule.parse(rule),
        visit_duration_s=1800,
        opening_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR), weekdays=weekdays),
        last_visit=last,
    )


def _weekdays(start: date, end: date, allowed: set[int]) -> list[date]:
    return [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if (start + timedelta(days=i)).weekday() in allowed
    ]


def test_weekly_after_a_visit_last_thursday() -> None:
    # weekly: nominal 7, slack ceil(7 * 0.25) = 2 -> gaps 5..9 days.
    # Last visit Thu 26 Feb -> first target Thu 5 Mar, window [Tue 3 Mar, Sat 7 Mar] (the gap
    # bounds from the last visit); then targets 12, 19, 26 Mar with windows of +-3 days (half an
    # interval, so a chain can drift around weekends), clipped to the horizon end (29 Mar).
    occ = due_occurrences(VisitRule.parse("weekly"), date(2026, 2, 26), MON, END)
    assert [o.target for o in occ] == [
        date(2026, 3, 5),
        date(2026, 3, 12),
        date(2026, 3, 19),
        date(2026, 3, 26),
    ]
    assert (occ[0].earliest, occ[0].latest) == (date(2026, 3, 3), date(2026, 3, 7))
    assert (occ[3].earliest, occ[3].latest) == (date(2026, 3, 23), date(2026, 3, 29))


def test_overdue_account_is_due_at_the_start() -> None:
    # Last visit 40 days before a monthly (28, gaps 21..35) rule: overdue, so target = start.
    occ = due_occurrences(VisitRule.parse("monthly"), MON - timedelta(days=40), MON, END)
    assert occ[0].target == MON
    assert occ[0].earliest == MON


def test_no_history_first_visit_in_first_interval() -> None:
    # biweekly without history: first visit anywhere in days 0..13, target day 6; the second
    # targets day 20 with a window of +-7 days (half the interval).
    occ = due_occurrences(VisitRule.parse("biweekly"), None, MON, END)
    assert [(o.earliest, o.target, o.latest) for o in occ] == [
        (MON, MON + timedelta(days=6), MON + timedelta(days=13)),
        (MON + timedelta(days=13), MON + timedelta(days=20), MON + timedelta(days=27)),
    ]


def test_every_combination_keeps_the_gaps() -> None:
    acc = _account("2 per week", last=MON - timedelta(days=3))
    rule = acc.visit_rule
    allowed = _weekdays(MON, END, {0, 1, 2, 3, 4})
    opt = visit_options(acc, allowed, MON, END)
    assert opt.strict
    assert opt.issue is None
    assert len(opt.combos) > 5
    for combo in opt.combos:
        assert len(combo) == len(opt.occurrences)
        chain = [MON - timedelta(days=3), *combo]
        assert all(gap_ok(rule, a, b) for a, b in pairwise(chain))
        assert all(d in allowed for d in combo)


def test_weekly_but_only_open_on_saturday_has_no_allowed_day() -> None:
    acc = _account("weekly", weekdays=(5,))
    rep_days = _weekdays(MON, END, {0, 1, 2, 3, 4})
    allowed = [d for d in rep_days if acc.opening_hours.is_open(d.weekday())]
    opt = visit_options(acc, allowed, MON, END)
    assert opt.combos == ()
    assert opt.issue is not None
    assert opt.issue.reason is UnassignedReason.NO_ALLOWED_DAY


def test_twice_a_week_but_only_open_on_monday_is_impossible() -> None:
    # 2 per week: nominal round(7/2) = 4 days, slack 1 -> gaps 3..5; Mondays are 7 apart.
    acc = _account("2 per week", weekdays=(0,))
    allowed = _weekdays(MON, END, {0})
    opt = visit_options(acc, allowed, MON, END)
    assert not opt.strict
    assert opt.issue is not None
    assert opt.issue.reason is UnassignedReason.FREQUENCY_IMPOSSIBLE
    assert opt.issue.detail == (
        "2 per week needs visits 3-5 days apart, but the rep can visit only on Mo; "
        "3 of 7 visits cannot be placed"
    )
    # The relaxed fallback still serves every Monday once.
    assert opt.combos == (tuple(allowed),)


@settings(max_examples=60, deadline=None)
@given(
    rule=st.sampled_from(["weekly", "biweekly", "monthly", "2 per week", "every 10 days"]),
    last_offset=st.one_of(st.none(), st.integers(min_value=1, max_value=60)),
    weekdays=st.sets(st.integers(min_value=0, max_value=4), min_size=1),
    holidays=st.sets(st.integers(min_value=0, max_value=27), max_size=4),
)
def test_property_combinations_keep_gaps_and_days(
    rule: str, last_offset: int | None, weekdays: set[int], holidays: set[int]
) -> None:
    last = MON - timedelta(days=last_offset) if last_offset is not None else None
    acc = _account(rule, last=last)
    allowed = [d for d in _weekdays(MON, END, weekdays) if (d - MON).days not in holidays]
    opt = visit_options(acc, allowed, MON, END)
    r = acc.visit_rule
    for combo in opt.combos:
        assert all(d in allowed for d in combo)
        assert list(combo) == sorted(set(combo))
        chain = ([last] if last is not None else []) + list(combo)
        gaps = [(b - a).days for a, b in pairwise(chain)]
        # Too-close visits never happen; too-far ones only when reported as impossible.
        assert all(g >= r.min_gap_days for g in gaps[1:])
        if opt.issue is None:
            overdue = last is not None and last + timedelta(days=r.max_gap_days) < MON
            checked = gaps[1:] if overdue else gaps
            assert all(r.min_gap_days <= g <= r.max_gap_days for g in checked)
            assert len(combo) == len(opt.occurrences)


def test_an_absence_longer_than_the_max_gap_is_named() -> None:
    # Weekly (gaps 5-9) but nothing visitable from Fri 6 Mar to Tue 17 Mar (11 days apart).
    acc = _account("weekly", last=MON - timedelta(days=4))
    allowed = [
        d
        for d in _weekdays(MON, END, {0, 1, 2, 3, 4})
        if not date(2026, 3, 7) <= d <= date(2026, 3, 16)
    ]
    opt = visit_options(acc, allowed, MON, END)
    assert opt.issue is not None
    assert opt.issue.reason is UnassignedReason.FREQUENCY_IMPOSSIBLE
    assert opt.issue.detail.startswith(
        "weekly needs visits 5-9 days apart, but there is no visitable day between "
        "2026-03-06 and 2026-03-17"
    )


def test_leave_at_the_end_of_the_horizon_is_named_not_the_weekdays() -> None:
    # The rep works Mo-Fr but is on leave for the last ten days: the weekly visit due then
    # cannot be placed because of the leave, not because of the rep's weekdays.
    rep = Rep(
        rep_id="r",
        name="R",
        home=GeoPoint(49.4, 8.7),
        working_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
        days_off=frozenset(date(2026, 3, 18) + timedelta(days=i) for i in range(12)),
    )
    holidays = frozenset({date(2026, 3, 16)})
    acc = _account("weekly", last=MON - timedelta(days=4))
    days = working_days(rep, Horizon(start=MON, weeks=4), holidays)
    blocked = blocked_days(rep, (MON + timedelta(days=i) for i in range(28)), holidays)
    opt = visit_options(acc, visitable_days(acc, rep, days), MON, END, blocked=blocked)
    assert opt.issue is not None
    assert opt.issue.reason is UnassignedReason.REP_ABSENT
    assert "but the rep is absent Wed 18.03.–Fri 27.03." in opt.issue.detail
    assert "can visit only on" not in opt.issue.detail


def test_a_holiday_week_is_named_as_holidays() -> None:
    # Open on Mondays only, weekly: two Monday holidays in a row leave a gap of three weeks.
    acc = _account("weekly", last=MON - timedelta(days=7), weekdays=(0,))
    holidays = {date(2026, 3, 9): HOLIDAY, date(2026, 3, 16): HOLIDAY}
    allowed = [d for d in _weekdays(MON, END, {0}) if d not in holidays]
    opt = visit_options(acc, allowed, MON, END, blocked=holidays)
    assert opt.issue is not None
    assert opt.issue.reason is UnassignedReason.PUBLIC_HOLIDAY
    assert opt.issue.detail.startswith(
        "weekly needs visits 5-9 days apart, but public holidays Mon 09.03., Mon 16.03."
    )
