"""Best fit on the real Heidelberg road network: bulk matrix calls only, off-road points
tolerated."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from routeplanner.assignment import DecisionCause, assign_accounts, load_rules_file
from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import GeoPoint, Territory
from tests.helpers import SAMPLE_DIR, RecordingTravel

if TYPE_CHECKING:
    from routeplanner.roads.graph import RoadGraph


@pytest.mark.osm
@pytest.mark.slow
def test_new_sample_accounts_on_roads(heidelberg_graph: RoadGraph) -> None:
    from routeplanner.travel.road import RoadTravel

    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")
    reps = read_reps(SAMPLE_DIR / "reps.csv")
    # 250 accounts owned by their nearest rep (by id order), 50 new ones plus one far off-road.
    owned: dict[str, list[str]] = {r.rep_id: [] for r in reps}
    for k, a in enumerate(accounts[:250]):
        owned[reps[k % len(reps)].rep_id].append(a.account_id)
    rules_file = load_rules_file(SAMPLE_DIR / "assignment_rules.json")
    segments = rules_file.segments or {}
    territories = [
        Territory(
            territory_id=f"T-{r}",
            name=r,
            rep_id=r,
            account_ids=tuple(ids),
            segment=segments.get(f"T-{r}", ""),
        )
        for r, ids in owned.items()
    ]
    far = replace(accounts[-1], account_id="FAR", location=GeoPoint(49.0, 8.0), category="bakery")
    travel = RecordingTravel(RoadTravel(heidelberg_graph))
    report = assign_accounts([*accounts, far], reps, territories, rules_file.rules, travel)
    assert report.travel == "road"
    # Two matrix calls: anchors x new accounts for best fit, and (301 accounts is below
    # EXACT_NEIGHBOURS_UP_TO) accounts x accounts for the workload model's road neighbours.
    assert travel.matrix_calls == [(8, 50), (300, 300)]  # FAR is off the network in both
    assert len(report.decisions) == 51
    assert all(d.territory_id is not None for d in report.decisions)
    got = {d.account_id: d for d in report.decisions}
    assert got["FAR"].cause is DecisionCause.BEST_FIT
    medical = [d for d in report.decisions if d.rule_id == "medical"]
    assert medical
    assert {d.rep_id for d in medical} <= {"R1", "R3"}
