"""No control character from the data reaches a calendar feed: a raw CR (or LF, NUL, ESC, a
Unicode line separator) in a name, address, category, note or rep name cannot start a line of
its own, so it cannot inject a property such as ``X-INJ:1`` or a second event."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import icalendar

from routeplanner.io.ics_feed import reconcile_feed, render_feed, visit_events
from tests.calendar.conftest import HORIZON, accounts, plan_v1

NOW = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)
HOSTILE = {
    "name": "Bäckerei\rX-INJ-NAME:1",
    "address": "Hauptstr. 1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil",
    "category": "cat\rX-INJ:1",
    "notes": "a\x00b\x1b[31mc\u2028X-INJ-NOTES:1",
    "contact": "Frau\x0bWeiß",
}


def _feed(name: str = "Visits Jürgen\rX-INJ-CAL:1") -> str:
    hostile = [dataclasses.replace(a, **HOSTILE) for a in accounts()]
    events = visit_events(plan_v1(), HORIZON, {a.account_id: a for a in hostile}, rep_ids={"R1"})
    counter = iter(range(1, 1000))
    entries = reconcile_feed(
        [],
        events,
        horizon_start=HORIZON.start,
        now=NOW,
        keep_cancelled=timedelta(days=14),
        make_uid=lambda: f"uid-{next(counter)}@test",
    )
    return render_feed(entries, name=name, timezone="Europe/Berlin")


def test_no_control_character_but_the_line_ends() -> None:
    text = _feed()
    body = text.replace("\r\n", "")
    bad = [c for c in body if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029"]
    assert bad == []
    assert not re.search(r"^(X-INJ|UID:evil|END:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil)", text, re.M)


def test_the_feed_still_parses_to_the_same_events() -> None:
    calendar = icalendar.Calendar.from_ical(_feed())
    events = list(calendar.walk("VEVENT"))
    assert events
    assert all(not str(e["UID"]).startswith("evil") for e in events)
    assert {str(e["SUMMARY"]) for e in events} == {"Bäckerei X-INJ-NAME:1"}
    assert not any(key.startswith("X-INJ") for e in events for key in e)
    assert str(calendar["X-WR-CALNAME"]) == "Visits Jürgen X-INJ-CAL:1"
