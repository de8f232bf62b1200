"""Re-plans seen by a subscriber: stored plan versions, stored feed state, real SQLite file.

Store plan v1 and read the feed; store v2 with one visit moved and one removed; the feed then
has the moved visit under the same UID with SEQUENCE + 1 and a new DTSTAMP/LAST-MODIFIED, and
the removed visit as STATUS:CANCELLED (SEQUENCE + 1) until the configured days have passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from routeplanner.services.calendar import CalendarFeeds
from routeplanner.storage import Store
from tests.calendar.conftest import LONG_NAME, Clock, plan_v1, plan_v2, store_plan

BASE = "https://plan.example.com"


def _events(feeds: CalendarFeeds, rep_ids: list[str]) -> dict[str, icalendar.Event]:
    text = feeds.feed(rep_ids, name="x", base_url=BASE).text
    return {str(e["UID"]): e for e in icalendar.Calendar.from_ical(text).walk("VEVENT")}


def test_moved_visit_keeps_uid_and_removed_visit_is_cancelled(
    feeds: CalendarFeeds, cal_store: Store, clock: Clock
) -> None:
    store_plan(cal_store, plan_v1())
    before = _events(feeds, ["R1"])
    assert len(before) == 3
    by_start = {e.decoded("DTSTART"): uid for uid, e in before.items()}
    moved_uid = by_start[datetime(2027, 3, 29, 7, 0, tzinfo=UTC)]  # A1 Monday 09:00 CEST
    removed_uid = by_start[datetime(2027, 3, 29, 8, 0, tzinfo=UTC)]  # A2 Monday 10:00 CEST
    kept_uid = by_start[datetime(2027, 3, 26, 8, 0, tzinfo=UTC)]  # A1 Friday, unchanged

    clock.advance(hours=2)
    store_plan(cal_store, plan_v2())
    after = _events(feeds, ["R1"])
    assert set(after) == set(before)

    moved = after[moved_uid]
    assert str(moved["SUMMARY"]) == LONG_NAME
    assert moved.decoded("DTSTART") == datetime(2027, 3, 30, 9, 0, tzinfo=UTC)  # Tue 11:00
    assert moved.decoded("SEQUENCE") == before[moved_uid].decoded("SEQUENCE") + 1 == 1
    assert moved.decoded("LAST-MODIFIED") == clock.now
    assert moved.decoded("DTSTAMP") > before[moved_uid].decoded("DTSTAMP")
    assert str(moved["STATUS"]) == "CONFIRMED"

    removed = after[removed_uid]
    assert str(removed["STATUS"]) == "CANCELLED"
    assert removed.decoded("SEQUENCE") == 1
    assert str(removed["SUMMARY"]) == "Apotheke am Bismarckplatz"

    kept = after[kept_uid]
    assert kept.decoded("SEQUENCE") == 0
    assert kept.decoded("LAST-MODIFIED") == before[kept_uid].decoded("LAST-MODIFIED")

    # After the configured while, the cancellation is no longer sent.
    clock.advance(days=feeds.settings.calendar_cancelled_days, hours=1)
    assert removed_uid not in _events(feeds, ["R1"])


def test_a_rep_feed_never_contains_another_reps_visits(
    feeds: CalendarFeeds, cal_store: Store
) -> None:
    store_plan(cal_store, plan_v1())
    r1 = _events(feeds, ["R1"])
    r2 = _events(feeds, ["R2"])
    assert {str(e["SUMMARY"]) for e in r2.values()} == {"Other Rep's Kunde"}
    assert "Other Rep's Kunde" not in {str(e["SUMMARY"]) for e in r1.values()}
    team = _events(feeds, ["R1", "R2"])
    assert set(team) == set(r1) | set(r2)


def test_feed_is_cached_on_plan_and_feed_version(
    feeds: CalendarFeeds, cal_store: Store, clock: Clock
) -> None:
    store_plan(cal_store, plan_v1())
    first = feeds.feed(["R1"], name="x", base_url=BASE)
    again = feeds.feed(["R1"], name="x", base_url=BASE)
    assert again is first
    assert (feeds.cache_hits, feeds.cache_misses) == (1, 1)
    clock.advance(minutes=5)
    store_plan(cal_store, plan_v2())
    changed = feeds.feed(["R1"], name="x", base_url=BASE)
    assert changed.etag != first.etag
    assert feeds.cache_misses == 2


def test_feed_state_is_stored_so_a_new_process_keeps_uids(
    feeds: CalendarFeeds, cal_store: Store, clock: Clock
) -> None:
    store_plan(cal_store, plan_v1())
    uids = set(_events(feeds, ["R1"]))
    fresh = CalendarFeeds(cal_store, feeds.settings, clock=clock)
    assert set(_events(fresh, ["R1"])) == uids
    info = cal_store.feeds.infos(["R1"])["R1"]
    assert info.version == 1
    assert cal_store.feeds.save("R1", info.plan_id or 0, [], expected_version=0) is None


def test_no_plan_gives_an_empty_valid_calendar(feeds: CalendarFeeds) -> None:
    text = feeds.feed(["R1"], name="x", base_url=BASE).text
    calendar = icalendar.Calendar.from_ical(text)
    assert calendar.walk("VEVENT") == []
    assert timedelta(hours=1) == calendar.decoded("REFRESH-INTERVAL")


def test_feed_names_the_plans_time_zone(feeds: CalendarFeeds, cal_store: Store) -> None:
    from dataclasses import replace

    from tests.calendar.conftest import HORIZON

    plan_id = cal_store.plans.start(replace(HORIZON, timezone="America/New_York"))
    cal_store.plans.complete(plan_id, plan_v1())
    text = feeds.feed(["R1"], name="x", base_url=BASE).text
    calendar = icalendar.Calendar.from_ical(text)
    assert str(calendar["X-WR-TIMEZONE"]) == "America/New_York"
    starts = sorted(e.decoded("DTSTART") for e in calendar.walk("VEVENT"))
    # 09:00 in New York (EDT, UTC-4, since 2027-03-14) is 13:00 UTC.
    assert starts[0] == datetime(2027, 3, 26, 13, 0, tzinfo=UTC)
