"""The road model: documented defaults, settings overrides, the cache key, and worked values.

``junctions.osm`` is two junctions on a 36 km/h (10 m/s) tertiary road, 142.95 m apart (0.002°
of longitude at 50° N), with 100.08 m side arms (0.0009° of latitude): C1 has traffic signals
and arms north and south, C2 an undirected stop sign and a residential arm north, and a signal
for eastbound traffic only stands between C2 and the east end. Turning left from the south arm
onto the west arm is forbidden. With the round numbers of ``WORKED`` every expected time below
is a hand sum of lengths / 10 m/s plus the listed waits and turns.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import RoadGraph, cache_file, load_road_graph
from routeplanner.roads.model import (
    DEFAULT_POSTED_SPEED_FACTOR,
    DEFAULT_UNPOSTED_SPEED_KMH,
    ROAD_CLASSES,
    RoadModel,
)
from routeplanner.settings import Settings
from routeplanner.travel.road import RoadTravel
from tests.helpers import DATA_DIR

JUNCTIONS = DATA_DIR / "osm" / "junctions.osm"
WORKED = RoadModel(
    posted_speed_factor={"tertiary": 1.0, "residential": 1.0},
    urban_speed_factor=1.0,
    signal_s=10.0,
    stop_s=5.0,
    give_way_s=2.0,
    crossing_signal_s=0.0,
    turn_left_s=6.0,
    turn_right_s=2.0,
    junction_s=1.0,
    u_turn_s=20.0,
    u_turn_junction_s=60.0,
)
MAIN_S = 14.295  # 142.95 m at 10 m/s
ARM_S = 10.008  # 100.08 m at 10 m/s
# Middles of the west arm, of C1's north and south arms and C2's north arm.
WEST = GeoPoint(50.0, 7.999)
NORTH1 = GeoPoint(50.00045, 8.0)
SOUTH1 = GeoPoint(49.99955, 8.0)
NORTH2 = GeoPoint(50.00045, 8.002)


def _graph(model: RoadModel = WORKED) -> RoadGraph:
    return load_road_graph(JUNCTIONS, model=model)


def _edge(graph: RoadGraph, tail: int, head: int) -> int:
    """The edge between two OSM node ids of the fixture."""
    ids = graph.node_ids.tolist()
    u, v = ids.index(tail), ids.index(head)
    return int(np.flatnonzero((graph.tails == u) & (graph.indices == v))[0])


def _turn_cost(graph: RoadGraph, frm: int, to: int) -> float | None:
    for k in range(int(graph.turn_indptr[frm]), int(graph.turn_indptr[frm + 1])):
        if int(graph.turn_to[k]) == to:
            return float(graph.turn_cost_s[k])
    return None


def test_defaults_cover_every_class_and_are_documented() -> None:
    model = RoadModel()
    assert set(model.posted_speed_factor) == set(ROAD_CLASSES)
    assert set(model.unposted_speed_kmh) == set(ROAD_CLASSES)
    assert model.posted_speed_factor == dict(DEFAULT_POSTED_SPEED_FACTOR)
    assert model.unposted_speed_kmh == dict(DEFAULT_UNPOSTED_SPEED_KMH)
    assert all(0 < f <= 1.2 for f in model.posted_speed_factor.values())
    # Left turns cross oncoming traffic (right-hand traffic): never cheaper than right turns.
    assert model.turn_left_s >= model.turn_right_s
    assert not model.free_flow
    # Every field carries a description: docs/travel.md and the settings reference read them.
    assert all(f.description for f in RoadModel.model_fields.values())


def test_per_class_override_keeps_the_other_classes() -> None:
    model = RoadModel(posted_speed_factor={"primary": 0.7})
    assert model.posted_speed_factor["primary"] == 0.7
    assert model.posted_speed_factor["residential"] == DEFAULT_POSTED_SPEED_FACTOR["residential"]
    with pytest.raises(ValueError, match="unknown road class 'highway'"):
        RoadModel(posted_speed_factor={"highway": 0.7})
    with pytest.raises(ValueError, match="positive"):
        RoadModel(unposted_speed_kmh={"residential": 0.0})
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        RoadModel(signal_s=-1.0)


def test_settings_read_the_road_model_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RP_ROAD_MODEL__SIGNAL_S", "7.5")
    monkeypatch.setenv("RP_ROAD_MODEL__POSTED_SPEED_FACTOR", json.dumps({"motorway": 0.9}))
    monkeypatch.setenv("RP_ROAD_MODEL__U_TURN_JUNCTION_S", "")
    model = Settings().road_model
    assert model.signal_s == 7.5
    assert model.posted_speed_factor["motorway"] == 0.9
    assert model.posted_speed_factor["primary"] == DEFAULT_POSTED_SPEED_FACTOR["primary"]
    assert model.u_turn_junction_s is None
    assert Settings(road_model=RoadModel(stop_s=1.0)).road_model.stop_s == 1.0


def test_cache_key_follows_every_model_setting(tmp_path: Path) -> None:
    sha = "0" * 64
    default = cache_file(tmp_path, sha)
    assert cache_file(tmp_path, sha, model=RoadModel()) == default
    changed = {
        cache_file(tmp_path, sha, model=RoadModel(signal_s=5.0)),
        cache_file(tmp_path, sha, model=RoadModel(posted_speed_factor={"primary": 0.7})),
        cache_file(tmp_path, sha, model=RoadModel(turn_restrictions=False)),
        cache_file(tmp_path, sha, model=RoadModel.free_flow_model()),
        cache_file(tmp_path, sha, model=RoadModel.free_flow_model(fallback_kmh=20.0)),
    }
    assert default not in changed
    assert len(changed) == 5
    # The free-flow model ignores the road model's numbers, and so does its key.
    assert cache_file(tmp_path, sha, model=RoadModel(free_flow=True, signal_s=9.0)) == cache_file(
        tmp_path, sha, model=RoadModel.free_flow_model()
    )


def test_speeds_waits_and_turns_on_the_worked_junctions() -> None:
    g = _graph()
    assert (g.nodes, g.edges) == (7, 12)
    west_in, west_out = _edge(g, 1, 2), _edge(g, 2, 1)
    north1_out, south1_out, south1_in = _edge(g, 2, 5), _edge(g, 2, 6), _edge(g, 6, 2)
    c1_c2, c2_c1 = _edge(g, 2, 3), _edge(g, 3, 2)
    np.testing.assert_allclose(g.travel_time_s[west_in], MAIN_S, atol=1e-3)
    # Signals at C1 delay every approach; the stop at C2 only the minor (residential) arm.
    assert g.head_delay_s[west_in] == 10.0
    assert g.head_delay_s[_edge(g, 5, 2)] == 10.0
    assert g.head_delay_s[c1_c2] == 0.0
    assert g.head_delay_s[_edge(g, 4, 3)] == 0.0
    assert g.head_delay_s[_edge(g, 7, 3)] == 5.0
    # The eastbound-only signal sits inside the C2-east edge: 10 s more that way only.
    np.testing.assert_allclose(g.travel_time_s[_edge(g, 3, 4)], MAIN_S + 10.0, atol=1e-3)
    np.testing.assert_allclose(g.travel_time_s[_edge(g, 4, 3)], MAIN_S, atol=1e-3)
    # Turns at C1 coming from the west (heading east): straight 1, right (south) 1 + 2,
    # left (north) 1 + 6, back west 60 (a U-turn at a junction).
    assert _turn_cost(g, west_in, c1_c2) == pytest.approx(1.0, abs=1e-6)
    assert _turn_cost(g, west_in, south1_out) == pytest.approx(3.0, abs=1e-6)
    assert _turn_cost(g, west_in, north1_out) == pytest.approx(7.0, abs=1e-6)
    assert _turn_cost(g, west_in, west_out) == 60.0
    # A U-turn at the dead end of the west arm: 20.
    assert _turn_cost(g, west_out, west_in) == 20.0
    # no_left_turn from the south arm onto the west arm: that turn is gone.
    assert _turn_cost(g, south1_in, west_out) is None
    assert _turn_cost(g, south1_in, c2_c1) is None  # not a turn at this node at all
    assert g.stats["restrictions_placed"] == 1


def test_trips_pay_the_rest_of_their_edge_the_wait_and_the_turn() -> None:
    travel = RoadTravel(_graph())
    d = travel.matrix([WEST, NORTH1, SOUTH1, NORTH2]).durations_s
    half_main, half_arm = MAIN_S / 2, ARM_S / 2
    # West middle -> north arm middle: half the west edge, the signal, a left turn, half the arm.
    assert d[0, 1] == round(half_main + 10 + 7 + half_arm)  # 29
    # Back: half the arm, the signal, a right turn, half the west edge.
    assert d[1, 0] == round(half_arm + 10 + 3 + half_main)  # 25
    # South -> west may not turn left at C1: straight on to the north dead end, U-turn (20),
    # back to C1 (signal again), right turn onto the west arm.
    detour = half_arm + 10 + 1 + ARM_S + 20 + ARM_S + 10 + 3 + half_main
    assert d[2, 0] == round(detour)  # 76
    # C2's north arm -> west middle: the stop (5), a right turn, C2-C1 straight through the
    # signal at C1 (10 + 1), half the west edge.
    assert d[3, 0] == round(half_arm + 5 + 3 + MAIN_S + 10 + 1 + half_main)  # 45
    # A destination just before a junction never pays that junction's wait or turn.
    near_c1 = GeoPoint(50.0, 7.99999)
    assert travel.matrix([WEST], [near_c1]).durations_s[0, 0] == round(MAIN_S * 0.495)


def test_restrictions_and_u_turns_can_be_switched_off() -> None:
    free_turns = RoadTravel(_graph(WORKED.model_copy(update={"turn_restrictions": False})))
    assert free_turns.matrix([SOUTH1], [WEST]).durations_s[0, 0] == round(
        ARM_S / 2 + 10 + 7 + MAIN_S / 2
    )
    no_u = _graph(WORKED.model_copy(update={"u_turn_junction_s": None}))
    west_in, west_out = _edge(no_u, 1, 2), _edge(no_u, 2, 1)
    assert _turn_cost(no_u, west_in, west_out) is None
    assert _turn_cost(no_u, west_out, west_in) == 20.0  # dead ends keep their U-turn
    assert no_u.stats["u_turns_forbidden"] == 4 + 3  # every approach to C1 and to C2


def test_free_flow_model_has_no_waits_and_no_turn_table() -> None:
    g = _graph(RoadModel.free_flow_model())
    assert not g.has_turns
    assert not g.head_delay_s.any()
    # osmnx's free-flow: 36 km/h, no signal inside the C2-east edge.
    np.testing.assert_allclose(g.travel_time_s[_edge(g, 3, 4)], MAIN_S, atol=1e-3)
    d = RoadTravel(g).matrix([WEST, NORTH1]).durations_s
    assert d[0, 1] == round(MAIN_S / 2 + ARM_S / 2)


def test_urban_roads_are_slower() -> None:
    # Every node of the fixture counts as urban when one junction in 300 m is enough.
    urban = _graph(WORKED.model_copy(update={"urban_speed_factor": 0.5, "urban_min_junctions": 1}))
    rural = _graph(WORKED)
    ratio = urban.travel_time_s[_edge(urban, 1, 2)] / rural.travel_time_s[_edge(rural, 1, 2)]
    assert ratio == pytest.approx(2.0)
    assert math.isclose(urban.head_delay_s.sum(), rural.head_delay_s.sum())
