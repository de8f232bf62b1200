"""OSM opening_hours parsing: real tags from the Heidelberg extract, exact errors, round trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routeplanner.io.opening_hours import (
    format_opening_hours,
    parse_opening_hours,
    parse_time_range,
    parse_weekdays,
)
from routeplanner.model import TimeWindow, WeeklyHours
from routeplanner.units import DAY, HOUR, MINUTE


def h(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * HOUR + int(minutes) * MINUTE


def w(text: str) -> TimeWindow:
    start, end = text.split("-")
    return TimeWindow(h(start), h(end))


def week(**days: str) -> WeeklyHours:
    """Build expected hours by hand: week(mo="08:00-12:00,14:00-18:00", sa=...)."""
    names = ["mo", "tu", "we", "th", "fr", "sa", "su"]
    return WeeklyHours(
        tuple(tuple(w(part) for part in days[n].split(",")) if n in days else () for n in names)
    )


MO_FR_8_18 = {d: "08:00-18:00" for d in ("mo", "tu", "we", "th", "fr")}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mo-Fr 08:00-18:00; Sa 09:00-13:00", week(**MO_FR_8_18, sa="09:00-13:00")),
        (
            "Mo,We 08:00-12:00,14:00-18:00",
            week(mo="08:00-12:00,14:00-18:00", we="08:00-12:00,14:00-18:00"),
        ),
        ("24/7", WeeklyHours.always()),
        ("off", WeeklyHours()),
        ("closed", WeeklyHours()),
        ("Mo-Fr 08:00-18:00; PH off", week(**MO_FR_8_18)),
        # Fr-Mo wraps over the weekend: Fr, Sa, Su, Mo
        (
            "Fr-Mo 10:00-12:00",
            week(fr="10:00-12:00", sa="10:00-12:00", su="10:00-12:00", mo="10:00-12:00"),
        ),
        # a later rule replaces the hours of the days it names (OSM semantics)
        ("Mo-Fr 08:00-18:00; We 08:00-12:00", week(**{**MO_FR_8_18, "we": "08:00-12:00"})),
        ("Mo-Fr 08:00-18:00; We off", week(**{k: v for k, v in MO_FR_8_18.items() if k != "we"})),
        (
            "24/7; Su off",
            week(**dict.fromkeys(("mo", "tu", "we", "th", "fr", "sa"), "00:00-24:00")),
        ),
        # real tags of the Heidelberg extract
        (
            "Mo-Sa 09:15-20:00;Su off",
            week(**dict.fromkeys(("mo", "tu", "we", "th", "fr", "sa"), "09:15-20:00")),
        ),
        (
            "08:00-13:00, 15:00-20:00",
            week(
                **dict.fromkeys(
                    ("mo", "tu", "we", "th", "fr", "sa", "su"), "08:00-13:00,15:00-20:00"
                )
            ),
        ),
        (
            "Mo-Sa 08:00-20:00; Su,PH 08:00-13:00,15:00-20:00",
            week(
                **dict.fromkeys(("mo", "tu", "we", "th", "fr", "sa"), "08:00-20:00"),
                su="08:00-13:00,15:00-20:00",
            ),
        ),
        # additional rule after a comma adds to the earlier part instead of replacing it
        (
            "Mo-Sa 11:00-13:30, Tu-Su 17:00-22:00",
            week(
                mo="11:00-13:30",
                **dict.fromkeys(("tu", "we", "th", "fr", "sa"), "11:00-13:30,17:00-22:00"),
                su="17:00-22:00",
            ),
        ),
        (
            "Mo-Su 11:00-24:00",
            week(**dict.fromkeys(("mo", "tu", "we", "th", "fr", "sa", "su"), "11:00-24:00")),
        ),
        ("PH 10:00-12:00", WeeklyHours()),  # only on holidays: holidays are the calendar's job
        (
            "Mo-Fr: 08:00-12:00",
            week(**dict.fromkeys(("mo", "tu", "we", "th", "fr"), "08:00-12:00")),
        ),
        ("Di-Do 09:00-10:00", week(tu="09:00-10:00", we="09:00-10:00", th="09:00-10:00")),
        (
            "mo-fr 08:00 - 12:00",
            week(**dict.fromkeys(("mo", "tu", "we", "th", "fr"), "08:00-12:00")),
        ),
    ],
)
def test_parses(text: str, expected: WeeklyHours) -> None:
    assert parse_opening_hours(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mx 08:00-12:00", "unknown weekday 'Mx'"),
        ("Mo-Fr 18:00-08:00", "time range 18:00-08:00 ends before it starts"),
        ("Mo-Fr 08:00-08:00", "time range 08:00-08:00 is empty"),
        ("Mo-Fr 25:00-26:00", "time '25:00' is not a time of day"),
        ("10:00+", "'10:00+' is not a time range HH:MM-HH:MM"),
        ("Mo-Fr 8-12", "'8-12' is not a time range HH:MM-HH:MM"),
        ("Apr-Oct Mo-Su 10:00-18:00", "month selectors such as 'Apr' are not supported"),
        ("Mo-Fr", "rule 'Mo-Fr' has no times (add e.g. 08:00-18:00 or off)"),
        (
            "sunrise-sunset",
            "cannot read 'sunrise' (supported: weekdays Mo-Su, HH:MM-HH:MM, off, 24/7, PH off)",
        ),
        ("", "opening hours are empty"),
        ("Mo-Fr 08:00-12:00 || Sa off", "fallback rules ('||') are not supported"),
        ("Mo-Fr 08:00-12:00,", "cannot read ',' in rule 'Mo-Fr 08:00-12:00,'"),
        ("Mo-Fr 08:00-12:00 open", "cannot read 'open' in rule 'Mo-Fr 08:00-12:00 open'"),
    ],
)
def test_rejects_with_exact_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_opening_hours(text)


def test_time_range_and_weekday_list() -> None:
    assert parse_time_range("11:30-14:00") == TimeWindow(h("11:30"), h("14:00"))
    assert parse_weekdays("Mo, We;Fr-Su") == frozenset({0, 2, 4, 5, 6})
    with pytest.raises(ValueError, match=r"^holiday selector 'PH' is not a weekday$"):
        parse_weekdays("Mo,PH")


def test_format_writes_24_7_for_always() -> None:
    assert format_opening_hours(WeeklyHours.always()) == "24/7"
    assert parse_opening_hours(format_opening_hours(WeeklyHours.always())) == WeeklyHours.always()


@st.composite
def weekly_hours(draw: st.DrawFn) -> WeeklyHours:
    """Arbitrary minute-aligned hours: 0-3 (possibly overlapping) windows per day."""
    days = []
    for _ in range(7):
        windows = []
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(0, DAY // MINUTE - 1))
            end = draw(st.integers(start + 1, DAY // MINUTE))
            windows.append(TimeWindow(start * MINUTE, end * MINUTE))
        days.append(tuple(windows))
    return WeeklyHours(tuple(days))


@given(weekly_hours())
def test_render_then_parse_is_identity(hours: WeeklyHours) -> None:
    assert parse_opening_hours(str(hours)) == hours
    assert parse_opening_hours(format_opening_hours(hours)) == hours
