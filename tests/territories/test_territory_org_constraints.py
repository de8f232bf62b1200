"""Locked territories and required qualifications at organisation scale: designs and
realignments through regions keep them as the single path does."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from territory_factories import make_accounts, make_reps
from test_territory_roads import _accounts, _road_modules

from routeplanner.model.account import Account
from routeplanner.model.rep import Rep
from routeplanner.model.territory import Territory
from routeplanner.territories.design import TerritoryPlan, design_territories
from routeplanner.territories.organisation import load_deviation, polish_targets
from routeplanner.territories.realign import realign_territories
from routeplanner.territories.regions import (
    QUALIFIED_FILL,
    RegionSettings,
    local_xy,
    place_qualified,
)
from routeplanner.territories.workload import build_context
from routeplanner.travel import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider

SMALL = RegionSettings(min_accounts=100, reps_per_region=3)
"""Regions on a small input: 240 accounts and 6 reps go through two regions."""
MEDICAL = frozenset({"medical"})

Org = tuple[TravelTimeProvider, list[Account], list[Rep]]


@pytest.fixture(scope="module")
def org(andorra_graph) -> Org:  # type: ignore[no-untyped-def]
    _, snap_mod, road_mod = _road_modules()
    travel = road_mod.RoadTravel(andorra_graph)
    accounts = _accounts(snap_mod, andorra_graph, 240, seed=4)
    return travel, accounts, make_reps(6, 4, accounts)


def _nearest_territory(accounts: list[Account], rep: Rep, size: int) -> Territory:
    """A manager's territory for ``rep``: the ``size`` accounts nearest its home."""
    xy = local_xy(
        np.array([a.location.lat for a in accounts] + [rep.home.lat]),
        np.array([a.location.lon for a in accounts] + [rep.home.lon]),
    )
    gap = np.hypot(*(xy[:-1] - xy[-1]).T)
    nearest = sorted(int(i) for i in np.argsort(gap)[:size])
    return Territory(
        territory_id="T-kept",
        name=rep.name or rep.rep_id,
        rep_id=rep.rep_id,
        account_ids=tuple(accounts[i].account_id for i in nearest),
        locked=True,
    )


def _owner(plan: TerritoryPlan) -> dict[str, str]:
    return {a: t.rep_id for t in plan.territories if t.rep_id for a in t.account_ids}


def _medical(accounts: list[Account], reps: list[Rep]) -> tuple[list[Account], list[Rep]]:
    """Every twelfth account needs "medical" (all over the map); only R5 holds it."""
    needs = [
        dataclasses.replace(a, required_qualifications=MEDICAL) if i % 12 == 0 else a
        for i, a in enumerate(accounts)
    ]
    holds = [
        dataclasses.replace(r, qualifications=MEDICAL) if r.rep_id == "R5" else r for r in reps
    ]
    return needs, holds


@pytest.mark.osm
@pytest.mark.slow
def test_a_locked_territory_stays_as_it_is_through_regions(org: Org) -> None:
    travel, accounts, reps = org
    kept = _nearest_territory(accounts, reps[0], 40)
    plan = design_territories(
        accounts, reps, travel, locked_territories=[kept], regions=SMALL, time_limit_s=600.0
    )
    assert plan.notes[0].startswith("designed as")
    by_rep = {t.rep_id: t for t in plan.territories}
    assert by_rep[kept.rep_id] == kept
    owner = _owner(plan)
    assert sorted(owner) == sorted(a.account_id for a in accounts)
    assert {a for a, r in owner.items() if r == kept.rep_id} == set(kept.account_ids)
    # The others share the rest within the band, as on the single path; the locked one has
    # no band.
    assert plan.within_tolerance, plan.kpis.max_workload_dev_pct
    locked_kpis = [t for t in plan.kpis.territories if t.rep_id == kept.rep_id]
    assert len(locked_kpis) == 1
    assert locked_kpis[0].locked


@pytest.mark.osm
@pytest.mark.slow
def test_accounts_needing_a_qualification_reach_a_qualified_rep_through_regions(
    org: Org,
) -> None:
    travel, plain, plain_reps = org
    accounts, reps = _medical(plain, plain_reps)
    plan = design_territories(accounts, reps, travel, regions=SMALL, time_limit_s=600.0)
    assert plan.notes[0] == "designed as 2 regions"
    owner = _owner(plan)
    assert sorted(owner) == sorted(a.account_id for a in accounts)
    assert all(owner[a.account_id] == "R5" for a in accounts if a.required_qualifications)


@pytest.mark.osm
@pytest.mark.slow
def test_a_realignment_through_regions_gives_every_option_qualified_reps(org: Org) -> None:
    travel, plain, plain_reps = org
    current = design_territories(plain, plain_reps, travel, regions=SMALL, time_limit_s=600.0)
    # A qualification required after the design: most "medical" accounts' current rep lacks
    # it, and only R5, in one of the two regions, holds it.
    accounts, reps = _medical(plain, plain_reps)
    options = realign_territories(
        current.territories, accounts, reps, travel, regions=SMALL, time_limit_s=120.0
    )
    assert options
    medical = {a.account_id for a in accounts if a.required_qualifications}
    for option in options:
        owner = {a: t.rep_id for t in option.territories for a in t.account_ids}
        assert {owner[a] for a in medical} == {"R5"}, option.label


def test_place_qualified_moves_only_stranded_accounts_to_the_nearest_qualified_home() -> None:
    xy = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 9.0], [0.0, 10.0], [0.0, 5.0]])
    homes = np.array([[0.0, 0.0], [0.0, 10.0], [0.0, 20.0], [0.0, 4.0]])
    # The accounts needing a qualification are light: no region fills up with them.
    loads = (np.array([1.0, 0.01, 1.0, 0.01, 0.01]), np.ones(4))
    account_region = np.array([0, 0, 1, 1, -1])
    rep_region = np.array([0, 1, 2, 1])
    allowed = np.ones((5, 4), dtype=bool)
    allowed[1] = [False, True, True, True]  # only reps 1-3: none in region 0
    allowed[3] = [True, False, False, True]  # reps 0 and 3: rep 3 in its region
    allowed[4] = [False, False, True, False]  # locked territory's account: no region
    moved = place_qualified(account_region, rep_region, allowed, (xy, homes), loads)
    # Account 1's nearest qualified home is rep 3's (4 m), in region 1.
    assert moved == 1
    assert account_region.tolist() == [0, 1, 1, 1, -1]
    # Rep 3 closed (its territory locked): account 3 must go to rep 0's region.
    again = np.array([0, 0, 1, 1, -1])
    moved = place_qualified(again, rep_region, allowed, (xy, homes), loads, closed=frozenset({3}))
    assert again.tolist() == [0, 1, 1, 0, -1]
    assert moved == 2


def test_place_qualified_passes_a_full_region_for_the_next_nearest() -> None:
    # Three accounts need rep 1's or rep 2's qualification. Each region may fill up to
    # QUALIFIED_FILL of its reps' share (1/3 each here) with such accounts: the first goes to
    # the nearest region, the second further on, the third, fitting nowhere, to the least
    # filled (a tie: the first).
    assert QUALIFIED_FILL == 0.5
    xy = np.zeros((4, 2))
    homes = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 50.0]])
    account_region = np.array([0, 0, 0, 0])
    rep_region = np.array([0, 1, 2])
    allowed = np.array([[True] * 3] + [[False, True, True]] * 3)
    balance = np.array([0.7, 0.1, 0.1, 0.1])
    place_qualified(account_region, rep_region, allowed, (xy, homes), (balance, np.ones(3)))
    assert account_region.tolist() == [0, 1, 2, 1]


def test_polish_targets_leave_locked_territories_as_they_are() -> None:
    accounts = make_accounts(6, seed=3)
    reps = make_reps(3, 1, accounts)
    ctx = build_context(accounts, reps, HaversineTravel())
    assign = np.array([0, 0, 0, 0, 1, 2])  # the locked rep 0 holds four accounts of six
    balance = np.full(6, 1.0 / 6)
    target = polish_targets(ctx, assign, balance, frozenset({0}))
    assert target[0] == pytest.approx(4 / 6)
    assert target[1:] == pytest.approx([1 / 6, 1 / 6])  # equal capacity: half of the rest each
    assert load_deviation(assign, balance, target) == pytest.approx([0.0, 0.0, 0.0])
    # No band for a locked territory, but load where none is due is infinitely far out.
    assert load_deviation(assign, balance, np.array([4 / 6, 0.0, 1 / 6]))[1] == np.inf


@pytest.mark.osm
@pytest.mark.slow
def test_moves_a_new_qualification_forces_are_not_held_back_by_a_cap(org: Org) -> None:
    # The single path: an account whose rep lacks a qualification it now requires must move,
    # like an orphan; the 0-move option moves it (flagged forced) and nothing else.
    travel, plain, plain_reps = org
    current = design_territories(plain, plain_reps, travel, time_limit_s=600.0)
    accounts, reps = _medical(plain, plain_reps)
    options = realign_territories(current.territories, accounts, reps, travel, max_moves=0)
    stable = next(o for o in options if o.max_moves == 0)
    was = {a: t.rep_id for t in current.territories for a in t.account_ids}
    must = {
        a.account_id for a in accounts if a.required_qualifications and was[a.account_id] != "R5"
    }
    assert must
    assert stable.moved_accounts == 0
    moves = {m.account_id: m for m in stable.comparison.moves}
    assert set(moves) == must
    assert all(m.forced and m.to_rep == "R5" for m in moves.values())


def test_the_benchmarks_constrained_input_is_feasible_by_construction() -> None:
    from benchmarks.territories import KEY, constrained

    accounts, reps, locked = constrained(make_accounts(400, seed=2), make_reps(20, 2), seed=0)
    need = {a.account_id for a in accounts if a.required_qualifications == KEY}
    assert 0 < len(need) < 60
    assert [r.rep_id for r in reps if r.qualifications == KEY] == ["R0", "R10"]
    assert locked.rep_id == "R1"
    assert locked.locked
    assert len(locked.account_ids) == 15
    assert not need & set(locked.account_ids)
