"""A repair through the service layer, stored in and read back from a real SQLite store: a
territory nothing happened to is stored exactly as it was, the reporting rep's change list is
what the stored versions differ by."""

from __future__ import annotations

import pickle
from datetime import date, timedelta

from routeplanner.model.history import VisitStatus
from routeplanner.scheduling.changes import plan_changes
from routeplanner.services import planning, repair
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.planning import PlanningSetup, PlanParams
from routeplanner.services.repair import RepairParams, VisitParams
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from routeplanner.travel.haversine import HaversineTravel
from tests.web.test_territories_page import territory_region

MONDAY = date(2026, 11, 23)
TRAVEL = HaversineTravel()
SETUP = PlanningSetup()


def test_a_repair_stores_untouched_territories_exactly_and_says_what_it_changed(
    settings: Settings,
) -> None:
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = territory_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    planning.run_planning(store, TRAVEL, PlanParams(start=MONDAY, weeks=2, time_limit_s=0.5), SETUP)
    previous_id, plan, _ = planning.current_plan(store)
    first = min(plan.routes_of("R1"), key=lambda r: r.day)
    missed = first.stops[0]
    repair.record_visit(
        store, VisitParams(visit_id=missed.visit_id, status=VisitStatus.MISSED), user=None
    )
    params = RepairParams(today=first.day, time_limit_s=0.5)
    summary = repair.repair_current_plan(store, TRAVEL, params, SETUP)

    old = store.plans.get(previous_id)
    new = store.plans.get(summary.plan_id)
    owner = {a: t.rep_id for t in store.territories.all() for a in t.account_ids}
    for rep_id in ("R2", "R3"):
        # each has days after the frozen ones, which a repair could have changed
        assert any(r.day > summary.frozen_until[rep_id] for r in old.routes_of(rep_id))
        assert summary.changes[rep_id].size == 0
        assert pickle.dumps(new.routes_of(rep_id)) == pickle.dumps(old.routes_of(rep_id))
        left_out = [u for u in old.unassigned if owner.get(u.account_id) == rep_id]
        assert [u for u in new.unassigned if owner.get(u.account_id) == rep_id] == left_out
    later = summary.frozen_until["R1"] + timedelta(days=1)
    stored = plan_changes(old, new, "R1", first=later)
    assert stored.size == summary.changes["R1"].size <= 3
    assert plan_changes(old, new, "R1", last=summary.frozen_until["R1"]).size == 0
    assert all(c.why for c in summary.changes["R1"].changes)


def test_a_repair_version_without_a_stored_change_list_is_compared_after_its_frozen_days(
    store: Store,
) -> None:
    planning.run_planning(store, TRAVEL, PlanParams(start=MONDAY, weeks=1, time_limit_s=0.5), SETUP)
    whole, plan, horizon = planning.current_plan(store)
    first = plan.routes[0]
    repair.record_visit(
        store, VisitParams(visit_id=first.stops[0].visit_id, status=VisitStatus.MISSED), user=None
    )
    params = RepairParams(today=first.day, frozen_days=0, time_limit_s=0.5)
    summary = repair.repair_current_plan(store, TRAVEL, params, SETUP, rep_id="R1")
    job = summary.changes["R1"]
    assert job.size > 0
    # The same repair as stored before change lists kept their visits (the old JSON form).
    meta = {"repair_of": str(whole), "today": first.day.isoformat()}
    older = store.plans.start(horizon, meta)
    old_form = {k: v for k, v in repair.changes_data(job).items() if k != "visits"}
    store.plans.complete(
        older,
        store.plans.territory_plan(summary.plan_id, "R1"),
        rep_id="R1",
        bases={"R1": summary.plan_id},
        changes={"R1": old_form},
    )
    rep = store.reps.get("R1")
    assert rep is not None
    found = repair.repair_changes(store, older, rep)
    assert found is not None
    # Compared after the repair's own frozen days (none here), not an assumed one.
    assert [(c.kind, c.account_id, c.old_day, c.new_day) for c in found.changes] == [
        (c.kind, c.account_id, c.old_day, c.new_day) for c in job.changes
    ]
