"""Re-plans seen by a subscriber: stored plan versions, stored feed state, real SQLite file.

Store plan v1 and read the feed; store v2 with one visit moved and one removed; the feed then
has the moved visit under the same UID with SEQUENCE + 1 and a new DTSTAMP/LAST-MODIFIED, and
the removed visit as STATUS:CANCELLED (SEQUENCE + 1) until the configured days have passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause, VisitRecord, VisitStatus
from routeplanner.services.calendar import CalendarFeeds
from routeplanner.services.planning import PlanningSetup
from routeplanner.services.repair import RepairParams, repair_current_plan
from routeplanner.storage import Store
from routeplanner.travel import HaversineTravel
from tests.calendar.conftest import LONG_NAME, MON, Clock, plan_v1, plan_v2, store_plan

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


def test_a_missed_visit_is_cancelled_at_once_and_its_make_up_appears_after_the_repair(
    feeds: CalendarFeeds, cal_store: Store, clock: Clock
) -> None:
    store_plan(cal_store, plan_v1())
    cal_store.territories.save(
        [
            Territory(territory_id="T1", name="T1", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="T2", rep_id="R2", account_ids=("B1",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    before = _events(feeds, ["R1"])
    other = _events(feeds, ["R2"])
    missed_uid = next(
        uid
        for uid, e in before.items()
        if str(e["SUMMARY"]) == "Apotheke am Bismarckplatz" and e.decoded("DTSTART").date() == MON
    )

    clock.advance(minutes=5)
    cal_store.visits.record(
        VisitRecord(
            account_id="A2", rep_id="R1", day=MON, status=VisitStatus.MISSED, visit_id=f"A2@{MON}"
        )
    )
    # No repair has run yet: the report alone cancels the event.
    now = _events(feeds, ["R1"])
    assert str(now[missed_uid]["STATUS"]) == "CANCELLED"
    assert now[missed_uid].decoded("SEQUENCE") == 1
    assert all(str(e["STATUS"]) == "CONFIRMED" for uid, e in now.items() if uid != missed_uid)
    assert all(now[uid].decoded("SEQUENCE") == 0 for uid in before if uid != missed_uid)

    clock.advance(minutes=5)
    summary = repair_current_plan(
        cal_store, HaversineTravel(), RepairParams(today=MON), PlanningSetup()
    )
    assert summary.changes["R2"].size == 0
    after = _events(feeds, ["R1"])
    assert str(after[missed_uid]["STATUS"]) == "CANCELLED"
    make_up = [
        e
        for uid, e in after.items()
        if uid not in before and str(e["SUMMARY"]) == "Apotheke am Bismarckplatz"
    ]
    assert len(make_up) == 1
    assert str(make_up[0]["STATUS"]) == "CONFIRMED"
    assert make_up[0].decoded("DTSTART").date() > MON
    # The other rep's feed did not change at all.
    again = _events(feeds, ["R2"])
    assert {u: e.to_ical() for u, e in again.items()} == {u: e.to_ical() for u, e in other.items()}
