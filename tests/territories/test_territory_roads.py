"""Design and realignment on real OSM roads (Andorra extract), through the road provider."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from territory_factories import make_reps

from routeplanner.model import Account, GeoPoint, VisitRule
from routeplanner.territories.design import design_territories
from routeplanner.territories.realign import realign_territories
from routeplanner.units import MINUTE
from tests.helpers import REPO, require

ANDORRA = REPO / "tests" / "data" / "osm" / "andorra.osm.pbf"


def _road_modules() -> tuple[Any, Any, Any]:
    try:
        graph = importlib.import_module("routeplanner.roads.graph")
        snap = importlib.import_module("routeplanner.roads.snap")
        road = importlib.import_module("routeplanner.travel.road")
    except ModuleNotFoundError:
        require(False, "routeplanner.travel.road (road network provider)")
        raise
    return graph, snap, road


def _accounts(snap: Any, graph: Any, n: int, seed: int) -> list[Account]:
    lat, lon = snap.random_road_points(graph, n, seed=seed)
    rules = ("weekly", "every 2 weeks", "every 4 weeks")
    return [
        Account(
            account_id=f"A{i:03d}",
            name=f"A{i}",
            location=GeoPoint(float(a), float(b)),
            visit_rule=VisitRule.parse(rules[i % 3]),
            visit_duration_s=(20 + 10 * (i % 4)) * MINUTE,
        )
        for i, (a, b) in enumerate(zip(lat, lon, strict=True))
    ]


@pytest.mark.osm
@pytest.mark.slow
def test_design_and_realign_on_andorra_roads(tmp_path: Path) -> None:
    require(ANDORRA.is_file(), f"sample OSM file {ANDORRA}")
    graph_mod, snap_mod, road_mod = _road_modules()
    graph = graph_mod.load_road_graph(ANDORRA, cache_dir=tmp_path)
    travel = road_mod.RoadTravel(graph)
    accounts = _accounts(snap_mod, graph, 150, seed=3)
    reps = make_reps(3, 3, accounts)
    plan = design_territories(accounts, reps, travel)
    assert sorted(plan.assignment()) == sorted(a.account_id for a in accounts)
    assert plan.kpis.max_workload_dev_pct <= 5.0
    assert plan.kpis.compactness_ratio >= 1.0
    # road times, not straight lines: the travel estimate is what the provider says
    assert plan.kpis.mean_travel_to_home_s > 0
    grown = accounts + [
        Account(
            account_id=f"N{a.account_id}",
            name="new",
            location=a.location,
            visit_rule=a.visit_rule,
            visit_duration_s=a.visit_duration_s,
        )
        for a in _accounts(snap_mod, graph, 15, seed=4)
    ]
    options = realign_territories(plan.territories, grown, reps, travel, max_moves=5)
    assert all(o.moved_accounts <= 5 for o in options)
    assert all(len(o.territories) == 3 for o in options)
