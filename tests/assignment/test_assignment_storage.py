"""Stored rules (replace, reorder, all or nothing) and applying an assignment with history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routeplanner.assignment import AssignMode, assign_accounts, parse_rules
from routeplanner.errors import ConflictError, StorageError
from routeplanner.model.history import OwnershipCause
from routeplanner.storage import Repository
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


def _world(repo: Repository) -> None:
    from routeplanner.model import GeoPoint

    accounts = [
        account("A1", GeoPoint(*NEAR_WEST), category="pharmacy"),
        account("A2", GeoPoint(49.41, 8.70)),  # in the zone
        account("A3", GeoPoint(*NEAR_WEST)),
    ]
    repo.replace_accounts_and_reps(accounts, [rep("R1", WEST), rep("R2", EAST)], source="test")
    repo.save_territories(
        [territory("T1", "R1", "A1", "A2", "A3"), territory("T2", "R2")],
        cause=OwnershipCause.REALIGNMENT,
        user="anna",
        replace_all=True,
    )


def test_rules_round_trip_and_reorder(repo: Repository) -> None:
    assert repo.list_rules() == []
    _world(repo)
    repo.replace_rules(RULES, user="anna", segments={"T1": "medical"})
    assert repo.list_rules() == list(RULES)
    assert {t.territory_id: t.segment for t in repo.current_territories()} == {
        "T1": "medical",
        "T2": "",
    }
    reordered = repo.reorder_rules(["pharm", "off", "zone"], user="bob")
    assert [(r.rule_id, r.position) for r in reordered] == [("pharm", 1), ("off", 2), ("zone", 3)]
    assert reordered[2].criteria == RULES[0].criteria
    assert not reordered[1].enabled
    with pytest.raises(StorageError) as info:
        repo.reorder_rules(["pharm", "pharm", "nope"])
    assert str(info.value) == (
        "reordering assignment rules: rule pharm appears 2 times; unknown rule nope; "
        "rule off is missing; rule zone is missing"
    )
    assert [r.rule_id for r in repo.list_rules()] == ["pharm", "off", "zone"]


def test_replace_rules_is_all_or_nothing(repo: Repository) -> None:
    _world(repo)
    repo.replace_rules(RULES)
    with pytest.raises(StorageError, match="unknown territory T7 in segments"):
        repo.replace_rules(RULES[:1], segments={"T1": "x", "T7": "y"})
    with pytest.raises(StorageError, match="rule_id 'zone' appears 2 times"):
        repo.replace_rules([RULES[0], RULES[0]])
    assert repo.list_rules() == list(RULES)
    assert {t.segment for t in repo.current_territories()} == {""}
    repo.replace_rules([])
    assert repo.list_rules() == []


def test_dry_run_changes_nothing_and_apply_records_history(
    repo: Repository, clock: FakeClock
) -> None:
    _world(repo)
    repo.replace_rules(RULES, segments={"T1": "medical"})

    def snapshot() -> tuple[object, ...]:
        return (
            repo.current_territories(),
            repo.ownership_history(),
            repo.list_rules(),
            repo.list_accounts(),
        )

    before = snapshot()
    report = assign_accounts(
        repo.list_accounts(),
        repo.list_reps(),
        repo.current_territories(),
        repo.list_rules(),
        TRAVEL,
        mode=AssignMode.ALL,
    )
    assert snapshot() == before  # evaluating is a dry run
    assert [(d.account_id, d.territory_id, d.reason) for d in report.changes] == [
        ("A2", "T2", "rule zone: in area alt.geojson")
    ]
    designed_at = clock.now
    applied_at = clock.advance(days=30)
    assert repo.apply_assignment(report.decisions, user="carla") == 1
    assert {t.territory_id: t.account_ids for t in repo.current_territories()} == {
        "T1": ("A1", "A3"),
        "T2": ("A2",),
    }
    history = repo.ownership_history("A2")
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
    assert repo.account_owner_at("A2", designed_at + timedelta(days=7)).territory_id == "T1"
    now = repo.current_ownership("A2")
    assert now is not None
    assert (now.rep_id, now.detail) == ("R2", "rule zone: in area alt.geojson")
    assert repo.current_ownerships()["A2"] == now
    assert repo.current_ownership("A1").detail == ""  # untouched: kept its period
    # The same report again is stale: A2 is no longer where the decision started.
    with pytest.raises(ConflictError) as info:
        repo.apply_assignment(report.decisions, user="carla")
    assert str(info.value) == (
        "applying the assignment: account(s) A2 changed territory since the assignment was "
        "computed; compute it again"
    )


def test_apply_new_accounts_as_import_with_lock_and_reason(repo: Repository) -> None:
    from routeplanner.model import GeoPoint

    _world(repo)
    accounts = [
        *repo.list_accounts(),
        account("N1", GeoPoint(*NEAR_WEST), locked_rep_id="R2"),
        account("N2", GeoPoint(*NEAR_WEST)),
    ]
    repo.upsert_accounts(accounts[3:], source="new.csv")
    report = assign_accounts(accounts, repo.list_reps(), repo.current_territories(), [], TRAVEL)
    assert [d.account_id for d in report.decisions] == ["N1", "N2"]
    assert repo.apply_assignment(report.decisions, user="importer", cause="import") == 2
    n1, n2 = repo.current_ownership("N1"), repo.current_ownership("N2")
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
    assert {t.territory_id: t.account_ids for t in repo.current_territories()}["T2"] == ("N1", "N2")
    assert repo.apply_assignment([], user="x") == 0  # nothing to do is fine


def test_apply_refuses_unknown_territory_and_account(repo: Repository) -> None:
    from routeplanner.assignment import Decision, DecisionCause

    _world(repo)
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
        repo.apply_assignment(bad)
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
    assert repo.apply_assignment([lock], user="m") == 1
    assert repo.current_ownership("A3").cause == OwnershipCause.MANUAL


def test_import_and_assignment_are_one_transaction(repo: Repository) -> None:
    """A failing assignment leaves no new account behind, and a good one stores both at once."""
    from routeplanner.assignment import Decision, DecisionCause
    from routeplanner.model import GeoPoint

    _world(repo)
    new = [account("N1", GeoPoint(*NEAR_WEST)), account("N2", GeoPoint(*NEAR_WEST))]
    broken = [
        Decision(
            account_id="N1", territory_id="T9", rep_id="R9", cause=DecisionCause.RULE, reason="r"
        )
    ]
    with pytest.raises(StorageError, match=r"unknown territory T9 \(account N1\)"):
        repo.import_accounts_and_assign(new, broken, source="new.csv", user="u")
    assert repo.get_account("N1") is None
    assert repo.get_account("N2") is None
    with pytest.raises(StorageError, match=r"unknown territory T9"):
        repo.replace_accounts_and_reps(
            [*repo.list_accounts(), *new], repo.list_reps(), source="all.csv", assignment=broken
        )
    assert repo.get_account("N1") is None

    accounts = [*repo.list_accounts(), *new]
    report = assign_accounts(accounts, repo.list_reps(), repo.current_territories(), [], TRAVEL)
    summary, moved = repo.import_accounts_and_assign(
        new, report.decisions, source="new.csv", user="u"
    )
    assert (summary.accounts_added, moved) == (2, 2)
    owner = repo.current_ownership("N1")
    assert owner is not None
    assert (owner.cause, owner.changed_by) == (OwnershipCause.IMPORT, "u")
    assert owner.detail == "nearest territory with spare capacity"
