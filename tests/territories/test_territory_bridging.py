"""Borders polished across the accounts only a qualified rep may take (``bridging``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from territory_factories import make_reps

from routeplanner.model import GeoPoint, VisitRule
from routeplanner.model.account import Account
from routeplanner.territories.bridging import (
    MAX_BRIDGED_NEIGHBOURS,
    bridged_graph,
    open_enclaves,
    restricted_accounts,
)
from routeplanner.territories.contiguity import count_violations
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.metrics import assignment_kpis
from routeplanner.territories.organisation import polish_borders
from routeplanner.territories.regions import RegionSplit
from routeplanner.territories.workload import build_context
from routeplanner.travel import HaversineTravel
from routeplanner.units import MINUTE

SIDE = 12
"""The grid's side: three strips of four columns, one per rep."""
KEY = frozenset({"key"})


def _graph(pairs: np.ndarray, n: int) -> csr_matrix:
    graph = csr_matrix(coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), (n, n)))
    return csr_matrix((graph + graph.T).astype(bool).astype(np.float64))


def _edges(graph: csr_matrix) -> set[tuple[int, int]]:
    coo = graph.tocoo()
    return {(int(r), int(c)) for r, c in zip(coo.row, coo.col, strict=True) if r < c}


def test_restricted_accounts_are_isolated_and_their_neighbours_linked() -> None:
    # 0 - 1 - 2 - 3 - 4 with 2 and 3 restricted: 1 and 4 are linked across them.
    graph = _graph(np.array([[0, 1], [1, 2], [2, 3], [3, 4]]), 5)
    restricted = np.array([False, False, True, True, False])

    bridged = bridged_graph(graph, restricted)

    assert _edges(bridged) == {(0, 1), (1, 4)}
    assert _edges(bridged_graph(graph, np.zeros(5, dtype=bool))) == _edges(graph)


def test_a_restricted_area_touching_too_many_accounts_stays_a_border() -> None:
    # A star: one restricted centre with more open neighbours than are ever linked.
    leaves = MAX_BRIDGED_NEIGHBOURS + 1
    graph = _graph(np.array([[0, i] for i in range(1, leaves + 1)]), leaves + 1)
    restricted = np.zeros(leaves + 1, dtype=bool)
    restricted[0] = True

    assert bridged_graph(graph, restricted).nnz == 0


def test_qualified_allowance_marks_only_accounts_some_rep_may_not_take() -> None:
    allowed = np.array([[True, True], [True, False], [False, True]])
    assert restricted_accounts(allowed).tolist() == [False, True, True]


def _grid_case() -> tuple[list[Account], np.ndarray, csr_matrix]:
    """A 12 x 12 grid of like accounts (4 neighbours). Rep 0 holds "key", which column 9
    requires and holds: rep 0 has columns 0-2 and 9, rep 1 columns 3-6, rep 2 columns 7, 8,
    10 and 11, 48 accounts each. On the plain graph column 9 cuts rep 2's territory in two."""
    idx = np.arange(SIDE * SIDE).reshape(SIDE, SIDE)
    pairs = np.concatenate(
        [
            np.column_stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()]),
            np.column_stack([idx[:-1, :].ravel(), idx[1:, :].ravel()]),
        ]
    )
    column = (idx % SIDE).ravel()
    assign = np.select([column <= 2, column <= 6, column == 9], [0, 1, 0], default=2)
    rule = VisitRule.parse("weekly")
    accounts = [
        Account(
            account_id=f"G{i:03d}",
            name=f"Grid {i}",
            location=GeoPoint(49.40 + 0.004 * (i // SIDE), 8.65 + 0.006 * (i % SIDE)),
            visit_rule=rule,
            visit_duration_s=30 * MINUTE,
            required_qualifications=KEY if column[i] == 9 else frozenset(),
        )
        for i in range(SIDE * SIDE)
    ]
    return accounts, assign.astype(np.int64), _graph(pairs, SIDE * SIDE)


def _polish(accounts: list[Account], assign: np.ndarray, graph: csr_matrix):  # type: ignore[no-untyped-def]
    reps = make_reps(3, 1, accounts)
    reps = [replace(reps[0], qualifications=KEY), *reps[1:]]
    ctx = build_context(accounts, reps, HaversineTravel())
    balance = np.full(len(accounts), 1.0 / len(accounts))
    # One region: no region borders, so only the repair runs (no annealing).
    regions = RegionSplit(
        account_region=np.zeros(len(accounts), dtype=np.int64),
        rep_region=np.zeros(3, dtype=np.int64),
    )
    polished, notes = polish_borders(
        ctx, graph, assign, balance, regions, 0.05, fixed=frozenset(),
        deadline=Deadline.after(30.0),
    )  # fmt: skip
    return ctx, balance, polished, notes


def test_the_polish_leaves_a_territory_split_only_by_qualified_accounts_as_it_is() -> None:
    accounts, assign, graph = _grid_case()
    balance = np.ones(len(accounts))
    assert count_violations(graph, assign, balance) == SIDE * 3  # 24 of rep 2, 12 of rep 0
    restricted = restricted_accounts(
        np.array([[True, not a.required_qualifications, False] for a in accounts])
    )
    assert open_enclaves(bridged_graph(graph, restricted), assign, balance, restricted) == 0

    _, _, polished, notes = _polish(accounts, assign, graph)

    assert np.array_equal(polished, assign)
    assert notes == ()


def test_the_polish_joins_a_pocket_past_qualified_accounts_and_passes_the_load_on() -> None:
    accounts, assign, graph = _grid_case()
    # A 2 x 2 pocket of rep 1 in rep 2's columns 10-11, next to the "key" column: on the plain
    # graph its neighbours are rep 2 and rep 0 (through column 9).
    pocket = [r * SIDE + c for r in (5, 6) for c in (10, 11)]
    assign[pocket] = 1
    assign[[r * SIDE + 6 for r in range(4)]] = 2  # rep 1 gives as much back: 48 | 48 | 48

    ctx, balance, polished, notes = _polish(accounts, assign, graph)

    restricted = restricted_accounts(ctx.allowed)
    assert open_enclaves(bridged_graph(graph, restricted), polished, balance, restricted) == 0
    assert np.all(polished[restricted] == 0)
    assert np.all(polished[pocket] == 2)  # to the territory around it, not the "key" rep
    load = np.bincount(polished, minlength=3)
    assert np.all(np.abs(load / 48.0 - 1.0) <= 0.05)
    assert notes == ()


def test_the_kpis_count_open_enclaves_besides_qualified_accounts() -> None:
    accounts, assign, graph = _grid_case()
    ctx, _, _, _ = _polish(accounts, assign, graph)

    kpis = assignment_kpis(ctx, assign, graph=graph)

    assert kpis.contiguity_violations == SIDE * 3
    assert kpis.open_enclave_accounts == 0
    # Without the qualification the same split has its plain enclaves, and they are open.
    plain = [replace(a, required_qualifications=frozenset()) for a in accounts]
    plain_ctx, _, _, _ = _polish(plain, assign, graph)
    plain_kpis = assignment_kpis(plain_ctx, assign, graph=graph)
    assert plain_kpis.open_enclave_accounts == plain_kpis.contiguity_violations == SIDE * 3
    # An unassigned account is neither a territory's enclave nor an open one.
    unplaced = assign.copy()
    unplaced[0] = -1
    assert assignment_kpis(ctx, unplaced, graph=graph).open_enclave_accounts == 0
