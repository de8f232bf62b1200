"""Territories and ownership history: who owned which account when, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routeplanner.errors import StorageError
from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause, OwnershipRecord
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store

from .conftest import FakeClock, make_accounts, make_reps

NORTH = Territory(
    territory_id="T-N", name="Nord (Neuenheim)", rep_id="R1", account_ids=("A2", "A1")
)
SOUTH = Territory(
    territory_id="T-S", name="Süd", rep_id="R2", account_ids=("A3",), segment="Gastro", locked=True
)


@pytest.fixture
def seeded(store: Store) -> Store:
    replace_accounts_and_reps(store, make_accounts(), make_reps(), source="seed.csv")
    return store


def test_territories_round_trip_in_order(seeded: Store) -> None:
    seeded.territories.save([SOUTH, NORTH], cause=OwnershipCause.RULE, user="anna")
    assert seeded.territories.all() == [NORTH, SOUTH]


def test_moving_an_account_closes_one_period_and_opens_another(
    seeded: Store, clock: FakeClock
) -> None:
    t0 = clock.now
    seeded.territories.save([NORTH, SOUTH], cause="rule", user="anna", detail="initial design")
    t1 = clock.advance(days=10)
    # A manual move: only the receiving territory is saved; A1 leaves T-N by itself.
    south = Territory(territory_id="T-S", name="Süd", rep_id="R2", account_ids=("A3", "A1"))
    seeded.territories.save(
        [south], cause=OwnershipCause.MANUAL, user="bernd", detail="Kunde wünscht"
    )
    assert seeded.territories.all() == [
        Territory(territory_id="T-N", name="Nord (Neuenheim)", rep_id="R1", account_ids=("A2",)),
        south,
    ]
    assert seeded.territories.ownership_history("A1") == [
        OwnershipRecord(
            account_id="A1",
            territory_id="T-N",
            rep_id="R1",
            valid_from=t0,
            valid_to=t1,
            cause=OwnershipCause.RULE,
            detail="initial design",
            changed_by="anna",
            ended_cause=OwnershipCause.MANUAL,
            ended_by="bernd",
        ),
        OwnershipRecord(
            account_id="A1",
            territory_id="T-S",
            rep_id="R2",
            valid_from=t1,
            valid_to=None,
            cause=OwnershipCause.MANUAL,
            detail="Kunde wünscht",
            changed_by="bernd",
        ),
    ]
    # A2 stayed where it was: one open period, untouched by the second save.
    [a2] = seeded.territories.ownership_history("A2")
    assert (a2.valid_from, a2.valid_to, a2.rep_id) == (t0, None, "R1")

    def owner(when: datetime) -> str | None:
        record = seeded.territories.owner_at("A1", when)
        return None if record is None else record.rep_id

    assert owner(t0 - timedelta(microseconds=1)) is None
    assert owner(t0) == "R1"
    assert owner(t1 - timedelta(microseconds=1)) == "R1"
    assert owner(t1) == "R2"  # periods are half-open: the new owner from t1 on
    assert owner(t1 + timedelta(days=365)) == "R2"


def test_owner_lookup_accepts_any_time_zone(seeded: Store, clock: FakeClock) -> None:
    seeded.territories.save([NORTH], cause="rule")
    from zoneinfo import ZoneInfo

    berlin = clock.now.astimezone(ZoneInfo("Europe/Berlin"))  # 08:00 local = 07:00 UTC
    record = seeded.territories.owner_at("A1", berlin)
    assert record is not None
    assert record.valid_from == clock.now
    assert record.valid_from.tzinfo is UTC
    with pytest.raises(ValueError, match="timezone-aware"):
        seeded.territories.owner_at("A1", datetime(2026, 3, 2, 8, 0))


def test_changing_the_rep_of_a_territory_is_an_ownership_change(
    seeded: Store, clock: FakeClock
) -> None:
    seeded.territories.save([NORTH], cause="rule")
    clock.advance(days=1)
    handed_over = Territory(territory_id="T-N", name="Nord", rep_id="R2", account_ids=("A2", "A1"))
    seeded.territories.save([handed_over], cause=OwnershipCause.REALIGNMENT, user="carla")
    for account_id in ("A1", "A2"):
        history = seeded.territories.ownership_history(account_id)
        assert [(h.rep_id, h.cause, h.ended_cause) for h in history] == [
            ("R1", OwnershipCause.RULE, OwnershipCause.REALIGNMENT),
            ("R2", OwnershipCause.REALIGNMENT, None),
        ]


def test_import_removing_accounts_and_reps_is_recorded(seeded: Store, clock: FakeClock) -> None:
    seeded.territories.save([NORTH, SOUTH], cause="rule")
    when = clock.advance(days=3)
    accounts, reps = make_accounts(), make_reps()
    # A1 disappears from the CRM and rep R1 leaves the company.
    replace_accounts_and_reps(seeded, accounts[1:], reps[1:], source="crm.csv", user="import-bot")
    assert seeded.territories.all() == [
        Territory(territory_id="T-N", name="Nord (Neuenheim)", rep_id=None, account_ids=("A2",)),
        SOUTH,
    ]
    [a1] = seeded.territories.ownership_history("A1")
    assert (a1.valid_to, a1.ended_cause, a1.ended_by) == (when, OwnershipCause.IMPORT, "import-bot")
    old, new = seeded.territories.ownership_history("A2")
    assert (old.rep_id, old.valid_to) == ("R1", when)
    assert (new.rep_id, new.cause, new.detail) == (
        None,
        OwnershipCause.IMPORT,
        "import from crm.csv",
    )
    assert len(seeded.territories.ownership_history("A3")) == 1  # untouched
    assert [
        (h.account_id, h.rep_id, h.valid_to) for h in seeded.territories.ownership_history()
    ] == [
        ("A1", "R1", when),
        ("A2", "R1", when),
        ("A3", "R2", None),
        ("A2", None, None),
    ]


def test_replace_all_deletes_unlisted_territories(seeded: Store, clock: FakeClock) -> None:
    seeded.territories.save([NORTH, SOUTH], cause="rule")
    clock.advance(hours=1)
    seeded.territories.save([SOUTH], cause="realignment", replace_all=True)
    assert seeded.territories.all() == [SOUTH]
    [a1] = seeded.territories.ownership_history("A1")
    assert a1.valid_to == clock.now
    assert seeded.territories.owner_at("A1", clock.now) is None


def test_invalid_territories_are_refused_with_every_problem(seeded: Store) -> None:
    seeded.territories.save([SOUTH], cause="rule")
    bad = [
        Territory(territory_id="T1", name="x", rep_id="R7", account_ids=("A1", "A8", "A9")),
        Territory(territory_id="T2", name="y", rep_id=None, account_ids=("A2",)),
    ]
    with pytest.raises(
        StorageError,
        match=(
            r"^saving territories: territory T1: unknown account\(s\) A8, A9; "
            r"territory T1: unknown rep R7$"
        ),
    ):
        seeded.territories.save(bad, cause="manual")
    twice = [
        Territory(territory_id="T1", name="x", rep_id=None, account_ids=("A1",)),
        Territory(territory_id="T2", name="y", rep_id=None, account_ids=("A1", "A2")),
    ]
    with pytest.raises(
        StorageError, match=r"^saving territories: account A1 is in territories T1 and T2$"
    ):
        seeded.territories.save(twice, cause="manual")
    with pytest.raises(StorageError, match=r"unknown cause 'whim' \(use rule, realignment, manual"):
        seeded.territories.save([SOUTH], cause="whim")
    assert seeded.territories.all() == [SOUTH]
    assert len(seeded.territories.ownership_history("A3")) == 1
