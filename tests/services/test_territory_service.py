"""The territories service on a real SQLite store, inline (no job thread): proposals, the one
placement of accounts off the road network, applying an option, locks, KPIs and history."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from routeplanner.errors import (
    ConflictError,
    InputError,
    JobCancelledError,
    NotFoundError,
    RoadNetworkError,
)
from routeplanner.model import Account, GeoPoint, Region, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services import territories as svc
from routeplanner.services.scope import Scope, scope_of_regions
from routeplanner.services.territories import DesignParams, TerritoryInputs
from routeplanner.storage import Store
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.road import RoadTravel
from tests.assignment.factories import account, rep
from tests.web.test_territories_page import nearest_home_split, owners, territory_region

ALL = Scope.everything()

FAST = DesignParams(kind="design", time_limit_s=2)
FAR = GeoPoint(49.0, 8.0)
NEAR_R2 = GeoPoint(49.05, 8.05)


@pytest.fixture
def region(store: Store) -> tuple[list[Account], list[Rep]]:
    accounts, reps = territory_region()
    with store.transaction() as tx:
        tx.accounts.replace_all(accounts, source="test")
        tx.reps.replace_all(reps, source="test")
    return accounts, reps


@pytest.fixture
def roads(heidelberg_graph: Any) -> RoadTravel:
    return RoadTravel(heidelberg_graph)


def _split(store: Store, accounts: list[Account], reps: list[Rep]) -> list[Territory]:
    split = nearest_home_split(accounts, reps)
    store.territories.save(split, cause=OwnershipCause.IMPORT, replace_all=True)
    return store.territories.all()


# -- one placement of accounts off the road network --------------------------------------------


def test_off_network_account_goes_to_lock_then_owner_then_nearest_qualified() -> None:
    near, far = rep("R1", home=NEAR_R2), rep("R2", home=GeoPoint(49.4, 8.7), quals=("med",))
    plain = account("A1", at=FAR)
    assert svc.off_network_rep(plain, [near, far]) == "R1"  # nearest
    assert svc.off_network_rep(plain, [near, far], owner="R2") == "R2"  # owner beats nearest
    locked = replace(plain, locked_rep_id="R1")
    assert svc.off_network_rep(locked, [near, far], owner="R2") == "R1"  # lock beats owner
    assert svc.off_network_rep(plain, [near, far], owner="R2", pinned="R1") == "R1"
    needs = replace(plain, required_qualifications=frozenset({"med"}))
    assert svc.off_network_rep(needs, [near, far]) == "R2"  # nearest *qualified*
    gone = replace(plain, locked_rep_id="R9")
    assert svc.off_network_rep(gone, [near, far], owner="R8") == "R1"  # unknown reps: nearest
    assert svc.off_network_rep(plain, []) is None


def test_placement_only_uses_reps_with_a_territory_and_drops_nobody() -> None:
    r1, r2 = rep("R1", home=NEAR_R2), rep("R2", home=GeoPoint(49.4, 8.7))
    designed = (Territory(territory_id="T-R2", name="Süd", rep_id="R2", account_ids=("A1",)),)
    off = [account("A2", at=FAR), account("A3", at=FAR, locked_rep_id="R1")]
    placed = svc.place_off_network(designed, off, [r1, r2])
    assert placed[0].account_ids == ("A1", "A2", "A3")  # R1 has no territory here


def test_design_places_the_off_network_account_by_its_lock(
    store: Store, region: tuple[list[Account], list[Rep]], roads: RoadTravel
) -> None:
    accounts, _reps = region
    store.accounts.upsert(
        [replace(a, locked_rep_id="R3") for a in accounts if a.account_id == "A3"], source="t"
    )
    proposal = svc.propose(svc.stored_inputs(store, ALL), roads, FAST)
    (option,) = proposal.options
    assert owners(list(option.territories))["A3"] == "R3"
    assert sorted(owners(list(option.territories))) == sorted(a.account_id for a in accounts)
    assert proposal.notes[0].startswith("1 account(s) off the road network")
    assert store.territories.all() == []  # a proposal only


# -- applying ------------------------------------------------------------------------------------


def test_apply_keeps_segments_and_refuses_a_second_apply(
    store: Store, region: tuple[list[Account], list[Rep]], roads: RoadTravel
) -> None:
    accounts, reps = region
    _split(store, accounts, reps)
    store.territories.set_segments({"T-R1": "retail"})
    proposal = svc.propose(svc.stored_inputs(store, ALL), roads, replace(FAST, kind="realign"))
    with pytest.raises(InputError, match=r"job 7 has options 1\.\."):
        svc.apply_option(store, proposal, 99, user="ann", name="job 7", via="test")
    svc.apply_option(store, proposal, 1, user="ann", name="job 7", via="test realign")
    stored = {t.territory_id: t.segment for t in store.territories.all()}
    assert stored["T-R1"] == "retail"
    history = store.territories.ownership_history()
    assert all(r.changed_by == "ann" for r in history if r.cause is OwnershipCause.REALIGNMENT)
    with pytest.raises(ConflictError, match="option 1 of job 7 was applied"):
        svc.apply_option(store, proposal, 1, user="bob", name="job 7", via="test")


def test_apply_is_refused_once_the_stored_territories_changed(
    store: Store, region: tuple[list[Account], list[Rep]], roads: RoadTravel
) -> None:
    accounts, reps = region
    split = _split(store, accounts, reps)
    proposal = svc.propose(svc.stored_inputs(store, ALL), roads, replace(FAST, kind="realign"))
    svc.set_lock(store, "T-R2", True, user="ann", scope=ALL)
    with pytest.raises(ConflictError, match="changed since this job started"):
        svc.apply_option(store, proposal, 1, user="ann", name="job 1", via="test")
    assert owners(store.territories.all()) == owners(split)
    files = TerritoryInputs(
        tuple(accounts), tuple(reps), tuple(split), from_store=False, where="t.csv"
    )
    from_files = svc.propose(files, roads, replace(FAST, kind="realign"))
    svc.apply_option(store, from_files, 1, user="ann", name="the file", via="test")  # no check


def test_a_cancelled_proposal_stops_at_its_next_report(
    store: Store, region: tuple[list[Account], list[Rep]]
) -> None:
    def cancelled(_message: str, _fraction: float) -> None:
        raise JobCancelledError("cancelled")

    with pytest.raises(JobCancelledError):
        svc.propose(svc.stored_inputs(store, ALL), HaversineTravel(), FAST, cancelled)


def test_realign_needs_territories_and_keep_names_known_ones(
    store: Store, region: tuple[list[Account], list[Rep]]
) -> None:
    inputs = svc.stored_inputs(store, ALL)
    with pytest.raises(InputError, match="no territories to realign; design first"):
        svc.propose(inputs, HaversineTravel(), replace(FAST, kind="realign"))
    with pytest.raises(InputError, match="keep: no territory T-X in the stored territories"):
        svc.kept_territories(replace(FAST, keep=("T-X",)), inputs)


# -- the split in force ----------------------------------------------------------------------


def test_locks_history_and_their_not_found(
    store: Store, region: tuple[list[Account], list[Rep]]
) -> None:
    accounts, reps = region
    _split(store, accounts, reps)
    locked = svc.set_lock(store, "T-R1", True, user="ann", scope=ALL)
    assert locked.locked
    assert (
        svc.set_lock(store, "T-R1", True, user="ann", scope=ALL) == locked
    )  # unchanged: no new record
    with pytest.raises(NotFoundError, match="territory 'NOPE' not found"):
        svc.set_lock(store, "NOPE", True, user="ann", scope=ALL)
    assert svc.history(store, "A1")[-1].cause is OwnershipCause.IMPORT
    with pytest.raises(NotFoundError, match="no ownership history for A9"):
        svc.history(store, "A9")


def test_overview_says_why_there_are_no_kpis(
    store: Store, region: tuple[list[Account], list[Rep]], roads: RoadTravel
) -> None:
    accounts, reps = region
    view = svc.overview(store, lambda: roads, scope=ALL)
    assert (view.kpis, view.kpi_error) == (
        None,
        "No territories yet: design them from scratch below.",
    )
    _split(store, accounts, reps)

    def no_roads() -> RoadTravel:
        msg = "missing.osm.pbf: OSM file not found"
        raise RoadNetworkError(msg)

    assert "OSM file not found" in svc.overview(store, no_roads, scope=ALL).kpi_error
    memo = svc.KpiMemo()
    view = svc.overview(store, lambda: roads, scope=ALL, memo=memo)
    assert view.off_network == ("A3",)
    assert view.kpis is not None
    assert view.kpis.accounts == 17
    assert svc.overview(store, lambda: roads, scope=ALL, memo=memo).kpis is view.kpis  # memoised
    name, media, text = svc.export(view, "kpis")
    assert (name, media) == ("territory-kpis.csv", "text/csv; charset=utf-8")
    assert text.splitlines()[0].startswith("territory_id")


# -- per region ------------------------------------------------------------------------------------


def _two_regions(store: Store, split: list[Territory]) -> tuple[list[str], list[str]]:
    """The first two territories in region NORD, the others in SUED."""
    ids = sorted(t.territory_id for t in split)
    nord, sued = ids[:2], ids[2:]
    store.regions.replace_all(
        [
            Region(region_id="NORD", name="Nord", territory_ids=tuple(nord)),
            Region(region_id="SUED", name="Sued", territory_ids=tuple(sued)),
        ]
    )
    return nord, sued


def test_a_regions_realignment_moves_only_its_accounts(
    store: Store, region: tuple[list[Account], list[Rep]], roads: RoadTravel
) -> None:
    accounts, reps = region
    split = _split(store, accounts, reps)
    nord, sued = _two_regions(store, split)
    scope = scope_of_regions(store, frozenset({"NORD"}))
    inputs = svc.stored_inputs(store, scope)
    assert sorted(t.territory_id for t in inputs.territories) == nord
    mine = {a for t in split if t.territory_id in nord for a in t.account_ids}
    assert {a.account_id for a in inputs.accounts} == mine
    proposal = svc.propose(inputs, roads, replace(FAST, kind="realign"))
    for option in proposal.options:
        assert {a for t in option.territories for a in t.account_ids} == mine
    svc.apply_option(store, proposal, len(proposal.options), user="nora", name="job", via="t")
    after = {t.territory_id: t for t in store.territories.all()}
    before = {t.territory_id: t for t in split}
    for territory_id in sued:
        assert after[territory_id] == before[territory_id]  # the other region is untouched
    assert {a for t in after.values() for a in t.account_ids} == {a.account_id for a in accounts}


def test_a_regions_design_keeps_its_new_territories_in_the_region(
    store: Store, region: tuple[list[Account], list[Rep]], roads: RoadTravel
) -> None:
    accounts, reps = region
    split = _split(store, accounts, reps)
    nord, sued = _two_regions(store, split)
    renamed = [replace(t, territory_id=f"OLD-{t.territory_id}") for t in split]
    store.territories.save(renamed, cause=OwnershipCause.IMPORT, replace_all=True)
    store.regions.replace_all(
        [
            Region(region_id="NORD", name="Nord", territory_ids=tuple(f"OLD-{t}" for t in nord)),
            Region(region_id="SUED", name="Sued", territory_ids=tuple(f"OLD-{t}" for t in sued)),
        ]
    )
    scope = scope_of_regions(store, frozenset({"NORD"}))
    proposal = svc.propose(svc.stored_inputs(store, scope), roads, FAST)
    (option,) = proposal.options
    assert {t.territory_id for t in option.territories}.isdisjoint(f"OLD-{t}" for t in nord)
    svc.apply_option(store, proposal, 1, user="nora", name="design", via="t")
    regions = {r.region_id: set(r.territory_ids) for r in store.regions.all()}
    assert {t.territory_id for t in option.territories} <= regions["NORD"]
    stored = {t.territory_id for t in store.territories.all()}
    assert {f"OLD-{t}" for t in sued} <= stored  # the other region's territories stay
    assert stored.isdisjoint(f"OLD-{t}" for t in nord)  # the region's old ones were replaced
