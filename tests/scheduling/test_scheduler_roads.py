"""Scheduling on a real road network (Andorra extract): far-off accounts are reported, not fatal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from routeplanner.model import GeoPoint, Horizon, UnassignedReason
from routeplanner.scheduling.scheduler import schedule_visits
from tests.scheduling.factories import START, make_accounts, make_rep

if TYPE_CHECKING:
    from routeplanner.roads.graph import RoadGraph

pytestmark = pytest.mark.osm

# Andorra la Vella, Escaldes, Encamp, Sant Julià: all next to a road in the extract.
PLACES = [
    GeoPoint(42.5097, 1.5386),
    GeoPoint(42.5347, 1.5800),
    GeoPoint(42.4637, 1.4913),
]
FAR = GeoPoint(42.0, 1.0)  # in Spain, ~60 km outside the extract


def test_unreachable_account_is_reported_and_the_rest_planned(andorra_graph: RoadGraph) -> None:
    from dataclasses import replace

    from routeplanner.travel.road import RoadTravel

    base = make_accounts(3, 4)
    accounts = [replace(a, location=p) for a, p in zip(base, [*PLACES, FAR], strict=True)]
    rep = make_rep(home=GeoPoint(42.5063, 1.5218))
    plan = schedule_visits(
        accounts, rep, Horizon(start=START, weeks=4), RoadTravel(andorra_graph), max_iterations=10
    )
    far = [u for u in plan.unassigned if u.account_id == accounts[3].account_id]
    assert far
    assert {u.reason for u in far} == {UnassignedReason.UNREACHABLE}
    assert far[0].detail.endswith("m from the nearest road")
    planned = {s.account_id for r in plan.routes for s in r.stops}
    assert planned == {a.account_id for a in accounts[:3]}
    # Road times, not straight lines: every leg takes time, and days stay inside the shift.
    for route in plan.routes:
        assert route.travel_s > 0
        assert 8 * 3600 <= route.start_s <= route.end_s <= 17 * 3600
