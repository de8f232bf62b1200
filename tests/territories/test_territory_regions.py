"""Organisation-scale design: regions, region jobs, the border polish, and the LP's time-out."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from territory_factories import make_reps
from test_territory_roads import ANDORRA, _accounts, _road_modules

from routeplanner.territories.assign import greedy_assignment
from routeplanner.territories.contiguity import count_violations
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.design import design_territories
from routeplanner.territories.organisation import (
    design_organisation,
    polish_borders,
    polish_score,
)
from routeplanner.territories.region_balance import rebalance_regions
from routeplanner.territories.regions import RegionSettings, split_regions
from tests.helpers import require


def _grid(n_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on a jittered grid (metres) and the pairs of grid neighbours."""
    rng = np.random.default_rng(5)
    ij = np.array([(i, j) for i in range(n_side) for j in range(n_side)], dtype=np.float64)
    xy = ij * 100.0 + rng.uniform(-20, 20, size=ij.shape)
    idx = np.arange(n_side * n_side).reshape(n_side, n_side)
    pairs = np.concatenate(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
        ]
    )
    return xy, pairs.astype(np.int64)


def test_regions_partition_accounts_and_reps_in_balanced_pieces() -> None:
    xy, pairs = _grid(30)
    rng = np.random.default_rng(1)
    balance = rng.uniform(1.0, 3.0, len(xy))
    homes = xy[rng.choice(len(xy), 12, replace=False)]
    capacity = np.ones(12)
    split = split_regions(xy, balance, homes, capacity, reps_per_region=3, road_pairs=pairs)
    assert split.count == 4
    assert sorted(np.bincount(split.rep_region).tolist()) == [3, 3, 3, 3]
    assert split.account_region.shape == (len(xy),)
    assert set(split.account_region.tolist()) == {0, 1, 2, 3}
    share = np.bincount(split.account_region, weights=balance) / balance.sum()
    assert np.all(np.abs(share / 0.25 - 1.0) < 0.02)
    # Each region is one piece on the road pairs.
    for k in range(split.count):
        acc, _ = split.members(k)
        assert (
            count_violations(
                _graph(pairs, len(xy)), np.isin(np.arange(len(xy)), acc).astype(np.int64), balance
            )
            == 0
        )
    again = split_regions(xy, balance, homes, capacity, reps_per_region=3, road_pairs=pairs)
    assert np.array_equal(again.account_region, split.account_region)
    assert np.array_equal(again.rep_region, split.rep_region)


def _graph(pairs: np.ndarray, n: int):  # type: ignore[no-untyped-def]
    from scipy.sparse import coo_matrix, csr_matrix

    g = csr_matrix(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)))
    return csr_matrix(g.maximum(g.T))


def test_regions_keep_locked_accounts_with_their_rep() -> None:
    xy, pairs = _grid(20)
    balance = np.ones(len(xy))
    homes = np.array([[0.0, 0.0], [0.0, 1900.0], [1900.0, 0.0], [1900.0, 1900.0]])
    locks = {0: 3, len(xy) - 1: 0}  # each corner locked to the rep living in the far corner
    split = split_regions(
        xy, balance, homes, np.ones(4), reps_per_region=1, road_pairs=pairs, locks=locks
    )
    for i, j in locks.items():
        assert split.account_region[i] == split.rep_region[j]


def _pieces(graph, region: np.ndarray, k: int) -> int:  # type: ignore[no-untyped-def]
    from scipy.sparse.csgraph import connected_components

    members = np.flatnonzero(region == k)
    count, _ = connected_components(graph[members][:, members], directed=False)
    return int(count)


def test_rebalance_brings_regions_to_their_share_in_one_piece_each() -> None:
    xy, pairs = _grid(20)
    graph = _graph(pairs, len(xy))
    balance = np.random.default_rng(3).uniform(1.0, 2.0, len(xy))
    column = np.arange(len(xy)) // 20
    region = np.where(column < 10, 0, np.where(column < 16, 1, 2)).astype(np.int64)
    share = np.full(3, 1 / 3)  # the left band holds half the work, the right one a fifth
    locked = int(np.flatnonzero((region == 0) & (column == 9))[0])  # on the 0 | 1 border
    before = region.copy()
    moves = rebalance_regions(region, graph, balance, share, {locked: 0}, tolerance=0.01)
    load = np.bincount(region, weights=balance, minlength=3) / balance.sum()
    one_account = balance.max() / balance.sum() / share[0]
    assert np.all(np.abs(load / share - 1.0) <= 0.01 + one_account)
    assert moves == int(np.count_nonzero(region != before))
    assert region[locked] == 0
    assert [_pieces(graph, region, k) for k in range(3)] == [1, 1, 1]
    # The right band, which never touched the left one, got its load through the middle.
    assert np.count_nonzero((before == 0) & (region == 1)) > 0
    assert np.count_nonzero((before == 1) & (region == 2)) > 0


def test_rebalance_leaves_regions_alone_when_no_move_narrows_a_gap() -> None:
    xy, pairs = _grid(6)
    graph = _graph(pairs, len(xy))
    balance = np.ones(len(xy))
    region = (np.arange(len(xy)) // 6 >= 3).astype(np.int64)  # 18 | 18
    assert rebalance_regions(region.copy(), graph, balance, np.array([0.5, 0.5])) == 0
    # Every account locked: the gap stays, nothing moves, nothing fails.
    skewed = (np.arange(len(xy)) // 6 >= 2).astype(np.int64)  # 12 | 24
    locks = {i: 0 for i in range(len(xy))}
    kept = skewed.copy()
    assert rebalance_regions(kept, graph, balance, np.array([0.5, 0.5]), locks) == 0
    assert np.array_equal(kept, skewed)


def test_the_border_polish_prefers_the_band_to_whole_territories() -> None:
    xy, pairs = _grid(6)
    graph = _graph(pairs, len(xy))
    balance = np.ones(len(xy))
    target = np.array([18.0, 18.0])
    cost = np.zeros((len(xy), 2))
    halves = (np.arange(len(xy)) // 6 >= 3).astype(np.int64)  # rows 0-2 | rows 3-5
    holed = halves.copy()
    holed[[1 * 6 + 1, 4 * 6 + 4]] = [1, 0]  # two swapped inner accounts: each an enclave
    whole = halves.copy()
    whole[[2 * 6 + 0, 2 * 6 + 1]] = 1  # two border accounts over: 16 | 20, 11 % off
    at_most = 0.05
    assert polish_score(graph, holed, balance, target, at_most, cost)[:2] == (0.0, 2)
    assert polish_score(graph, whole, balance, target, at_most, cost)[0] > 0
    assert polish_score(graph, whole, balance, target, at_most, cost)[1] == 0
    assert polish_score(graph, holed, balance, target, at_most, cost) < polish_score(
        graph, whole, balance, target, at_most, cost
    )
    # Among splits in the band, fewer enclaves win.
    assert polish_score(graph, halves, balance, target, at_most, cost) < polish_score(
        graph, holed, balance, target, at_most, cost
    )


def test_greedy_split_keeps_the_band_and_the_pins() -> None:
    rng = np.random.default_rng(2)
    cost = rng.uniform(0, 100, (200, 5))
    balance = rng.uniform(1, 2, 200)
    target = balance.sum() / 5
    lower, upper = np.full(5, 0.9 * target), np.full(5, 1.1 * target)
    found = greedy_assignment(cost, balance, lower, upper, fixed={0: 4, 1: 4})
    assert found.assign[0] == 4
    assert found.assign[1] == 4
    load = np.bincount(found.assign, weights=balance, minlength=5)
    assert np.all(load <= upper + 1e-9)
    assert float(found.slack.sum()) < 0.02 * balance.sum()  # a greedy split, nearly in band
    current = rng.integers(0, 5, 200)
    kept = greedy_assignment(cost, balance, lower, upper, fixed={}, current=current)
    assert np.array_equal(kept.assign, current)


def test_an_lp_out_of_time_is_told_apart_from_an_infeasible_one() -> None:
    # What the assignment's solver relies on: HiGHS ends a timed-out LP without x and with
    # status 1, an infeasible one with status 2; only the second may relax the band.
    rng = np.random.default_rng(3)
    n, m = 3000, 40
    c = rng.uniform(0, 1, n * m)
    rows = np.repeat(np.arange(n), m)
    from scipy.sparse import coo_matrix

    one = coo_matrix((np.ones(n * m), (rows, np.arange(n * m))), shape=(n, n * m))
    timed = milp(
        c,
        constraints=LinearConstraint(one, 1, 1),
        bounds=Bounds(0, 1),
        options={"time_limit": 1e-6},
    )
    assert timed.x is None
    assert timed.status == 1
    infeasible = milp(
        c[:2], constraints=LinearConstraint(np.ones((1, 2)), 3, 3), bounds=Bounds(0, 1)
    )
    assert infeasible.x is None
    assert infeasible.status == 2


@pytest.mark.osm
@pytest.mark.slow
def test_region_path_on_real_roads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    require(ANDORRA.is_file(), f"sample OSM file {ANDORRA}")
    graph_mod, snap_mod, road_mod = _road_modules()
    graph = graph_mod.load_road_graph(ANDORRA, cache_dir=tmp_path)
    travel = road_mod.RoadTravel(graph)
    accounts = _accounts(snap_mod, graph, 240, seed=4)
    reps = make_reps(6, 4, accounts)
    settings = RegionSettings(min_accounts=100, reps_per_region=3)
    found = design_organisation(
        accounts, reps, travel, deadline=Deadline.after(600.0), settings=settings
    )
    assert found.regions.count == 2
    assert np.all(found.assign >= 0)
    # Every territory lies in its rep's region or next to it (the polish moves along borders).
    assert found.kpis.contiguity_violations == 0
    assert found.kpis.max_workload_dev_pct <= 5.0 + 1e-9
    again = design_organisation(
        accounts, reps, travel, deadline=Deadline.after(600.0), settings=settings
    )
    assert np.array_equal(found.assign, again.assign)
    # The polish never adds enclaves to the split it is given.
    ctx, g = found.context, found.graph
    balance = ctx.workload_s / ctx.workload_s.sum()
    before = count_violations(g, found.assign, balance)
    polished, _ = polish_borders(
        ctx, g, found.assign, balance, found.regions, 0.05, fixed=frozenset(),
        deadline=Deadline.after(60.0),
    )  # fmt: skip
    assert count_violations(g, polished, balance) <= before


DEADLINE_LIMIT_S = 8.0
DEADLINE_MARGIN_S = 5.0
"""What the organisation path may run past its limit: cutting the regions and measuring the
result, which no deadline can stop without leaving no split at all."""


@pytest.mark.osm
@pytest.mark.slow
def test_an_organisation_design_keeps_its_time_limit(heidelberg_graph) -> None:  # type: ignore[no-untyped-def]
    # Far too little time for 3,000 accounts: region jobs give up on their road times and cut
    # their regions, the border polish stops where its time ends; the split is still whole.
    _, snap_mod, road_mod = _road_modules()
    travel = road_mod.RoadTravel(heidelberg_graph)
    accounts = _accounts(snap_mod, heidelberg_graph, 3000, seed=4)
    reps = make_reps(20, 4, accounts)
    settings = RegionSettings(min_accounts=1000, reps_per_region=5)
    began = time.monotonic()
    plan = design_territories(
        accounts, reps, travel, time_limit_s=DEADLINE_LIMIT_S, regions=settings
    )
    took = time.monotonic() - began
    assert took <= DEADLINE_LIMIT_S + DEADLINE_MARGIN_S, f"{took:.1f} s"
    owned = [a for t in plan.territories for a in t.account_ids]
    assert sorted(owned) == sorted(a.account_id for a in accounts)
    assert {t.rep_id for t in plan.territories} == {r.rep_id for r in reps}
    assert plan.notes[0] == "designed as 4 regions"
    # What is left is reported, not hidden: enclaves and loads as measured on the roads.
    kpis = plan.kpis
    assert kpis.contiguity_violations == sum(t.enclave_accounts for t in kpis.territories)
    if kpis.contiguity_violations:
        assert any("enclave accounts left" in note for note in plan.notes)
    if not plan.within_tolerance:
        assert any("outside the balance band" in note for note in plan.notes)
