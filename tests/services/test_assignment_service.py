"""Assignment use cases on a real SQLite store: rule edits that tolerate old problems, a dry run
applied only onto what it saw, and who may see an account's ownership."""

from __future__ import annotations

import pytest

from routeplanner.errors import ConflictError, InputError, NotFoundError, RoadNetworkError
from routeplanner.model import GeoPoint
from routeplanner.model.history import OwnershipCause
from routeplanner.services import assignment as svc
from routeplanner.services.assignment import AssignParams
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.scope import Scope
from routeplanner.storage import Store
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from tests.assignment.factories import EAST, WEST, account, rep, territory

PHARMACY_EAST = {"id": "pharma", "criteria": [{"field": "category", "values": ["pharmacy"]}]}


@pytest.fixture
def world(store: Store) -> Store:
    accounts = [
        account("A1", GeoPoint(49.409, 8.685), category="pharmacy"),
        account("A2", GeoPoint(49.410, 8.690)),
    ]
    replace_accounts_and_reps(store, accounts, [rep("R1", WEST), rep("R2", EAST)], source="t")
    store.territories.save(
        [territory("T1", "R1", "A1", "A2"), territory("T2", "R2")],
        cause=OwnershipCause.REALIGNMENT,
        replace_all=True,
    )
    return store


def _travel() -> TravelTimeProvider:
    return HaversineTravel()


def test_dry_run_then_apply_once(world: Store) -> None:
    svc.save_rule(world, {**PHARMACY_EAST, "territory": "T2"}, source="form", user="ann")
    run = svc.dry_run(world, _travel, AssignParams(), user="ann")
    assert [(d.account_id, d.territory_id) for d in run.report.changes] == [("A1", "T2")]
    assert world.territories.current_ownership("A1").territory_id == "T1"  # type: ignore[union-attr]
    applied = svc.apply_dry_run(world, run, user="bob")
    assert (applied.applied_by, applied.moved) == ("bob", 1)
    assert world.territories.current_ownership("A1").territory_id == "T2"  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="already applied by bob"):
        svc.apply_dry_run(world, run, user="bob")


def test_a_dry_run_is_refused_once_what_it_read_changed(world: Store) -> None:
    svc.save_rule(world, {**PHARMACY_EAST, "territory": "T2"}, source="form", user="ann")
    run = svc.dry_run(world, _travel, AssignParams(), user="ann")
    world.accounts.upsert([account("A3", GeoPoint(49.41, 8.69))], source="later")
    with pytest.raises(ConflictError, match="changed since this dry run; run it again"):
        svc.apply_dry_run(world, run, user="ann")
    assert world.territories.current_ownership("A1").territory_id == "T1"  # type: ignore[union-attr]


def test_without_roads_a_dry_run_uses_straight_lines_and_says_so(world: Store) -> None:
    def no_roads() -> TravelTimeProvider:
        msg = "x.osm.pbf: OSM file not found"
        raise RoadNetworkError(msg)

    run = svc.dry_run(world, no_roads, AssignParams(), user="ann")
    assert run.travel_note == "straight-line travel estimates (x.osm.pbf: OSM file not found)"


def test_edits_are_refused_only_when_they_add_a_problem(world: Store) -> None:
    svc.save_rule(world, {**PHARMACY_EAST, "territory": "T2"}, source="form", user="ann")
    with pytest.raises(InputError, match="territory T9"):
        svc.save_rule(
            world,
            {**PHARMACY_EAST, "territory": "T9"},
            original_id="pharma",
            source="form",
            user="ann",
        )
    with pytest.raises(NotFoundError, match="rule 'gone' not found"):
        svc.save_rule(world, PHARMACY_EAST, original_id="gone", source="form", user="ann")
    with pytest.raises(NotFoundError):
        svc.move_rule(world, "gone", -1, source="form", user="ann")
    # The target territory goes away: the stored rule has a problem now, yet may be deleted.
    world.territories.save(
        [territory("T1", "R1", "A1", "A2")], cause=OwnershipCause.MANUAL, replace_all=True
    )
    assert [p.field for p in svc.stored_problems(world)] == ["territory"]
    svc.delete_rule(world, "pharma", source="form", user="ann")
    assert world.rules.all() == []


def test_reorder_names_missing_unknown_and_repeated_ids(world: Store) -> None:
    svc.save_rule(world, {**PHARMACY_EAST, "territory": "T2"}, source="form", user="ann")
    with pytest.raises(InputError) as exc:
        svc.reorder_rules(world, ["x", "x"], source="api", user="ann")
    assert [p.message for p in exc.value.problems] == [
        "rule x appears 2 times",
        "unknown rule x",
        "unknown rule x",
        "rule pharma is missing",
    ]


def test_a_rep_sees_ownership_of_their_own_accounts_only(world: Store) -> None:
    r1 = world.users.create("r1", "x", role="rep", rep_id="R1")
    r2 = world.users.create("r2", "x", role="rep", rep_id="R2")
    found = svc.account_ownership(world, "A1", Scope.everything(), user=r1)
    assert found.owner is not None
    assert found.owner.territory_id == "T1"
    assert [r.territory_id for r in found.history] == ["T1"]
    with pytest.raises(NotFoundError, match="account 'A1' not found"):
        svc.account_ownership(world, "A1", Scope.everything(), user=r2)
    with pytest.raises(NotFoundError):
        svc.account_ownership(world, "A9", Scope.everything())


def test_rules_text_names_areas_that_were_not_uploaded() -> None:
    text = (
        '{"rules": [{"id": "old", "criteria": [{"field": "area", "values": ["a/x.geojson"]}],'
        ' "territory": "T1"}]}'
    )
    with pytest.raises(InputError) as exc:
        svc.parse_rules_text(text, {}, source="rules.json", require_embedded=True)
    assert [str(p) for p in exc.value.problems] == [
        "rules.json:1: criteria[1].values: rule old: area file a/x.geojson was not uploaded: "
        "embed it as geojson"
    ]
