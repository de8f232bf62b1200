"""Stored rules (replace, reorder, all or nothing) and applying an assignment with history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routeplanner.assignment import AssignMode, assign_accounts, parse_rules
from routeplanner.errors import ConflictError, StorageError
from routeplanner.model.history import OwnershipCause
from routeplanner.services.assignment import replace_rules
from routeplanner.services.imports import import_accounts_and_assign, replace_accounts_and_reps
from routeplanner.storage import Store
from routeplanner.travel.haversine import HaversineTravel
from tests.assignment.factories import EAST, WEST, account, polygon, rep, square, territory
from tests.storage.conftest import FakeClock

TRAVEL = HaversineTravel()
NEAR_WEST = (49.4100, 8.6850)

RULES = parse_rules(
    [
        {
            "id": "zone",
            "name": "Altstadt",
            "criteria": [
                {
                    "field": "area",
                    "values": ["alt.geojson"],
                    "geojson": [polygon(square(8.69, 49.40, 8.72, 49.42))],
                }
            ],
            "territory": "T2",
        },
        {
            "id": "pharm",
            "criteria": [{"field": "category", "values": "pharmacy"}],
            "segment": "medical",
        },
        {"id": "off", "enabled": False, "territory": "T1"},
    ]
)


def _world(store: Store) -> None:
    from routeplanner.model import GeoPoint

    accounts = [
        account("A1", GeoPoint(*NEAR_WEST), category="pharmacy"),
        account("A2", GeoPoint(49.41, 8.70)),  # in the zone
        account("A3", GeoPoint(*NEAR_WEST)),
    ]
    replace_accounts_and_reps(store, accounts, [rep("R1", WEST), rep("R2", EAST)], source="test")
    store.territories.save(
        [territory("T1", "R1", "A1", "A2", "A3"), territory("T2", "R2")],
        cause=OwnershipCause.REALIGNMENT,
        user="anna",
        replace_all=True,
    )


def test_rules_round_trip_and_reorder(store: Store) -> None:
    assert store.rules.all() == []
    _world(store)
    replace_rules(store, RULES, user="anna", segments={"T1": "medical"})
    assert store.rules.all() == list(RULES)
    assert {t.territory_id: t.segment for t in store.territories.all()} == {
        "T1": "medical",
        "T2": "",
    }
    reordered = store.rules.reorder(["pharm", "off", "zone"], user="bob")
    assert [(r.rule_id, r.position) for r in reordered] == [("pharm", 1), ("off", 2), ("zone", 3)]
    assert reordered[2].criteria == RULES[0].criteria
    assert not reordered[1].enabled
    with pytest.raises(StorageError) as info:
        store.rules.reorder(["pharm", "pharm", "nope"])
    assert str(info.value) == (
        "reordering assignment rules: rule pharm appears 2 times; unknown rule nope; "
        "rule off is missing; rule zone is missing"
    )
    assert [r.rule_id for r in store.rules.all()] == ["pharm", "off", "zone"]


def test_replace_rules_is_all_or_nothing(store: Store) -> None:
    _world(store)
    store.rules.replace(RULES)
    with pytest.raises(StorageError, match="unknown territory T7 in segments"):
        replace_rules(store, RULES[:1], segments={"T1": "x", "T7": "y"})
    with pytest.raises(StorageError, match="rule_id 'zone' appears 2 times"):
        store.rules.replace([RULES[0], RULES[0]])
    assert store.rules.all() == list(RULES)
    assert {t.segment for t in store.territories.all()} == {""}
    store.rules.replace([])
    assert store.rules.all() == []


def test_dry_run_changes_nothing_and_apply_records_history(store: Store, clock: FakeClock) -> None:
    _world(store)
    replace_rules(store, RULES, segments={"T1": "medical"})

    def snapshot() -> tuple[object, ...]:
        return (
            store.territories.all(),
            store.territories.ownership_history(),
            store.rules.all(),
            store.accounts.all(),
        )

    before = snapshot()
    report = assign_accounts(
        store.accounts.all(),
        store.reps.all(),
        store.territories.all(),
        store.rules.all(),
        TRAVEL,
        mode=AssignMode.ALL,
    )
    assert snapshot() == before  # evaluating is a dry run
    assert [(d.account_id, d.territory_id, d.reason) for d in report.changes] == [
        ("A2", "T2", "rule zone: in area alt.geojson")
    ]
    designed_at = clock.now
    applied_at = clock.advance(days=30)
    assert store.territories.apply_assignment(report.decisions, user="carla") == 1
    assert {t.territory_id: t.account_ids for t in store.territories.all()} == {
        "T1": ("A1", "A3"),
        "T2": ("A2",),
    }
    history = store.territories.ownership_history("A2")
    assert [(h.territory_id, h.cause, h.changed_by, h.detail) for h in history] == [
        ("T1", OwnershipCause.REALIGNMENT, "anna", ""),
        ("T2", OwnershipCause.RULE, "carla", "rule zone: in area alt.geojson"),
    ]
    assert (history[0].valid_to, history[0].ended_cause, history[0].ended_by) == (
        applied_at,
        OwnershipCause.RULE,
        "carla",
    )
    # Who owned A2 a week after the design, and who now, and why:
    assert store.territories.owner_at("A2", designed_at + timedelta(days=7)).territory_id == "T1"
    now = store.territories.current_ownership("A2")
    assert now is not None
    assert (now.rep_id, now.detail) == ("R2", "rule zone: in area alt.geojson")
    assert store.territories.current_ownerships()["A2"] == now
    assert store.territories.current_ownership("A1").detail == ""  # untouched: kept its period
    # The same report again is stale: A2 is no longer where the decision started.
    with pytest.raises(ConflictError) as info:
        store.territories.apply_assignment(report.decisions, user="carla")
    assert str(info.value) == (
        "applying the assignment: account(s) A2 changed territory since the assignment was "
        "computed; compute it again"
    )


def test_apply_new_accounts_as_import_with_lock_and_reason(store: Store) -> None:
    from routeplanner.model import GeoPoint

    _world(store)
    accounts = [
        *store.accounts.all(),
        account("N1", GeoPoint(*NEAR_WEST), locked_rep_id="R2"),
        account("N2", GeoPoint(*NEAR_WEST)),
    ]
    store.accounts.upsert(accounts[3:], source="new.csv")
    report = assign_accounts(accounts, store.reps.all(), store.territories.all(), [], TRAVEL)
    assert [d.account_id for d in report.decisions] == ["N1", "N2"]
    assert (
        store.territories.apply_assignment(report.decisions, user="importer", cause="import") == 2
    )
    n1, n2 = store.territories.current_ownership("N1"), store.territories.current_ownership("N2")
    assert n1 is not None
    assert n2 is not None
    assert (n1.territory_id, n1.cause, n1.detail) == (
        "T2",
        OwnershipCause.IMPORT,
        "locked to rep R2",
    )
    assert (n2.cause, n2.changed_by) == (OwnershipCause.IMPORT, "importer")
    # N2 is nearer T1, but T1 (3 accounts) is above its share of 5 and T2 (1) below it.
    assert n2.territory_id == "T2"
    assert n2.detail == "nearest territory with spare capacity"
    assert {t.territory_id: t.account_ids for t in store.territories.all()}["T2"] == ("N1", "N2")
    assert store.territories.apply_assignment([], user="x") == 0  # nothing to do is fine


def test_apply_refuses_unknown_territory_and_account(store: Store) -> None:
    from routeplanner.assignment import Decision, DecisionCause

    _world(store)
    bad = [
        Decision(
            account_id="A1",
            territory_id="T9",
            rep_id="R9",
            cause=DecisionCause.RULE,
            reason="r",
            previous_territory_id="T1",
        ),
        Decision(
            account_id="Z1", territory_id="T2", rep_id="R2", cause=DecisionCause.LOCK, reason="r"
        ),
    ]
    with pytest.raises(StorageError) as info:
        store.territories.apply_assignment(bad)
    assert str(info.value) == (
        "applying the assignment: unknown account Z1; unknown territory T9 (account A1)"
    )
    lock = Decision(
        account_id="A3",
        territory_id="T2",
        rep_id="R2",
        cause=DecisionCause.LOCK,
        reason="locked to rep R2",
        previous_territory_id="T1",
    )
    assert store.territories.apply_assignment([lock], user="m") == 1
    assert store.territories.current_ownership("A3").cause == OwnershipCause.MANUAL


def test_import_and_assignment_are_one_transaction(store: Store) -> None:
    """A failing assignment leaves no new account behind, and a good one stores both at once."""
    from routeplanner.assignment import Decision, DecisionCause
    from routeplanner.model import GeoPoint

    _world(store)
    new = [account("N1", GeoPoint(*NEAR_WEST)), account("N2", GeoPoint(*NEAR_WEST))]
    broken = [
        Decision(
            account_id="N1", territory_id="T9", rep_id="R9", cause=DecisionCause.RULE, reason="r"
        )
    ]
    with pytest.raises(StorageError, match=r"unknown territory T9 \(account N1\)"):
        import_accounts_and_assign(store, new, broken, source="new.csv", user="u")
    assert store.accounts.get("N1") is None
    assert store.accounts.get("N2") is None
    with pytest.raises(StorageError, match=r"unknown territory T9"):
        replace_accounts_and_reps(
            store,
            [*store.accounts.all(), *new],
            store.reps.all(),
            source="all.csv",
            assignment=broken,
        )
    assert store.accounts.get("N1") is None

    accounts = [*store.accounts.all(), *new]
    report = assign_accounts(accounts, store.reps.all(), store.territories.all(), [], TRAVEL)
    summary, moved = import_accounts_and_assign(
        store, new, report.decisions, source="new.csv", user="u"
    )
    assert (summary.accounts_added, moved) == (2, 2)
    owner = store.territories.current_ownership("N1")
    assert owner is not None
    assert (owner.cause, owner.changed_by) == (OwnershipCause.IMPORT, "u")
    assert owner.detail == "nearest territory with spare capacity"
