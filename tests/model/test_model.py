"""Domain invariants: each constructor rejects impossible values with a message naming the field."""

from __future__ import annotations

from datetime import date

import pytest

from routeplanner.model import (
    Account,
    FrequencyKind,
    GeoPoint,
    Horizon,
    LunchBreak,
    Rep,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.units import HOUR, format_hhmm, parse_hhmm


def test_weekly_rule_gap_bounds_follow_sales_practice() -> None:
    # nominal 7 days, tolerance ceil(7 * 0.25) = 2 -> 5..9 days as the issue specifies
    rule = VisitRule.parse("weekly")
    assert (rule.min_gap_days, rule.max_gap_days) == (5, 9)
    assert str(rule) == "weekly"


@pytest.mark.parametrize(
    ("text", "kind", "nominal"),
    [
        ("every 2 weeks", FrequencyKind.EVERY, 14),
        ("biweekly", FrequencyKind.EVERY, 14),
        ("monthly", FrequencyKind.EVERY, 28),
        ("Every 10 days", FrequencyKind.EVERY, 10),
        ("2 per week", FrequencyKind.PER_PERIOD, 4),  # round(7 / 2) = 4 (3.5 rounds to even)
        ("3 per 4 weeks", FrequencyKind.PER_PERIOD, 9),  # round(28 / 3) = 9
    ],
)
def test_frequency_forms(text: str, kind: FrequencyKind, nominal: int) -> None:
    rule = VisitRule.parse(text)
    assert rule.kind is kind
    assert rule.nominal_gap_days == nominal


def test_unknown_frequency_lists_accepted_forms() -> None:
    with pytest.raises(ValueError, match="unknown frequency 'sometimes'; use weekly"):
        VisitRule.parse("sometimes")


def test_explicit_gaps_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="min gap"):
        VisitRule.parse("weekly", min_gap_days=9, max_gap_days=5)


def test_time_window_end_before_start() -> None:
    with pytest.raises(ValueError, match="must be after its start"):
        TimeWindow(parse_hhmm("12:00"), parse_hhmm("08:00"))


def test_weekly_hours_merge_and_render() -> None:
    hours = WeeklyHours(
        (
            (TimeWindow(8 * HOUR, 12 * HOUR), TimeWindow(11 * HOUR, 13 * HOUR)),
            (TimeWindow(8 * HOUR, 13 * HOUR),),
            (),
            (),
            (),
            (),
            (),
        )
    )
    assert hours.on(0) == (TimeWindow(8 * HOUR, 13 * HOUR),)
    assert str(hours) == "Mo-Tu 08:00-13:00"


def test_lunch_break_must_fit_window() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        LunchBreak(window=TimeWindow(12 * HOUR, 12 * HOUR + 1800), duration_s=HOUR)


def test_geopoint_latitude_out_of_range() -> None:
    with pytest.raises(ValueError, match="latitude 91"):
        GeoPoint(91.0, 8.0)


def test_account_visitable_weekdays_respect_visit_length() -> None:
    hours = WeeklyHours.uniform(TimeWindow(9 * HOUR, 10 * HOUR), weekdays=[0, 1])
    acc = Account(
        account_id="A1",
        name="Bäckerei Müller",
        location=GeoPoint(49.4, 8.7),
        visit_rule=VisitRule.parse("weekly"),
        visit_duration_s=30 * 60,
        opening_hours=hours,
        forbidden_weekdays=frozenset({1}),
    )
    assert acc.visitable_weekdays() == frozenset({0})
    longer = Account(
        account_id="A2",
        name="x",
        location=GeoPoint(49.4, 8.7),
        visit_rule=VisitRule.parse("weekly"),
        visit_duration_s=2 * HOUR,
        opening_hours=hours,
    )
    assert longer.visitable_weekdays() == frozenset()


def test_rep_shift_skips_days_off() -> None:
    rep = Rep(
        rep_id="R1",
        name="Anna",
        home=GeoPoint(49.4, 8.7),
        working_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
        days_off=frozenset({date(2026, 3, 24)}),
    )
    assert rep.shift(date(2026, 3, 23)) == TimeWindow(8 * HOUR, 17 * HOUR)
    assert rep.shift(date(2026, 3, 24)) is None
    assert rep.shift(date(2026, 3, 28)) is None  # Saturday


def test_horizon_datetime_across_dst_change() -> None:
    # Europe/Berlin switches to CEST on 2026-03-29; 10:00 local is 08:00 UTC that day
    hz = Horizon(start=date(2026, 3, 23), weeks=2)
    moment = hz.to_datetime(date(2026, 3, 29), 10 * HOUR)
    assert moment.utcoffset().total_seconds() == 2 * HOUR  # type: ignore[union-attr]
    assert hz.from_datetime(moment) == (date(2026, 3, 29), 10 * HOUR)
    assert hz.end == date(2026, 4, 5)


def test_horizon_rejects_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        Horizon(start=date(2026, 1, 5), weeks=1, timezone="Mars/Base")


def test_hhmm_round_trip() -> None:
    assert format_hhmm(parse_hhmm("07:45")) == "07:45"
    with pytest.raises(ValueError, match="not a time of day"):
        parse_hhmm("25:00")
