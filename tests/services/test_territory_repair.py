"""A rep's repair on a real SQLite store: it writes that rep's territory plan only, and one
computed from a territory plan replaced meanwhile is computed again, never stored over it."""

from __future__ import annotations

from routeplanner.model.history import VisitStatus
from routeplanner.services import planning, repair
from routeplanner.services.repair import RepairParams, VisitParams
from routeplanner.storage import Store
from tests.services.test_planning_service import PARAMS, SETUP, TRAVEL


def test_a_repair_from_a_replaced_territory_plan_is_computed_again(store: Store) -> None:
    planning.run_planning(store, TRAVEL, PARAMS, SETUP)
    whole, plan, horizon = planning.current_plan(store)
    first = plan.routes[0]
    rep_id = first.rep_id
    repair.record_visit(
        store, VisitParams(visit_id=first.stops[0].visit_id, status=VisitStatus.MISSED), user=None
    )
    interlopers: list[int] = []

    def progress(message: str, _fraction: float) -> None:
        # Another repair of the same rep lands while this one computes (once).
        if message.startswith("repairing") and not interlopers:
            other = store.plans.start(horizon)
            territory = store.plans.territory_plan(whole, rep_id)
            store.plans.complete(other, territory, rep_id=rep_id, bases={rep_id: whole})
            interlopers.append(other)

    params = RepairParams(today=first.day, frozen_days=0, time_limit_s=0.5)
    summary = repair.repair_current_plan(
        store, TRAVEL, params, SETUP, rep_id=rep_id, progress=progress
    )
    assert summary.previous_plan_id == interlopers[0]  # computed again from the newer one
    assert [v.plan_id for v in store.plans.territory_history(rep_id)] == [
        summary.plan_id,
        interlopers[0],
        whole,
    ]
    assert store.plans.current_id() == summary.plan_id
    stored = repair.territory_changes(store, summary.plan_id, rep_id)
    assert stored == repair.changes_data(summary.changes[rep_id])
    assert repair.territory_changes(store, whole, rep_id) is None
