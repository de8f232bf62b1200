"""The unit of work: all or nothing across areas, named errors, the data version, commit
listeners; on a real SQLite file and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from routeplanner.errors import StorageError
from routeplanner.model import Horizon, Territory
from routeplanner.model.history import OwnershipCause, VisitRecord, VisitStatus
from routeplanner.storage import Area, Commit, DataVersion, Store, UserRole
from routeplanner.storage.engine import session_factory
from routeplanner.storage.store import AREA_OF_TABLE
from routeplanner.storage.tables import Base
from tests.storage.conftest import FakeClock, make_accounts, make_plan, make_reps

HORIZON = Horizon(start=date(2026, 3, 2), weeks=1)


def _nothing_stored(url: str) -> None:
    """Seen through a second store (its own connections), as another process would."""
    other = Store.open(url, upgrade=False)
    try:
        assert other.accounts.all() == []
        assert other.reps.all() == []
        assert other.plans.all() == []
        assert other.users.all() == []
    finally:
        other.close()


def test_an_exception_inside_a_transaction_leaves_nothing_in_any_area(
    store: Store, migrated_db_url: str
) -> None:
    def write_everywhere_then_fail() -> None:
        with store.transaction() as tx:
            tx.accounts.upsert(make_accounts(), source="crm")
            tx.reps.upsert(make_reps(), source="hr")
            tx.plans.start(HORIZON)
            tx.users.create("anna", "hash", role=UserRole.MANAGER)
            assert len(tx.accounts.all()) == 3  # the transaction sees its own writes
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        write_everywhere_then_fail()
    _nothing_stored(migrated_db_url)


def test_a_committed_transaction_is_seen_whole_by_another_store(
    store: Store, migrated_db_url: str
) -> None:
    with store.transaction() as tx:
        tx.accounts.upsert(make_accounts(), source="crm")
        tx.reps.upsert(make_reps(), source="hr")
        plan_id = tx.plans.start(HORIZON)
        tx.plans.complete(plan_id, make_plan())
    other = Store.open(migrated_db_url, upgrade=False)
    try:
        assert len(other.accounts.all()) == 3
        assert len(other.reps.all()) == 2
        assert other.plans.current_id() == plan_id
    finally:
        other.close()


def test_a_failed_step_caught_inside_the_block_is_never_committed(
    store: Store, migrated_db_url: str
) -> None:
    """Catching a StorageError must not commit what the transaction did before or after it."""

    def carry_on_after_a_failure() -> None:
        with store.transaction("seeding") as tx:
            tx.accounts.upsert(make_accounts(), source="crm")
            with pytest.raises(StorageError, match=r"^seeding: no such plan$"):
                tx.plans.delete(999)
            with pytest.raises(StorageError, match="an earlier step of this transaction failed"):
                tx.reps.upsert(make_reps(), source="hr")

    with pytest.raises(StorageError) as info:
        carry_on_after_a_failure()
    assert str(info.value) == "seeding: not committed, a step failed: seeding: no such plan"
    _nothing_stored(migrated_db_url)


def test_a_refused_write_names_the_step_and_rolls_back_the_others(
    store: Store, migrated_db_url: str
) -> None:
    """The CHECK on visit_duration_s fails at the step's flush, not later at the commit."""
    bad = dataclasses.replace(make_accounts()[1], account_id="B2")
    object.__setattr__(bad, "visit_duration_s", 0)  # bypasses the model check on purpose

    def write_reps_then_a_bad_account() -> None:
        with store.transaction() as tx:
            tx.reps.upsert(make_reps(), source="hr")
            tx.accounts.upsert([bad], source="crm")

    with pytest.raises(StorageError) as info:
        write_reps_then_a_bad_account()
    assert str(info.value).startswith(
        "import of accounts from crm: the database refused the change: "
    )
    _nothing_stored(migrated_db_url)


def test_a_read_transaction_refuses_writes(store: Store) -> None:
    with store.read() as tx:
        assert tx.accounts.all() == []
        with pytest.raises(StorageError, match="a read transaction cannot write"):
            tx.accounts.upsert(make_accounts(), source="crm")
    assert store.accounts.all() == []


def test_one_call_outside_a_transaction_is_a_transaction_of_its_own(store: Store) -> None:
    store.reps.upsert(make_reps(), source="hr")
    with pytest.raises(StorageError, match=r"^saving territories: territory T1: unknown rep R9$"):
        store.territories.save(
            [Territory(territory_id="T1", name="Nord", rep_id="R9")], cause="manual"
        )
    assert len(store.reps.all()) == 2  # the failed call did not undo the earlier one


def test_data_version_changes_with_each_kind_of_write_it_covers(
    store: Store, clock: FakeClock
) -> None:
    """Accounts and reps added, changed, removed; a plan becoming current; a visit recorded
    and withdrawn."""
    accounts, reps = make_accounts(), make_reps()
    seen: list[DataVersion] = [store.data_version()]

    def changed() -> None:
        clock.advance(seconds=1)
        version = store.data_version()
        assert version not in seen
        seen.append(version)

    store.accounts.upsert(accounts, source="crm")
    changed()
    store.accounts.upsert([dataclasses.replace(accounts[0], name="Neu")], source="crm")
    changed()
    store.accounts.delete([accounts[2].account_id])
    changed()
    store.reps.upsert(reps, source="hr")
    changed()
    store.reps.upsert([dataclasses.replace(reps[0], name="Neu")], source="hr")
    changed()
    store.reps.replace_all(reps[:1], source="hr")
    changed()
    plan_id = store.plans.start(HORIZON)
    assert store.data_version() == seen[-1]  # a running plan is invisible to readers
    store.plans.complete(plan_id, make_plan())
    changed()
    record_id = store.visits.record(
        VisitRecord(account_id="A1", rep_id="R1", day=date(2026, 3, 2), status=VisitStatus.DONE)
    )
    changed()
    assert store.visits.withdraw(record_id)
    changed()
    assert seen[-1] == DataVersion(
        current_plan_id=plan_id,
        account_count=2,
        accounts_updated_at=seen[2].accounts_updated_at,
        rep_count=1,
        reps_updated_at=seen[6].reps_updated_at,
        newest_visit_record_id=seen[-1].newest_visit_record_id,
        visit_record_count=1,
        withdrawn_visit_count=1,
    )


def test_listeners_hear_of_a_commit_only_after_it(store: Store, migrated_db_url: str) -> None:
    heard: list[tuple[Commit, int]] = []
    other = Store.open(migrated_db_url, upgrade=False)

    def listener(commit: Commit) -> None:
        heard.append((commit, len(other.accounts.all())))  # committed: another store sees it

    store.on_commit(listener)
    try:
        with store.transaction() as tx:
            tx.accounts.upsert(make_accounts(), source="crm")
            tx.reps.upsert(make_reps(), source="hr")
            assert heard == []
        areas = frozenset({Area.ACCOUNTS, Area.REPS})
        assert heard == [(Commit(areas=areas, accounts=frozenset({"A1", "A2", "A3"})), 3)]
        with pytest.raises(RuntimeError, match="rolled back"):
            _start_a_plan_then_fail(store)
        with store.read() as tx:
            tx.accounts.all()
        store.plans.all()
        assert len(heard) == 1  # neither a rollback nor a read
        store.territories.save(
            [Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1",))],
            cause=OwnershipCause.MANUAL,
        )
        store.users.create("anna", "hash", role=UserRole.MANAGER)
        assert [c.areas for c, _ in heard[1:]] == [
            frozenset({Area.TERRITORIES}),
            frozenset({Area.USERS}),
        ]
    finally:
        other.close()


def test_a_commit_names_the_accounts_it_wrote_or_says_it_cannot(store: Store) -> None:
    """What the web caches replace one by one: the accounts a transaction inserted, updated
    or deleted row by row; ``None`` when a bulk statement hit the table (ids unknown)."""
    heard: list[Commit] = []
    store.on_commit(heard.append)
    store.accounts.upsert(make_accounts(), source="crm")
    (first, *_) = make_accounts()
    store.accounts.upsert([dataclasses.replace(first, name="Neu")], source="crm")
    store.accounts.upsert(make_accounts()[1:], source="crm")  # unchanged: nothing written
    store.reps.upsert(make_reps(), source="hr")
    store.accounts.delete(["A2"])
    assert [(c.areas, c.accounts) for c in heard] == [
        (frozenset({Area.ACCOUNTS}), frozenset({"A1", "A2", "A3"})),
        (frozenset({Area.ACCOUNTS}), frozenset({"A1"})),
        (frozenset({Area.REPS}), frozenset()),
        (frozenset({Area.ACCOUNTS, Area.TERRITORIES}), None),
    ]


def test_changed_since_reads_the_accounts_stamped_at_or_after_a_moment(
    store: Store, clock: FakeClock
) -> None:
    store.accounts.upsert(make_accounts(), source="crm")
    before = store.data_version().accounts_updated_at
    assert before == clock.now
    (first, second, _) = make_accounts()
    store.accounts.upsert([dataclasses.replace(first, name="Gleicher Takt")], source="crm")
    # the same tick of the clock: the data version cannot tell, the moment's accounts come again
    assert store.data_version().accounts_updated_at == before
    assert [a.account_id for a in store.accounts.changed_since(before)] == ["A1", "A2", "A3"]
    clock.advance(seconds=1)
    store.accounts.upsert([dataclasses.replace(second, name="Neu")], source="crm")
    after = store.data_version().accounts_updated_at
    assert after == clock.now
    assert [a.name for a in store.accounts.changed_since(after)] == ["Neu"]
    assert store.accounts.changed_since(clock.advance(seconds=1)) == []


def _start_a_plan_then_fail(store: Store) -> None:
    with store.transaction() as tx:
        tx.plans.start(HORIZON)
        raise RuntimeError("rolled back")


def test_a_failing_listener_reaches_the_caller_but_the_commit_stands(store: Store) -> None:
    def listener(commit: Commit) -> None:
        raise RuntimeError("listener broke")

    store.on_commit(listener)
    with pytest.raises(RuntimeError, match="listener broke"):
        store.reps.upsert(make_reps(), source="hr")
    assert len(store.reps.all()) == 2


def test_every_table_belongs_to_an_area() -> None:
    assert set(AREA_OF_TABLE) == set(Base.metadata.tables)
    assert set(AREA_OF_TABLE.values()) == set(Area)


def test_every_new_store_hears_its_commits(store: Store) -> None:
    # Stores on fresh session factories, each dropped before the next: a factory born at a freed
    # one's address must still note its writes (SQLAlchemy's registry is keyed by id()).
    for round_ in range(50):
        heard: list[Commit] = []
        fresh = Store(session_factory(store.engine))
        fresh.on_commit(heard.append)
        reps = [dataclasses.replace(r, name=f"{r.name} {round_}") for r in make_reps()]
        fresh.reps.upsert(reps, source="hr")
        assert heard, f"round {round_}: a commit through a new store went unheard"
        del fresh
