"""Repository queries the web app's hot path and start-up rely on, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import date

from routeplanner.model import Horizon
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.storage import Repository
from routeplanner.storage.records import PlanStatus
from tests.storage.conftest import FakeClock, make_accounts, make_plan, make_reps

HORIZON = Horizon(start=date(2026, 3, 2), weeks=1)


def test_data_version_changes_with_what_the_day_page_caches(
    repo: Repository, clock: FakeClock
) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts, reps, source="test")
    first = repo.data_version()
    assert first == repo.data_version()  # reading changes nothing
    assert first[0] is None  # no current plan yet
    assert first[1] == len(accounts)
    assert first[3] == len(reps)
    plan_id = repo.start_plan(HORIZON)
    running = repo.data_version()
    repo.complete_plan(plan_id, make_plan())
    done = repo.data_version()
    assert done[0] == plan_id
    assert running[0] is None  # a running plan is not current
    clock.advance(minutes=1)
    renamed = dataclasses.replace(accounts[0], name="Neuer Name")
    repo.upsert_accounts([renamed], source="test")
    edited = repo.data_version()
    assert edited[1:3] != done[1:3]  # the account's updated_at moved
    assert edited[3:5] == done[3:5]  # reps untouched
    clock.advance(minutes=1)
    repo.delete_accounts([accounts[-1].account_id])
    assert repo.data_version()[1] == len(accounts) - 1
    moved = dataclasses.replace(reps[0], name="Anna Schmidt-Weiß")
    repo.upsert_reps([moved], source="test")  # same clock tick as the delete
    after = repo.data_version()
    assert after[3:5] != edited[3:5]


def test_data_version_sees_own_writes_within_one_clock_tick(repo: Repository) -> None:
    accounts, reps = make_accounts(), make_reps()
    repo.replace_accounts_and_reps(accounts, reps, source="test")
    before = repo.data_version()
    renamed = dataclasses.replace(accounts[0], name="Gleiche Uhrzeit")
    repo.upsert_accounts([renamed], source="test")  # the fake clock did not move
    after = repo.data_version()
    assert after[1:3] == before[1:3]  # count and updated_at cannot tell ...
    assert after != before  # ... the write count can


def test_fail_running_plans_only_those_named(repo: Repository) -> None:
    repo.replace_accounts_and_reps(make_accounts(), make_reps(), source="test")
    keep, fail = repo.start_plan(HORIZON), repo.start_plan(HORIZON)
    done = repo.start_plan(HORIZON)
    repo.complete_plan(done, make_plan())
    assert repo.fail_running_plans("gone", plan_ids=[fail, done, 999]) == 1
    status = {p.plan_id: (p.status, p.error) for p in repo.list_plans()}
    assert status[fail] == (PlanStatus.FAILED, "gone")
    assert status[keep] == (PlanStatus.RUNNING, "")
    assert status[done] == (PlanStatus.COMPLETE, "")
    assert repo.fail_running_plans("all") == 1
    assert repo.plan_info(keep).status is PlanStatus.FAILED


def test_visit_records_of_some_accounts(repo: Repository) -> None:
    repo.replace_accounts_and_reps(make_accounts(), make_reps(), source="test")
    for account_id, day in [("A1", 2), ("A2", 3), ("A3", 4), ("A1", 9)]:
        repo.record_visit(
            VisitRecord(
                account_id=account_id,
                rep_id="R1",
                day=date(2026, 3, day),
                status=VisitStatus.DONE,
            )
        )
    found = repo.visit_records(account_ids={"A1", "A3"}, end=date(2026, 3, 5))
    assert [(r.account_id, r.day.day) for r in found] == [("A1", 2), ("A3", 4)]
    assert repo.visit_records(account_ids=[]) == []
