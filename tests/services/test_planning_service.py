"""Planning and repair use cases on a real SQLite store, run inline: plan runs and their
versions, cancel, visit outcomes and who may report them, repairs, what a repair changed."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from routeplanner.errors import (
    ConflictError,
    InputError,
    JobCancelledError,
    NotFoundError,
    PermissionDeniedError,
)
from routeplanner.model.history import VisitStatus
from routeplanner.scheduling.scheduler import DaySearch
from routeplanner.services import planning, repair
from routeplanner.services.planning import CANCELLED, PlanningSetup, PlanParams
from routeplanner.services.repair import Absence, AdHocVisit, RepairParams, VisitParams
from routeplanner.settings import Settings
from routeplanner.storage import Store, UserRecord
from routeplanner.storage.records import PlanStatus
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.road import RoadTravel
from tests.databases import MigratedSqlite
from tests.web.test_route_page import DAY, _store_plan

MONDAY = date(2026, 11, 23)
PARAMS = PlanParams(start=MONDAY, weeks=1, time_limit_s=0.5)
SETUP = PlanningSetup()
TRAVEL = HaversineTravel()


def _user(store: Store, name: str, *, role: str = "rep", rep_id: str | None = "R1") -> UserRecord:
    return store.users.create(name, "x", role=role, rep_id=rep_id if role == "rep" else None)


def test_a_run_designs_territories_plans_and_becomes_current(store: Store) -> None:
    reports: list[float] = []
    result = planning.run_planning(
        store, TRAVEL, PARAMS, SETUP, progress=lambda _m, f: reports.append(f), user="ann"
    )
    assert result.designed
    assert store.plans.current_id() == result.plan_id
    assert [t.rep_id for t in store.territories.all()] == ["R1"]
    assert reports[0] == 0.0
    assert reports[-1] == 1.0
    info = store.plans.info(result.plan_id)
    assert (info.status, planning.public_status(info)) == (PlanStatus.COMPLETE, "complete")
    with pytest.raises(ConflictError, match=f"plan {result.plan_id} is complete"):
        planning.running_plan(store, result.plan_id)
    with pytest.raises(NotFoundError, match="no such plan"):
        planning.running_plan(store, 99)


def test_a_cancelled_run_is_stored_as_cancelled_and_the_current_plan_stays(store: Store) -> None:
    first = planning.run_planning(store, TRAVEL, PARAMS, SETUP).plan_id

    def cancel(_message: str, _fraction: float) -> None:
        raise JobCancelledError("cancelled")

    plan_id = planning.register_plan(store, PARAMS, SETUP, user="ann")
    assert planning.running_plan(store, plan_id).plan_id == plan_id
    with pytest.raises(JobCancelledError):
        planning.run_planning(store, TRAVEL, PARAMS, SETUP, progress=cancel, plan_id=plan_id)
    info = store.plans.info(plan_id)
    assert (info.error, planning.public_status(info)) == (CANCELLED, "cancelled")
    assert store.plans.current_id() == first


def test_nothing_to_plan_says_what_to_import(
    tmp_path: Path, migrated_sqlite: MigratedSqlite
) -> None:
    empty = Store.open(migrated_sqlite.copy(tmp_path / "empty.sqlite"))
    with pytest.raises(InputError) as exc:
        planning.run_planning(empty, TRAVEL, PARAMS, SETUP)
    assert [p.field for p in exc.value.problems] == ["accounts", "reps"]
    assert empty.plans.all() == []  # no version registered


def test_first_design_places_an_off_network_account_by_its_lock(
    store: Store, heidelberg_graph: Any
) -> None:
    from dataclasses import replace

    from tests.web.test_territories_page import territory_region

    accounts, reps = territory_region()
    accounts = [replace(a, locked_rep_id="R3") if a.account_id == "A3" else a for a in accounts]
    territories = planning.first_design(accounts, reps, RoadTravel(heidelberg_graph))
    owner = {a: t.rep_id for t in territories for a in t.account_ids}
    assert owner["A3"] == "R3"
    assert len(owner) == len(accounts)


# -- visit outcomes ------------------------------------------------------------------------------


def test_a_rep_reports_only_their_own_stops(store: Store) -> None:
    _store_plan(store)
    anna = _user(store, "anna", rep_id="R2")
    done = VisitParams(visit_id="A1@1", status=VisitStatus.DONE, at="10:15")
    with pytest.raises(PermissionDeniedError, match="only see your own routes"):
        repair.record_visit(store, done, user=anna)
    juergen = _user(store, "r1")
    naming_anna = VisitParams(visit_id="A1@1", status=VisitStatus.DONE, rep="R2")
    with pytest.raises(PermissionDeniedError):
        repair.record_visit(store, naming_anna, user=juergen)
    record = repair.record_visit(store, done, user=juergen)
    assert (record.rep_id, record.day, record.recorded_by) == ("R1", DAY, "r1")
    (stored,) = store.visits.find()
    assert (stored.visit_id, stored.status, stored.actual_start) == (
        "A1@1",
        VisitStatus.DONE,
        record.actual_start,
    )


def test_times_belong_to_done_visits_and_unknown_visits_are_not_found(store: Store) -> None:
    _store_plan(store)
    missed = repair.record_visit(
        store, VisitParams(visit_id="A2@1", status=VisitStatus.MISSED, at="10:00"), user=None
    )
    assert missed.actual_start is None
    assert repair.needs_repair(missed)
    untimed = repair.record_visit(
        store, VisitParams(visit_id="A1@1", status=VisitStatus.DONE), user=None
    )
    assert untimed.actual_start is None  # after the fact: no "now"
    with pytest.raises(NotFoundError, match="no planned visit 'A9@1'"):
        repair.record_visit(store, VisitParams(visit_id="A9@1", status=VisitStatus.DONE), user=None)
    with pytest.raises(InputError, match="at: '25:99'"):
        repair.record_visit(
            store, VisitParams(visit_id="A1@1", status=VisitStatus.DONE, at="25:99"), user=None
        )


def test_repair_names_unknown_reps_and_accounts_and_stores_nothing(store: Store) -> None:
    _store_plan(store)
    params = RepairParams(
        today=DAY,
        absences=(("R7", Absence(start=DAY, end=DAY)),),
        ad_hoc=(AdHocVisit(account_id="A9", day=DAY),),
    )
    with pytest.raises(InputError) as exc:
        repair.repair_current_plan(store, TRAVEL, params, SETUP)
    assert [str(p) for p in exc.value.problems] == [
        "--absent: rep: unknown rep 'R7'",
        "--adhoc: account: unknown account 'A9'",
    ]
    assert len(store.plans.all()) == 1


def test_a_repair_after_a_miss_is_a_new_version_that_says_what_changed(store: Store) -> None:
    planning.run_planning(store, TRAVEL, PARAMS, SETUP)
    _, plan, _ = planning.current_plan(store)
    first = plan.routes[0]
    stop = first.stops[0]
    repair.record_visit(
        store, VisitParams(visit_id=stop.visit_id, status=VisitStatus.MISSED), user=None
    )
    params = RepairParams(today=first.day, frozen_days=0, time_limit_s=0.5)
    summary = repair.repair_current_plan(store, TRAVEL, params, SETUP, user="ann")
    assert store.plans.current_id() == summary.plan_id
    rep_obj = store.reps.get("R1")
    assert rep_obj is not None
    # The job's change list, reasons and all, is read back from the store.
    assert repair.repair_changes(store, summary.plan_id, rep_obj) == summary.changes["R1"]
    assert all(c.why for c in summary.changes["R1"].changes)
    assert repair.repair_changes(store, summary.previous_plan_id, rep_obj) is None


def test_the_day_search_comes_from_the_settings_and_reaches_every_territory(
    store: Store,
) -> None:
    assert PlanningSetup.of(Settings(database_url="sqlite://")).day_search is DaySearch.HGS
    chosen = PlanningSetup.of(Settings(database_url="sqlite://", day_search="lns"))
    assert chosen.day_search is DaySearch.LNS
    setup = dataclasses.replace(SETUP, day_search=DaySearch.LNS)
    plan = planning.run_planning(store, TRAVEL, PARAMS, setup).plan
    assert plan.meta["R1.search"] == "lns"
    assert planning.run_planning(store, TRAVEL, PARAMS, SETUP).plan.meta["R1.search"] == "hgs"
