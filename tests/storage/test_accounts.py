"""Accounts and reps: exact round trips and all-or-nothing imports on a real database."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import date
from typing import Any

import pytest

from routeplanner.errors import StorageError
from routeplanner.model import Account, GeoPoint, Rep, Territory, TimeWindow, WeeklyHours
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import delete_accounts, replace_accounts_and_reps
from routeplanner.storage import ImportSummary, Store
from routeplanner.storage import accounts as accounts_module
from routeplanner.units import HOUR

from .conftest import make_accounts, make_reps


def test_import_round_trip_returns_equal_domain_objects(store: Store) -> None:
    accounts, reps = make_accounts(), make_reps()
    summary = replace_accounts_and_reps(store, accounts, reps, source="accounts.csv")
    assert summary == ImportSummary(accounts_added=3, reps_added=2)
    assert store.accounts.all() == sorted(accounts, key=lambda a: a.account_id)
    assert store.reps.all() == reps
    stored = store.accounts.get("A1")
    assert stored == accounts[0]
    assert stored is not None
    # The parts most likely to be mangled, checked one by one for a readable failure.
    assert stored.name == "Bäckerei Müller & Söhne"
    assert stored.tags == frozenset({"Öko", "Großkunde"})
    assert stored.location == GeoPoint(49.398765432123, 8.672434567891)
    assert stored.opening_hours.on(4) == (
        TimeWindow(7 * HOUR, 9 * HOUR),
        TimeWindow(11 * HOUR, 13 * HOUR),
        TimeWindow(15 * HOUR, 16 * HOUR),
    )
    assert str(stored.opening_hours) == str(accounts[0].opening_hours)
    rep = store.reps.get("R1")
    assert rep is not None
    assert rep.days_off == frozenset({date(2026, 3, 9), date(2026, 4, 6), date(2026, 12, 24)})
    assert rep.lunch == reps[0].lunch
    assert store.reps.get("R2") == reps[1]
    assert store.accounts.get("nope") is None
    assert store.reps.get("nope") is None


def test_reimport_counts_changes_and_removes_missing_rows(store: Store) -> None:
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="v1.csv")
    moved = dataclasses.replace(accounts[1], name="Apotheke am Bismarckplatz (neu)")
    extra = dataclasses.replace(accounts[2], account_id="A4")
    summary = replace_accounts_and_reps(
        store, [accounts[0], moved, extra], [reps[1]], source="v2.csv"
    )
    assert summary == ImportSummary(
        accounts_added=1,
        accounts_changed=1,
        accounts_unchanged=1,
        accounts_removed=1,
        reps_unchanged=1,
        reps_removed=1,
    )
    assert [a.account_id for a in store.accounts.all()] == ["A1", "A2", "A4"]
    assert store.accounts.get("A2") == moved
    assert store.reps.all() == [reps[1]]


def test_a_failure_midway_through_an_import_changes_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="v1.csv")
    real = accounts_module._account_values
    calls: list[str] = []

    def failing(account: Account) -> dict[str, Any]:
        # By the third account the account removals and the first two writes are flushed.
        calls.append(account.account_id)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(account)

    monkeypatch.setattr(accounts_module, "_account_values", failing)
    changed = [
        dataclasses.replace(a, name=a.name + " X", account_id=a.account_id + "x") for a in accounts
    ]
    with pytest.raises(RuntimeError, match="disk on fire"):
        replace_accounts_and_reps(store, changed, reps[:1], source="v2.csv")
    assert calls == ["A1x", "A2x", "A3x"]
    assert store.accounts.all() == sorted(accounts, key=lambda a: a.account_id)
    assert store.reps.all() == reps


def test_a_failure_at_the_reps_rolls_back_the_accounts_too(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reps come after the accounts in the import's unit of work: by the first rep every
    account change and the removal of rep R2 are flushed, and all of it is rolled back."""
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="v1.csv")

    def failing(rep: Rep) -> dict[str, Any]:
        raise RuntimeError(f"disk on fire at {rep.rep_id}")

    monkeypatch.setattr(accounts_module, "_rep_values", failing)
    changed = [dataclasses.replace(a, account_id=a.account_id + "x") for a in accounts[:2]]
    with pytest.raises(RuntimeError, match="disk on fire at R1"):
        replace_accounts_and_reps(store, changed, reps[:1], source="v2.csv")
    assert store.accounts.all() == sorted(accounts, key=lambda a: a.account_id)
    assert store.reps.all() == reps


def test_duplicate_ids_are_refused_and_nothing_is_written(store: Store) -> None:
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts[:1], reps, source="v1.csv")
    doubled = [*accounts, dataclasses.replace(accounts[1], name="Zweite"), accounts[0]]
    with pytest.raises(
        StorageError,
        match=(
            r"^import from v2\.csv: account_id 'A1' appears 2 times; "
            r"account_id 'A2' appears 2 times$"
        ),
    ):
        replace_accounts_and_reps(store, doubled, reps, source="v2.csv")
    assert store.accounts.all() == accounts[:1]


def test_a_database_constraint_failure_rolls_back_the_whole_import(store: Store) -> None:
    """The CHECK on visit_duration_s fires inside the database on the second account."""
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="v1.csv")
    bad = dataclasses.replace(accounts[1], account_id="B2")
    object.__setattr__(bad, "visit_duration_s", 0)  # bypasses the model check on purpose
    with pytest.raises(
        StorageError,
        match=r"^import from v2\.csv: the database refused the change: .*visit_duration",
    ):
        replace_accounts_and_reps(store, [accounts[0], bad], [], source="v2.csv")
    assert store.accounts.all() == sorted(accounts, key=lambda a: a.account_id)
    assert store.reps.all() == reps


def test_over_long_ids_are_refused_the_same_on_every_backend(store: Store) -> None:
    long_id = "K" * 256
    account = dataclasses.replace(make_accounts()[1], account_id=long_id)
    with pytest.raises(StorageError, match=r"account_id 'KKKK.*'\.\.\. is longer than 255"):
        store.accounts.upsert([account], source="crm")
    assert store.accounts.all() == []


def test_upserts_leave_unlisted_rows_alone(store: Store) -> None:
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts[:2], reps[:1], source="v1.csv")
    renamed = dataclasses.replace(accounts[0], phone="")
    assert store.accounts.upsert([renamed, accounts[2]], source="crm") == ImportSummary(
        accounts_added=1, accounts_changed=1
    )
    assert store.accounts.all() == [renamed, accounts[1], accounts[2]]
    later = dataclasses.replace(
        reps[0], working_hours=WeeklyHours.uniform(TimeWindow(9 * HOUR, 18 * HOUR))
    )
    assert store.reps.upsert([later, reps[1]], source="hr") == ImportSummary(
        reps_added=1, reps_changed=1
    )
    assert store.reps.all() == [later, reps[1]]


def test_delete_accounts_reports_how_many_existed(store: Store) -> None:
    replace_accounts_and_reps(store, make_accounts(), [], source="v1.csv")
    assert delete_accounts(store, ["A1", "A3", "A7"]) == 2
    assert [a.account_id for a in store.accounts.all()] == ["A2"]


def test_deleting_accounts_ends_their_ownership_in_the_same_transaction(store: Store) -> None:
    replace_accounts_and_reps(store, make_accounts(), make_reps(), source="v1.csv")
    store.territories.save(
        [Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2"))],
        cause=OwnershipCause.MANUAL,
    )
    assert delete_accounts(store, ["A1"], user="anna") == 1
    assert store.territories.all()[0].account_ids == ("A2",)
    assert store.territories.current_ownership("A1") is None
    (ended,) = store.territories.ownership_history("A1")
    assert (ended.ended_cause, ended.ended_by) == (OwnershipCause.MANUAL, "anna")
    assert store.territories.current_ownership("A2") is not None  # untouched


def test_rep_without_lunch_or_drive_limit_round_trips(store: Store) -> None:
    rep = Rep(
        rep_id="R9",
        name="Ünal Özdemir",
        home=GeoPoint(0.0, 0.0),
        working_hours=WeeklyHours(),
        max_drive_s=None,
    )
    store.reps.upsert([rep], source="hr")
    assert store.reps.all() == [rep]


def test_lock_postcode_and_required_qualifications_round_trip(store: Store) -> None:
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="accounts.csv")
    stored = store.accounts.get("A1")
    assert stored is not None
    assert (stored.postcode, stored.locked_rep_id) == ("69117", "R1")
    assert stored.required_qualifications == frozenset({"Pharma", "Kälte"})
    other = store.accounts.get("A2")
    assert other is not None
    assert (other.postcode, other.locked_rep_id, other.required_qualifications) == (
        "",
        None,
        frozenset(),
    )


def test_find_locked_accounts_holds_off_a_writer_until_the_transaction_ends(
    store: Store, migrated_db_url: str
) -> None:
    replace_accounts_and_reps(store, make_accounts(), make_reps(), source="t")
    assert [a.account_id for a in store.accounts.find(["A3", "nope", "A1"])] == ["A1", "A3"]
    other = Store.open(migrated_db_url)
    wrote: list[ImportSummary] = []
    try:
        with store.transaction("checking, then writing") as tx:
            (a1,) = tx.accounts.find(["A1"], lock=True)
            writer = threading.Thread(
                target=lambda: wrote.append(
                    other.accounts.upsert([dataclasses.replace(a1, name="X")], source="other")
                )
            )
            writer.start()
            time.sleep(0.5)
            assert writer.is_alive()  # waits for the lock (PostgreSQL) or the writer (SQLite)
            tx.accounts.upsert([dataclasses.replace(a1, name="Mine")], source="mine")
        writer.join(timeout=30)
        assert wrote == [ImportSummary(accounts_changed=1)]
        stored = store.accounts.get("A1")
        assert stored is not None
        assert stored.name == "X"  # the writer went after the transaction, never in between
    finally:
        other.close()
