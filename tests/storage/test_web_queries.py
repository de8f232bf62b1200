"""Store queries the web app's hot path and start-up rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

from routeplanner.model import Horizon
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.services.imports import delete_accounts, replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.records import PlanStatus
from routeplanner.web.services import Services
from tests.storage.conftest import FakeClock, make_accounts, make_plan, make_reps

HORIZON = Horizon(start=date(2026, 3, 2), weeks=1)


def test_data_version_changes_with_what_the_day_page_caches(store: Store, clock: FakeClock) -> None:
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    first = store.data_version()
    assert first == store.data_version()  # reading changes nothing
    assert first.current_plan_id is None  # no current plan yet
    assert first.account_count == len(accounts)
    assert first.rep_count == len(reps)
    plan_id = store.plans.start(HORIZON)
    running = store.data_version()
    store.plans.complete(plan_id, make_plan())
    done = store.data_version()
    assert done.current_plan_id == plan_id
    assert running.current_plan_id is None  # a running plan is not current
    clock.advance(minutes=1)
    renamed = dataclasses.replace(accounts[0], name="Neuer Name")
    store.accounts.upsert([renamed], source="test")
    edited = store.data_version()
    assert edited.accounts_updated_at != done.accounts_updated_at
    assert (edited.rep_count, edited.reps_updated_at) == (done.rep_count, done.reps_updated_at)
    clock.advance(minutes=1)
    delete_accounts(store, [accounts[-1].account_id])
    assert store.data_version().account_count == len(accounts) - 1
    moved = dataclasses.replace(reps[0], name="Anna Schmidt-Weiß")
    store.reps.upsert([moved], source="test")  # same clock tick as the delete
    after = store.data_version()
    assert after.reps_updated_at != edited.reps_updated_at


def test_the_web_cache_sees_its_own_writes_within_one_clock_tick(
    store: Store, tmp_path: Path
) -> None:
    """Count and ``updated_at`` cannot tell two edits in one tick apart; the web services
    count this process's commits (a listener on the store) and so can."""
    accounts, reps = make_accounts(), make_reps()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.sqlite'}", day_cache_ttl_s=300)
    services = Services(settings=settings, store=store)
    before, data_before = services.data_version(), store.data_version()
    renamed = dataclasses.replace(accounts[0], name="Gleiche Uhrzeit")
    store.accounts.upsert([renamed], source="test")  # the fake clock did not move
    after = services.data_version()
    assert store.data_version() == data_before  # count and updated_at cannot tell ...
    assert after != before  # ... the count of own writes can
    assert after.accounts != before.accounts
    store.visits.record(
        VisitRecord(account_id="A1", rep_id="R1", day=date(2026, 3, 2), status=VisitStatus.DONE)
    )
    assert services.data_version().accounts == after.accounts  # a visit leaves accounts alone


def test_fail_running_plans_only_those_named(store: Store) -> None:
    replace_accounts_and_reps(store, make_accounts(), make_reps(), source="test")
    keep, fail = store.plans.start(HORIZON), store.plans.start(HORIZON)
    done = store.plans.start(HORIZON)
    store.plans.complete(done, make_plan())
    assert store.plans.fail_running("gone", plan_ids=[fail, done, 999]) == 1
    status = {p.plan_id: (p.status, p.error) for p in store.plans.all()}
    assert status[fail] == (PlanStatus.FAILED, "gone")
    assert status[keep] == (PlanStatus.RUNNING, "")
    assert status[done] == (PlanStatus.COMPLETE, "")
    assert store.plans.fail_running("all") == 1
    assert store.plans.info(keep).status is PlanStatus.FAILED


def test_visit_records_of_some_accounts(store: Store) -> None:
    replace_accounts_and_reps(store, make_accounts(), make_reps(), source="test")
    for account_id, day in [("A1", 2), ("A2", 3), ("A3", 4), ("A1", 9)]:
        store.visits.record(
            VisitRecord(
                account_id=account_id,
                rep_id="R1",
                day=date(2026, 3, day),
                status=VisitStatus.DONE,
            )
        )
    found = store.visits.find(account_ids={"A1", "A3"}, end=date(2026, 3, 5))
    assert [(r.account_id, r.day.day) for r in found] == [("A1", 2), ("A3", 4)]
    assert store.visits.find(account_ids=[]) == []
