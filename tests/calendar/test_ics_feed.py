"""Plan -> ICS, checked with a second, independent parser (``icalendar``) field by field.

Also RFC 5545 details ``ics`` does not cover by itself: 75-octet folding on UTF-8 character
boundaries, escaping of commas, semicolons and newlines, and UTC times across a DST change.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from routeplanner.io.ics_feed import (
    VisitEvent,
    fold_lines,
    reconcile_feed,
    render_feed,
    visit_events,
)
from routeplanner.model import Plan
from routeplanner.model.feed import FeedEntry, FeedStatus
from tests.calendar.conftest import (
    FRI,
    HORIZON,
    LONG_NAME,
    MON,
    TUE,
    accounts,
    plan_v1,
    plan_v2,
)

NOW = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


def _uids() -> itertools.count[int]:
    return itertools.count(1)


def _entries(
    plan: Plan,
    rep_ids: set[str],
    previous: list[FeedEntry] | None = None,
    now: datetime = NOW,
    counter: itertools.count[int] | None = None,
) -> list[FeedEntry]:
    counter = counter or _uids()
    events = visit_events(plan, HORIZON, {a.account_id: a for a in accounts()}, rep_ids=rep_ids)
    return reconcile_feed(
        previous or [],
        events,
        horizon_start=HORIZON.start,
        now=now,
        keep_cancelled=timedelta(days=14),
        make_uid=lambda: f"uid-{next(counter)}@test",
    )


def _parse(text: str) -> list[icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(text)
    return sorted(calendar.walk("VEVENT"), key=lambda e: (e.decoded("DTSTART"), str(e["UID"])))


def test_every_field_of_a_visit_event_survives_an_independent_parser() -> None:
    entries = _entries(plan_v1(), {"R1"})
    text = render_feed(
        entries,
        name="Visits Jürgen Weiß",
        timezone="Europe/Berlin",
        base_url="https://plan.example.com",
    )
    calendar = icalendar.Calendar.from_ical(text)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == "-//routeplanner//calendar feed//EN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["X-WR-CALNAME"]) == "Visits Jürgen Weiß"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert calendar.decoded("REFRESH-INTERVAL") == timedelta(hours=1)
    assert str(calendar["X-PUBLISHED-TTL"]) == "PT1H"

    events = _parse(text)
    assert [str(e["SUMMARY"]) for e in events] == [
        LONG_NAME,
        LONG_NAME,
        "Apotheke am Bismarckplatz",
    ]
    first = events[0]
    assert first.decoded("DTSTART") == datetime(2027, 3, 26, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert first.decoded("DTEND") == datetime(2027, 3, 26, 8, 30, tzinfo=UTC)
    assert str(first["UID"]) == "uid-1@test"
    assert first.decoded("SEQUENCE") == 0
    assert str(first["STATUS"]) == "CONFIRMED"
    assert first.decoded("DTSTAMP") == NOW
    assert first.decoded("LAST-MODIFIED") == NOW
    assert str(first["LOCATION"]) == "Hauptstraße 1, 69117 Heidelberg"
    geo = first["GEO"]
    assert (geo.latitude, geo.longitude) == (pytest.approx(49.4106), pytest.approx(8.6940))
    assert first["CATEGORIES"].cats == ["Visit", "bakery", "Class A"]
    assert str(first["URL"]) == "https://plan.example.com/route?rep=R1&day=2027-03-26#stop-1"
    assert str(first["DESCRIPTION"]).split("\n") == [
        "Stop 1 of 1 on the route.",
        "Contact: Frau Weiß, +49 6221 12345",
        "Reason: weekly visit (class A)",
        "Notes: Ask for Frau Weiß; bring samples,",
        "new price list",
        "Travel from home: 15 min, 9.0 km",
        "Route: https://plan.example.com/route?rep=R1&day=2027-03-26#stop-1",
    ]
    third = events[2]
    assert str(third["DESCRIPTION"]).split("\n")[0] == "Stop 2 of 2 on the route."
    assert f"Travel from {LONG_NAME}: 5 min, 3.0 km" in str(third["DESCRIPTION"])


def test_times_are_utc_and_correct_across_the_dst_change() -> None:
    events = _parse(render_feed(_entries(plan_v1(), {"R1"}), name="x", timezone="Europe/Berlin"))
    starts = [e.decoded("DTSTART") for e in events]
    # 09:00 local on both days: UTC+1 before Sunday 2027-03-28, UTC+2 after it.
    assert starts[0] == datetime(2027, 3, 26, 8, 0, tzinfo=UTC)
    assert starts[1] == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    for event in events:
        assert event["DTSTART"].to_ical().endswith(b"Z")
    local = [s.astimezone(HORIZON.tz).strftime("%H:%M") for s in starts]
    assert local == ["09:00", "09:00", "10:00"]


def test_lines_are_folded_at_75_octets_without_splitting_a_character() -> None:
    text = render_feed(_entries(plan_v1(), {"R1"}), name="Ü" * 60, timezone="Europe/Berlin")
    raw = text.encode("utf-8")
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) == 75
    for line in lines:
        assert len(line) <= 75
        line.decode("utf-8")  # a split inside a multi-byte character would fail here
    assert any(line.startswith(b" ") for line in lines)
    assert "SUMMARY:Bäckerei Müller & Söhne\\, Filiale Weststadt\\; Öffnungszeiten" in text.replace(
        "\r\n ", ""
    )


def test_fold_lines_counts_octets_not_characters() -> None:
    folded = fold_lines("X:" + "ä" * 80)
    parts = folded.split("\r\n")
    assert [len(p.encode("utf-8")) for p in parts] == [74, 75, 15]
    assert "".join(p.removeprefix(" ") for p in parts) == "X:" + "ä" * 80


def test_commas_semicolons_and_newlines_are_escaped() -> None:
    text = render_feed(_entries(plan_v1(), {"R1"}), name="a,b;c", timezone="Europe/Berlin")
    unfolded = text.replace("\r\n ", "")
    assert "X-WR-CALNAME:a\\,b\\;c" in unfolded
    assert "Notes: Ask for Frau Weiß\\; bring samples\\,\\nnew price list" in unfolded
    assert "LOCATION:Hauptstraße 1\\, 69117 Heidelberg" in unfolded
    event = _parse(text)[0]
    assert str(event["SUMMARY"]) == LONG_NAME  # the parser undoes the escaping exactly
    assert "; bring samples,\nnew price list" in str(event["DESCRIPTION"])


def test_category_with_a_comma_stays_one_category() -> None:
    entry = _entries(plan_v1(), {"R1"})[0]
    content = {**entry.content, "categories": "Visit\nWein, Sekt"}
    text = render_feed(
        [FeedEntry(**{**_fields(entry), "content": content})], name="x", timezone="Europe/Berlin"
    )
    assert _parse(text)[0]["CATEGORIES"].cats == ["Visit", "Wein, Sekt"]


def _fields(entry: FeedEntry) -> dict[str, object]:
    return {f: getattr(entry, f) for f in FeedEntry.__dataclass_fields__}


def test_output_is_deterministic_and_sorted_by_start() -> None:
    entries = _entries(plan_v1(), {"R1", "R2"})
    first = render_feed(entries, name="x", timezone="Europe/Berlin")
    second = render_feed(list(reversed(entries)), name="x", timezone="Europe/Berlin")
    assert first == second
    starts = [e.decoded("DTSTART") for e in icalendar.Calendar.from_ical(first).walk("VEVENT")]
    assert starts == sorted(starts)


def test_date_range_limits_the_events() -> None:
    text = render_feed(
        _entries(plan_v1(), {"R1"}),
        name="x",
        timezone="Europe/Berlin",
        first_day=MON,
        last_day=MON,
    )
    assert [e.decoded("DTSTART").date() for e in _parse(text)] == [MON, MON]


def test_travel_blocks_precede_each_visit_with_travel() -> None:
    text = render_feed(
        _entries(plan_v1(), {"R1"}), name="x", timezone="Europe/Berlin", travel_blocks=True
    )
    events = _parse(text)
    travel = [e for e in events if str(e["UID"]).startswith("travel-")]
    assert len(travel) == 3
    first = travel[0]
    assert str(first["SUMMARY"]) == f"Travel to {LONG_NAME}"
    assert str(first["UID"]) == "travel-uid-1@test"
    assert first.decoded("DTSTART") == datetime(2027, 3, 26, 7, 45, tzinfo=UTC)
    assert first.decoded("DTEND") == datetime(2027, 3, 26, 8, 0, tzinfo=UTC)
    assert first["CATEGORIES"].cats == ["Travel"]
    assert str(first["TRANSP"]) == "OPAQUE"


def test_reconcile_keeps_uid_of_moved_visit_and_cancels_removed_one() -> None:
    counter = _uids()
    v1 = _entries(plan_v1(), {"R1"}, counter=counter)
    by_day = {(e.account_id, e.day): e for e in v1}
    v2 = _entries(plan_v2(), {"R1"}, previous=v1, now=LATER, counter=counter)
    after = {(e.account_id, e.day): e for e in v2}
    assert set(after) == {("A1", FRI), ("A1", TUE), ("A2", MON)}
    unchanged = after[("A1", FRI)]
    assert unchanged == by_day[("A1", FRI)]  # untouched: same sequence and timestamps
    moved = after[("A1", TUE)]
    assert moved.uid == by_day[("A1", MON)].uid
    assert moved.sequence == 1
    assert moved.modified_at == LATER
    assert moved.content["start"] == "2027-03-30T09:00:00Z"
    removed = after[("A2", MON)]
    assert removed.uid == by_day[("A2", MON)].uid
    assert removed.status is FeedStatus.CANCELLED
    assert removed.sequence == 1
    assert removed.cancelled_at == LATER


def test_reconcile_of_an_identical_plan_changes_nothing() -> None:
    v1 = _entries(plan_v1(), {"R1"})
    assert _entries(plan_v1(), {"R1"}, previous=v1, now=LATER) == v1


def test_cancelled_entries_expire_and_past_entries_stay() -> None:
    v1 = _entries(plan_v1(), {"R1"})
    cancelled = _entries(Plan(), {"R1"}, previous=v1, now=LATER)
    assert {e.status for e in cancelled} == {FeedStatus.CANCELLED}
    assert _entries(Plan(), {"R1"}, previous=cancelled, now=LATER + timedelta(days=14)) == []
    # A later plan starting after these days leaves them as history instead of cancelling.
    events: list[VisitEvent] = []
    kept = reconcile_feed(
        v1,
        events,
        horizon_start=date(2027, 4, 5),
        now=LATER,
        keep_cancelled=timedelta(days=14),
        make_uid=lambda: "unused",
    )
    assert kept == v1
    forgotten = reconcile_feed(
        v1,
        events,
        horizon_start=MON + timedelta(days=91),
        now=LATER,
        keep_cancelled=timedelta(days=14),
        make_uid=lambda: "unused",
    )
    assert forgotten == []


def test_past_visits_are_never_paired_with_future_ones() -> None:
    """A plan starting Saturday 03-27: Friday's visit is history, even if A1 is planned again."""
    v1 = _entries(plan_v1(), {"R1"})
    friday = next(e for e in v1 if e.day == FRI)
    monday = next(e for e in v1 if e.day == MON and e.account_id == "A1")
    events = visit_events(plan_v2(), HORIZON, {a.account_id: a for a in accounts()}, rep_ids={"R1"})
    future = [e for e in events if e.day > FRI]
    after = reconcile_feed(
        v1,
        future,
        horizon_start=date(2027, 3, 27),
        now=LATER,
        keep_cancelled=timedelta(days=14),
        make_uid=lambda: "new@test",
    )
    assert friday in after  # unchanged, not moved to Tuesday
    tuesday = next(e for e in after if e.day == TUE)
    assert tuesday.uid == monday.uid
    assert tuesday.sequence == 1


def test_nearest_date_matching_keeps_the_order_of_repeated_visits() -> None:
    """A weekly account whose whole schedule shifts by one day keeps each UID in order."""
    v1 = _entries(plan_v1(), {"R1"})
    a1 = {e.day: e.uid for e in v1 if e.account_id == "A1"}
    shifted = Plan(
        routes=tuple(
            r.__class__(
                **{
                    **{f: getattr(r, f) for f in r.__dataclass_fields__},
                    "day": r.day + timedelta(days=1),
                }
            )
            for r in plan_v1().routes
        )
    )
    v2 = _entries(shifted, {"R1"}, previous=v1, now=LATER)
    moved = {e.day: e.uid for e in v2 if e.account_id == "A1"}
    assert moved == {FRI + timedelta(days=1): a1[FRI], MON + timedelta(days=1): a1[MON]}


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")))
def test_folding_round_trips_any_text(value: str) -> None:
    line = "DESCRIPTION:" + value
    folded = fold_lines(line)
    for part in folded.split("\r\n"):
        assert len(part.encode("utf-8")) <= 75
    assert folded.replace("\r\n ", "") == line
