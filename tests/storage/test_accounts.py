"""Accounts and reps: exact round trips and all-or-nothing imports on a real database."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from routeplanner.errors import StorageError
from routeplanner.model import Account, GeoPoint, Rep, TimeWindow, WeeklyHours
from routeplanner.storage import ImportSummary, Repository
from routeplanner.storage import repository as repository_module
from routeplanner.units import HOUR

from .conftest import make_accounts, make_reps


def test_import_round_trip_returns_equal_domain_objects(repo: Repository) -> None:
    accounts, reps = make_accounts(), make_reps()
    summary = repo.replace_accounts_and_reps(accounts, reps, source="accounts.csv")
    assert summary == ImportSummary(accounts_added=3, reps_added=2)
    assert repo.list_accounts() == sorted(accounts, key=lambda a: a.account_id)
    assert repo.list_reps() == reps
    stored = repo.get_account("A1")
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
    rep = repo.get_rep("R1")
    assert rep is not None
    assert rep.days_off == frozenset({date(2026, 3, 9), date(2026, 4, 6), date(2026, 12, 24)})
    assert rep.lunch == reps[0].lunch
    assert repo.get_rep("R2") == reps[1]
    assert repo.get_account("nope") is None
    assert repo.get_rep("nope") is None


def test_reimport_counts_changes_and_removes_missing_rows(repo: Repository) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts, reps, source="v1.csv")
    moved = dataclasses.replace(accounts[1], name="Apotheke am Bismarckplatz (neu)")
    extra = dataclasses.replace(accounts[2], account_id="A4")
    summary = repo.replace_accounts_and_reps(
        [accounts[0], moved, extra], [reps[1]], source="v2.csv"
    )
    assert summary == ImportSummary(
        accounts_added=1,
        accounts_changed=1,
        accounts_unchanged=1,
        accounts_removed=1,
        reps_unchanged=1,
        reps_removed=1,
    )
    assert [a.account_id for a in repo.list_accounts()] == ["A1", "A2", "A4"]
    assert repo.get_account("A2") == moved
    assert repo.list_reps() == [reps[1]]


def test_a_failure_midway_through_an_import_changes_nothing(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts, reps, source="v1.csv")
    real = repository_module._account_values
    calls: list[str] = []

    def failing(account: Account) -> dict[str, Any]:
        # By the third account the removals and the first two writes have been flushed.
        calls.append(account.account_id)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(account)

    monkeypatch.setattr(repository_module, "_account_values", failing)
    changed = [
        dataclasses.replace(a, name=a.name + " X", account_id=a.account_id + "x") for a in accounts
    ]
    with pytest.raises(RuntimeError, match="disk on fire"):
        repo.replace_accounts_and_reps(changed, reps[:1], source="v2.csv")
    assert calls == ["A1x", "A2x", "A3x"]
    assert repo.list_accounts() == sorted(accounts, key=lambda a: a.account_id)
    assert repo.list_reps() == reps


def test_duplicate_ids_are_refused_and_nothing_is_written(repo: Repository) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts[:1], reps, source="v1.csv")
    doubled = [*accounts, dataclasses.replace(accounts[1], name="Zweite"), accounts[0]]
    with pytest.raises(
        StorageError,
        match=(
            r"^import from v2\.csv: account_id 'A1' appears 2 times; "
            r"account_id 'A2' appears 2 times$"
        ),
    ):
        repo.replace_accounts_and_reps(doubled, reps, source="v2.csv")
    assert repo.list_accounts() == accounts[:1]


def test_a_database_constraint_failure_rolls_back_the_whole_import(repo: Repository) -> None:
    """The CHECK on visit_duration_s fires inside the database on the second account."""
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts, reps, source="v1.csv")
    bad = dataclasses.replace(accounts[1], account_id="B2")
    object.__setattr__(bad, "visit_duration_s", 0)  # bypasses the model check on purpose
    with pytest.raises(
        StorageError,
        match=r"^import from v2\.csv: the database refused the change: .*visit_duration",
    ):
        repo.replace_accounts_and_reps([accounts[0], bad], [], source="v2.csv")
    assert repo.list_accounts() == sorted(accounts, key=lambda a: a.account_id)
    assert repo.list_reps() == reps


def test_over_long_ids_are_refused_the_same_on_every_backend(repo: Repository) -> None:
    long_id = "K" * 256
    account = dataclasses.replace(make_accounts()[1], account_id=long_id)
    with pytest.raises(StorageError, match=r"account_id 'KKKK.*'\.\.\. is longer than 255"):
        repo.upsert_accounts([account], source="crm")
    assert repo.list_accounts() == []


def test_upserts_leave_unlisted_rows_alone(repo: Repository) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts[:2], reps[:1], source="v1.csv")
    renamed = dataclasses.replace(accounts[0], phone="")
    assert repo.upsert_accounts([renamed, accounts[2]], source="crm") == ImportSummary(
        accounts_added=1, accounts_changed=1
    )
    assert repo.list_accounts() == [renamed, accounts[1], accounts[2]]
    later = dataclasses.replace(
        reps[0], working_hours=WeeklyHours.uniform(TimeWindow(9 * HOUR, 18 * HOUR))
    )
    assert repo.upsert_reps([later, reps[1]], source="hr") == ImportSummary(
        reps_added=1, reps_changed=1
    )
    assert repo.list_reps() == [later, reps[1]]


def test_delete_accounts_reports_how_many_existed(repo: Repository) -> None:
    repo.replace_accounts_and_reps(make_accounts(), [], source="v1.csv")
    assert repo.delete_accounts(["A1", "A3", "A7"]) == 2
    assert [a.account_id for a in repo.list_accounts()] == ["A2"]


def test_rep_without_lunch_or_drive_limit_round_trips(repo: Repository) -> None:
    rep = Rep(
        rep_id="R9",
        name="Ünal Özdemir",
        home=GeoPoint(0.0, 0.0),
        working_hours=WeeklyHours(),
        max_drive_s=None,
    )
    repo.upsert_reps([rep], source="hr")
    assert repo.list_reps() == [rep]


def test_lock_postcode_and_required_qualifications_round_trip(repo: Repository) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts, reps, source="accounts.csv")
    stored = repo.get_account("A1")
    assert stored is not None
    assert (stored.postcode, stored.locked_rep_id) == ("69117", "R1")
    assert stored.required_qualifications == frozenset({"Pharma", "Kälte"})
    other = repo.get_account("A2")
    assert other is not None
    assert (other.postcode, other.locked_rep_id, other.required_qualifications) == (
        "",
        None,
        frozenset(),
    )
