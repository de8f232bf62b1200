"""Enclaves joined with every load kept in its band: the organisation's border polish and the
repair it runs first, on the sample region's roads and on a hand-made grid."""

from __future__ import annotations

from collections import deque
from dataclasses import replace

import numpy as np
import pytest
from scipy.sparse import coo_matrix, csr_matrix
from territory_factories import make_reps
from test_territory_roads import _accounts, _road_modules

from routeplanner.roads.graph import RoadGraph
from routeplanner.territories.contiguity import count_violations, fragments
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.enclave_repair import join_enclaves_in_band
from routeplanner.territories.org_graph import home_lat_lon, lat_lon, organisation_context
from routeplanner.territories.organisation import balance_shares, polish_borders
from routeplanner.territories.problem import DesignWeights
from routeplanner.territories.regions import local_xy, split_regions

POCKET_SHARE = 0.25
"""Workload of the pocket against its territory's: far more than the band, so handing it back
whole takes two territories out of the band."""


def _graph(pairs: np.ndarray, n: int) -> csr_matrix:
    graph = csr_matrix(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), (n, n)))
    return csr_matrix((graph + graph.T).astype(bool).astype(np.float64))


def _depth(graph: csr_matrix, assign: np.ndarray) -> np.ndarray:
    """Links from each account to the nearest account of another territory."""
    coo = graph.tocoo()
    depth = np.full(len(assign), -1, dtype=np.int64)
    queue = deque(int(i) for i in np.unique(coo.row[assign[coo.row] != assign[coo.col]]))
    depth[list(queue)] = 0
    while queue:
        v = queue.popleft()
        for u in graph.indices[graph.indptr[v] : graph.indptr[v + 1]]:
            if depth[u] < 0:
                depth[u] = depth[v] + 1
                queue.append(int(u))
    return depth


def _pocket(graph: csr_matrix, assign: np.ndarray, balance: np.ndarray, share: float) -> list[int]:
    """Accounts around the account deepest inside its territory, at least two links from the
    territory's border, until they hold ``share`` of the territory's workload."""
    depth = _depth(graph, assign)
    seed = int(np.argmax(depth))
    owner = assign[seed]
    goal = share * float(balance[assign == owner].sum())
    pocket, weight, queue, seen = [], 0.0, deque([seed]), {seed}
    while queue and weight < goal:
        v = queue.popleft()
        pocket.append(v)
        weight += float(balance[v])
        for u in graph.indices[graph.indptr[v] : graph.indptr[v + 1]]:
            if assign[u] == owner and depth[u] >= 2 and int(u) not in seen:
                seen.add(int(u))
                queue.append(int(u))
    return pocket


@pytest.mark.osm
def test_a_pocket_deep_inside_another_territory_is_joined_in_the_band(
    heidelberg_graph: RoadGraph,
) -> None:
    _, snap_mod, road_mod = _road_modules()
    travel = road_mod.RoadTravel(heidelberg_graph)
    accounts = _accounts(snap_mod, heidelberg_graph, 400, seed=2)
    reps = make_reps(8, 2, accounts)
    ctx, pairs = organisation_context(accounts, reps, travel, horizon_days=28, start=None)
    balance = balance_shares(ctx, DesignWeights())
    # One region per rep: territories in one piece each, near their share.
    regions = split_regions(
        local_xy(*lat_lon(ctx.accounts)), balance, local_xy(*home_lat_lon(ctx.reps)),
        ctx.capacity_s, reps_per_region=1, road_pairs=pairs,
    )  # fmt: skip
    assign = np.argsort(regions.rep_region)[regions.account_region]
    graph = _graph(pairs, len(accounts))
    assert count_violations(graph, assign, balance) == 0
    target = balance.sum() * ctx.capacity_s / ctx.capacity_s.sum()
    assert np.all(np.abs(np.bincount(assign, weights=balance) / target - 1.0) <= 0.05)
    # A quarter of one territory, deep inside it, goes to another rep who lives in it: that
    # rep's territory is now in two pieces, the smaller one holding its home.
    pocket = _pocket(graph, assign, balance, POCKET_SHARE)
    taker = (int(assign[pocket[0]]) + 1) % len(reps)
    assign[pocket] = taker
    reps[taker] = replace(reps[taker], home=accounts[pocket[0]].location)
    ctx, _ = organisation_context(accounts, reps, travel, horizon_days=28, start=None)
    assert count_violations(graph, assign, balance) > 0

    polished, notes = polish_borders(
        ctx, graph, assign, balance, regions, 0.05, fixed=frozenset(),
        deadline=Deadline.after(60.0),
    )  # fmt: skip

    assert count_violations(graph, polished, balance) == 0
    load = np.bincount(polished, weights=balance, minlength=len(reps))
    assert np.all(np.abs(load / target - 1.0) <= 0.05 + 1e-9)
    assert notes == ()


def _grid() -> tuple[csr_matrix, np.ndarray]:
    """A 12 x 12 grid of accounts (4 neighbours) in three strips of four columns, one per
    rep, 48 accounts each."""
    idx = np.arange(144).reshape(12, 12)
    pairs = np.concatenate(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
        ]
    )
    return _graph(pairs, 144), (idx % 12 // 4).ravel().astype(np.int64)


def test_the_repair_hands_a_pocket_over_and_passes_the_load_on() -> None:
    graph, assign = _grid()
    balance = np.ones(144)
    cost = np.zeros((144, 3))
    target = np.full(3, 48.0)
    lower, upper = 0.95 * target, 1.05 * target
    # A 2 x 2 pocket of strip 0 in the middle of strip 1, and four of strip 0's border
    # accounts in strip 1: 48 | 48 | 48, in the band with one enclave. Handing the pocket back
    # alone gives 44 | 52 | 48, both out of the band.
    holed = assign.copy()
    holed[[5 * 12 + 5, 5 * 12 + 6, 6 * 12 + 5, 6 * 12 + 6]] = 0
    holed[[0 * 12 + 3, 1 * 12 + 3, 2 * 12 + 3, 3 * 12 + 3]] = 1
    assert len(fragments(graph, holed, balance)) == 1
    assert np.array_equal(np.bincount(holed, minlength=3), [48, 48, 48])

    joined = join_enclaves_in_band(
        graph, holed, balance, lower, upper, cost, deadline=Deadline.after(10.0)
    )

    assert count_violations(graph, joined, balance) == 0
    load = np.bincount(joined, weights=balance, minlength=3)
    assert np.all((load >= lower) & (load <= upper)), load


def test_a_piece_holding_a_fixed_account_stays_and_an_expired_deadline_changes_nothing() -> None:
    graph, assign = _grid()
    balance = np.ones(144)
    cost = np.zeros((144, 3))
    target = np.full(3, 48.0)
    holed = assign.copy()
    holed[5 * 12 + 5] = 2  # one account in the middle of strip 1 given to strip 2
    kept = join_enclaves_in_band(
        graph, holed, balance, 0.9 * target, 1.1 * target, cost,
        fixed=frozenset({5 * 12 + 5}), deadline=Deadline.after(10.0),
    )  # fmt: skip
    assert kept[5 * 12 + 5] == 2
    untouched = join_enclaves_in_band(
        graph, holed, balance, 0.9 * target, 1.1 * target, cost, deadline=Deadline.after(0.0)
    )
    assert np.array_equal(untouched, holed)


def test_a_territory_walled_in_by_a_locked_one_keeps_its_other_piece() -> None:
    graph, assign = _grid()
    balance = np.ones(144)
    cost = np.zeros((144, 3))
    idx = np.arange(144).reshape(12, 12)
    # Rep 0's strip is locked; rep 1's main piece (12 accounts) lies inside it, its other piece
    # (10) in rep 2's strips. Handing that piece to rep 2 would leave rep 1 at 12 with no border
    # to draw load back across: it stays, in the band, as a piece of its own.
    island, piece = idx[3:9, 1:3].ravel(), idx[0:5, 4:6].ravel()
    holed = np.where(assign == 0, 0, 2)
    holed[island] = 1
    holed[piece] = 1
    locked = np.flatnonzero(holed == 0)
    allowed = np.ones((144, 3), dtype=bool)
    allowed[:, 0] = False
    allowed[locked, 0] = True
    lower, upper = np.array([34.0, 20.0, 84.0]), np.array([38.0, 24.0, 88.0])
    assert np.array_equal(np.bincount(holed, minlength=3), [36, 22, 86])

    joined = join_enclaves_in_band(
        graph, holed, balance, lower, upper, cost, allowed=allowed,
        fixed=frozenset(locked.tolist()), deadline=Deadline.after(10.0),
    )  # fmt: skip

    assert np.array_equal(joined, holed)
