"""Calendar feed state in the database: round trip, optimistic versions, migration 0002 tables."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from routeplanner.errors import StorageError
from routeplanner.model.feed import FeedEntry, FeedStatus
from routeplanner.storage import Store
from tests.storage.conftest import FakeClock


def _entry(clock: FakeClock, uid: str, *, cancelled: bool = False, rep: str = "R1") -> FeedEntry:
    return FeedEntry(
        rep_id=rep,
        account_id="A1",
        uid=uid,
        day=date(2027, 3, 29),
        sequence=2 if cancelled else 0,
        status=FeedStatus.CANCELLED if cancelled else FeedStatus.CONFIRMED,
        content_hash="ab" * 16,
        modified_at=clock.now,
        cancelled_at=clock.now + timedelta(minutes=1) if cancelled else None,
        content={"summary": "Bäckerei Müller, Weststadt; Ü", "start": "2027-03-29T07:00:00Z"},
    )


def test_feed_entries_round_trip_with_versions(store: Store, clock: FakeClock) -> None:
    assert store.feeds.infos(["R1"]) == {}
    entries = [_entry(clock, "u1@x"), _entry(clock, "u2@x", cancelled=True)]
    assert store.feeds.save("R1", 7, entries, expected_version=0) == 1
    assert store.feeds.entries(["R1"]) == entries
    info = store.feeds.infos(["R1", "R2"])["R1"]
    assert (info.plan_id, info.version, info.updated_at) == (7, 1, clock.now)

    clock.advance(minutes=5)
    # A writer that read version 0 lost the race: nothing is written.
    assert store.feeds.save("R1", 8, [], expected_version=0) is None
    assert store.feeds.entries(["R1"]) == entries
    assert store.feeds.save("R1", 8, entries[:1], expected_version=1) == 2
    assert store.feeds.entries(["R1"]) == entries[:1]
    assert store.feeds.infos(["R1"])["R1"].plan_id == 8


def test_feed_entries_are_per_rep(store: Store, clock: FakeClock) -> None:
    store.feeds.save("R1", 1, [_entry(clock, "u1@x")], expected_version=0)
    store.feeds.save("R2", 1, [_entry(clock, "u2@x", rep="R2")], expected_version=0)
    assert [e.uid for e in store.feeds.entries(["R2"])] == ["u2@x"]
    assert [e.uid for e in store.feeds.entries(["R1", "R2"])] == ["u1@x", "u2@x"]


def test_feed_refuses_foreign_and_duplicate_entries(store: Store, clock: FakeClock) -> None:
    with pytest.raises(StorageError, match="every entry must belong to rep R1"):
        store.feeds.save("R1", 1, [_entry(clock, "u@x", rep="R2")], expected_version=0)
    with pytest.raises(StorageError, match="uid 'u@x' appears 2 times"):
        store.feeds.save("R1", 1, [_entry(clock, "u@x"), _entry(clock, "u@x")], expected_version=0)
    assert store.feeds.infos(["R1"]) == {}
