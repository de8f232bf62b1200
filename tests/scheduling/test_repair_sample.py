"""The repair's promise on the bundled sample region, on its real road graph.

Territories designed and four weeks planned as ``make run`` does (with reproducible search
limits); each rep in turn reports one visit done and one missed on their first working day,
and every territory is repaired as ``routeplanner repair`` does. The bar: no changed visit for
reps who reported nothing or on frozen days, at most three for the rep who did, each with its
reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from routeplanner.io.accounts import read_accounts
from routeplanner.io.holidays import read_holidays
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, Horizon, Plan, Rep, Territory
from routeplanner.model.history import VisitStatus
from routeplanner.planner import plan_all
from routeplanner.roads.graph import RoadGraph
from routeplanner.scheduling.changes import ChangeKind, plan_changes
from routeplanner.scheduling.repair import RepairResult, VisitOutcome, repair_plan
from routeplanner.territories.design import design_territories
from routeplanner.travel.road import RoadTravel
from tests.helpers import SAMPLE_DIR
from tests.scheduling.repair_checks import assert_repair_invariants

MONDAY = date(2026, 12, 7)


@dataclass(frozen=True, slots=True)
class Sample:
    accounts: dict[str, Account]
    reps: list[Rep]
    territories: list[Territory]
    horizon: Horizon
    holidays: frozenset[date]
    plan: Plan
    travel: RoadTravel


@pytest.fixture(scope="module")
def sample(heidelberg_graph: RoadGraph) -> Sample:
    travel = RoadTravel(heidelberg_graph)
    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")
    reps = read_reps(SAMPLE_DIR / "reps.csv")
    holidays = read_holidays(SAMPLE_DIR / "holidays-de-bw.csv")
    horizon = Horizon(start=MONDAY, weeks=4, timezone="Europe/Berlin")
    design = design_territories(
        accounts, reps, travel, horizon_days=28, max_iterations=2, repair_rounds=2
    )
    territories = list(design.territories)
    plan = plan_all(
        accounts, reps, territories, horizon, travel, holidays=holidays, max_iterations=50
    )
    by_id = {a.account_id: a for a in accounts}
    return Sample(by_id, reps, territories, horizon, holidays, plan, travel)


def _repair_all(
    s: Sample, today: date, records: dict[str, list[VisitOutcome]]
) -> dict[str, RepairResult]:
    out = {}
    for territory in s.territories:
        rep = next(r for r in s.reps if r.rep_id == territory.rep_id)
        out[rep.rep_id] = repair_plan(
            s.plan,
            [s.accounts[a] for a in territory.account_ids],
            rep,
            s.horizon,
            s.travel,
            today=today,
            records=records.get(rep.rep_id, []),
            holidays=s.holidays,
            time_limit_s=10.0,
        )
    return out


@pytest.mark.parametrize("reporter", ["R1", "R2", "R3", "R4"])
def test_one_missed_visit_changes_at_most_three_visits_of_that_rep_only(
    sample: Sample, reporter: str
) -> None:
    # The rep's first working day (R4 is off on the first Monday).
    first = min(sample.plan.routes_of(reporter), key=lambda r: r.day)
    today, done, missed = first.day, first.stops[0], first.stops[1]
    reports = {
        reporter: [
            VisitOutcome(visit_id=done.visit_id, status=VisitStatus.DONE),
            VisitOutcome(visit_id=missed.visit_id, status=VisitStatus.MISSED),
        ]
    }
    results = _repair_all(sample, today, reports)
    for rep_id, result in results.items():
        assert_repair_invariants(sample.plan, result, rep_id)
        later = plan_changes(
            sample.plan, result.plan, rep_id, first=result.frozen_until + timedelta(days=1)
        )
        frozen = plan_changes(sample.plan, result.plan, rep_id, last=result.frozen_until)
        assert frozen.size == 0
        if rep_id != reporter:
            assert later.size == 0
            assert result.plan.routes == sample.plan.routes_of(rep_id)
            assert all(
                a is b
                for a, b in zip(result.plan.routes, sample.plan.routes_of(rep_id), strict=True)
            )
        else:
            assert later.size <= 3
    # The missed visit is made up, or its next visit follows up, or it is listed with a reason.
    mine = results[reporter]
    made_up = [
        c
        for c in mine.changes.changes
        if c.account_id == missed.account_id and c.kind in (ChangeKind.ADDED, ChangeKind.MOVED)
    ]
    unplaced = [
        u
        for u in mine.plan.unassigned
        if u.account_id == missed.account_id and u not in sample.plan.unassigned
    ]
    coming = [
        r.day
        for r in mine.plan.routes
        for s in r.stops
        if s.account_id == missed.account_id and r.day > today
    ]
    assert made_up or unplaced or coming
    for change in made_up:
        assert f"missed on {today:%a %d.%m.}" in change.why
    for entry in unplaced:
        assert entry.detail.startswith(f"makes up for the visit missed on {today:%a %d.%m.}; no")
