"""Learning from recorded visits on a real SQLite store: planned against actual per rep and
per account, confirming and withdrawing values, and the next plan applying them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routeplanner.errors import InputError, NotFoundError, PermissionDeniedError
from routeplanner.model import Horizon
from routeplanner.model.history import VisitStatus
from routeplanner.model.plan import Plan
from routeplanner.planner import JobContext, TerritoryJob, run_job
from routeplanner.services import learning, planning
from routeplanner.services.learning import LearningParams
from routeplanner.services.planning import PlanningSetup, PlanParams
from routeplanner.storage import LearnedKind, Store
from routeplanner.storage.records import UserRecord
from routeplanner.travel.haversine import HaversineTravel
from tests.conftest import small_region
from tests.services.learning_data import (
    DAYS,
    FEW,
    MONDAY,
    TODAY,
    H,
    plan_week,
    record,
    visit,
    week_in_the_field,
)


def _manager(store: Store) -> UserRecord:
    return store.users.create("mona", "x", role="admin", rep_id=None)


def test_planned_against_actual_per_rep_and_account(store: Store) -> None:
    week_in_the_field(store)
    times = learning.field_times(store, FEW, user=_manager(store), today=TODAY)
    (rep,) = times.reps
    assert (rep.rep_id, rep.drives, rep.visits) == ("R1", 5, 10)
    assert (rep.planned_drive_s, rep.actual_drive_s) == (5 * 300, 5 * 450)
    assert rep.estimate is not None
    assert rep.estimate.value == pytest.approx(1.5)
    assert rep.in_force is None
    by_id = {a.account_id: a for a in times.accounts}
    assert (by_id["A1"].planned_s, by_id["A1"].actual_s) == (1800, 2400)
    assert by_id["A1"].estimate is not None
    assert by_id["A1"].estimate.value == pytest.approx(2400)
    assert times.recorded_stops == 10
    assert times.start == TODAY - timedelta(weeks=4) + timedelta(days=1)


def test_too_few_observations_give_no_estimate_and_cannot_be_confirmed(store: Store) -> None:
    week_in_the_field(store)
    strict = LearningParams(weeks=4, min_drives=15, min_visits=6)
    manager = _manager(store)
    times = learning.field_times(store, strict, user=manager, today=TODAY)
    assert times.reps[0].estimate is None
    assert all(a.estimate is None for a in times.accounts)
    with pytest.raises(InputError, match="5 recorded in the last 4 weeks, 15 needed"):
        learning.confirm_learned(
            store, LearnedKind.TRAVEL_FACTOR, "R1", strict, user=manager, today=TODAY
        )
    assert store.learned.all() == []


def test_a_done_typed_in_the_evening_or_without_check_in_says_nothing_of_the_length(
    store: Store,
) -> None:
    horizon = plan_week(store)
    for day in DAYS:
        visit(store, horizon, "A1", day, 9 * H, 19 * H)  # typed after work
        record(store, horizon, "A2", day, VisitStatus.DONE, start=10 * H, recorded=10 * H + 900)
    times = learning.field_times(store, FEW, user=None, today=TODAY)
    assert times.accounts == ()
    assert times.recorded_stops == 10


def test_confirm_and_withdraw_change_what_the_next_plan_applies(store: Store) -> None:
    week_in_the_field(store)
    manager = _manager(store)
    assert learning.learned_for_planning(store, today=TODAY).travel_factors == {}
    unconfirmed = learning.learned_for_planning(
        store, apply_unconfirmed=True, params=FEW, today=TODAY
    )
    assert unconfirmed.travel_factors["R1"] == pytest.approx(1.5)
    assert unconfirmed.visit_seconds["A1"] == 2400
    value = learning.confirm_learned(
        store, LearnedKind.VISIT_SECONDS, "A1", FEW, user=manager, today=TODAY
    )
    assert (value.value, value.observations, value.decided_by) == (
        pytest.approx(2400),
        5,
        "mona",
    )
    learned = learning.learned_for_planning(store, today=TODAY)
    assert (dict(learned.travel_factors), dict(learned.visit_seconds)) == ({}, {"A1": 2400})
    accounts, _ = small_region()
    lengths = {a.account_id: a.visit_duration_s for a in learned.accounts(accounts)}
    assert lengths == {"A1": 2400, "A2": 2700, "A3": 1800}
    learning.withdraw_learned(store, LearnedKind.VISIT_SECONDS, "A1", user=manager)
    assert store.learned.all() == []
    with pytest.raises(NotFoundError, match="no learned visit_seconds in force"):
        learning.withdraw_learned(store, LearnedKind.VISIT_SECONDS, "A1", user=manager)


def test_only_managers_see_and_confirm_and_unknown_keys_are_named(store: Store) -> None:
    week_in_the_field(store)
    rep = store.users.create("juergen", "x", role="rep", rep_id="R1")
    with pytest.raises(PermissionDeniedError):
        learning.field_times(store, FEW, user=rep, today=TODAY)
    with pytest.raises(PermissionDeniedError):
        learning.confirm_learned(store, LearnedKind.TRAVEL_FACTOR, "R1", FEW, user=rep)
    with pytest.raises(NotFoundError, match="no rep 'R9'"):
        learning.confirm_learned(
            store, LearnedKind.TRAVEL_FACTOR, "R9", FEW, user=_manager(store), today=TODAY
        )


def test_no_plan_yet_is_an_input_error(store: Store) -> None:
    with pytest.raises(InputError, match="no current plan"):
        learning.field_times(store, FEW, user=None, today=TODAY)
    assert learning.learned_for_planning(store, apply_unconfirmed=True).travel_factors == {}


def test_a_rep_with_a_learned_factor_is_planned_with_slower_drives() -> None:
    accounts, reps = small_region()
    horizon = Horizon(start=MONDAY, weeks=1, timezone="Europe/Berlin")
    job = TerritoryJob(
        territory_id="T1", rep=reps[0], accounts=(accounts[0],), horizon=horizon, time_limit_s=0.5
    )
    context = JobContext(HaversineTravel())
    plain = run_job(job, context)
    slow = run_job(TerritoryJob(**{**_fields(job), "travel_factor": 2.0}), context)
    first = plain.routes[0].stops[0].travel_s
    assert first > 60
    assert slow.routes[0].stops[0].travel_s == pytest.approx(2 * first, abs=1)


def _fields(job: TerritoryJob) -> dict[str, object]:
    return {name: getattr(job, name) for name in job.__dataclass_fields__}


def test_a_planning_run_uses_confirmed_visit_lengths(store: Store) -> None:
    week_in_the_field(store)
    learning.confirm_learned(
        store, LearnedKind.VISIT_SECONDS, "A1", FEW, user=_manager(store), today=TODAY
    )
    params = PlanParams(start=MONDAY + timedelta(weeks=1), weeks=1, time_limit_s=0.5)
    plan = planning.run_planning(store, HaversineTravel(), params, PlanningSetup()).plan
    lengths = {
        s.departure_s - s.start_s for r in plan.routes for s in r.stops if s.account_id == "A1"
    }
    assert lengths == {2400}


def test_a_recorded_day_the_current_plan_no_longer_holds_is_read_from_its_version(
    store: Store,
) -> None:
    week_in_the_field(store)
    later = Horizon(start=MONDAY + timedelta(weeks=1), weeks=1, timezone="Europe/Berlin")
    plan_id = store.plans.start(later)
    store.plans.complete(plan_id, Plan())
    times = learning.field_times(store, FEW, user=None, today=TODAY + timedelta(days=7))
    assert times.reps[0].drives == 5
