"""Required qualifications are hard: no design or realignment option gives an account to a rep
lacking one, and impossible requirements or locks are errors naming the account and field."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from territory_factories import make_accounts, make_reps

from routeplanner.errors import InputError
from routeplanner.model import Account, Rep, Territory
from routeplanner.territories.design import DesignWeights, design_territories
from routeplanner.territories.realign import realign_territories
from routeplanner.travel import HaversineTravel

TRAVEL = HaversineTravel()
QUALS = ("medical", "forklift", "pharma")


def _qualified(owner: dict[str, str], accounts: list[Account], reps: list[Rep]) -> list[str]:
    """Accounts given to a rep lacking one of their required qualifications (should be none)."""
    by_id = {r.rep_id: r for r in reps}
    return [
        a.account_id
        for a in accounts
        if not a.required_qualifications <= by_id[owner[a.account_id]].qualifications
    ]


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Account], list[Rep], int]:
    """Small generated cases: every requirement held by at least one rep (else it is an error)."""
    seed = draw(st.integers(0, 10_000))
    n = draw(st.integers(12, 40))
    k = draw(st.integers(2, 4))
    accounts = make_accounts(n, seed)
    reps = make_reps(k, seed, accounts)
    rep_quals = [frozenset(draw(st.sets(st.sampled_from(QUALS), max_size=2))) for _ in range(k)]
    reps = [dataclasses.replace(r, qualifications=q) for r, q in zip(reps, rep_quals, strict=True)]
    held = sorted({q for qs in rep_quals for q in qs})
    if held:
        needs = draw(st.lists(st.sets(st.sampled_from(held), max_size=1), min_size=n, max_size=n))
        accounts = [
            dataclasses.replace(a, required_qualifications=frozenset(q))
            for a, q in zip(accounts, needs, strict=True)
        ]
    return accounts, reps, seed


@pytest.mark.slow
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(instances(), st.sampled_from(("home", "centre")))
def test_no_account_goes_to_an_unqualified_rep(
    case: tuple[list[Account], list[Rep], int], objective: str
) -> None:
    accounts, reps, seed = case
    weights = DesignWeights(objective=objective)
    # Solver limits, not time, bound the work: few iterations and repair rounds.
    plan = design_territories(
        accounts, reps, TRAVEL, weights=weights, max_iterations=2, repair_rounds=1
    )
    owner = plan.assignment()
    assert len(owner) == len(accounts)
    assert _qualified(owner, accounts, reps) == []
    grown = accounts + [
        dataclasses.replace(a, required_qualifications=accounts[i].required_qualifications)
        for i, a in enumerate(make_accounts(4, seed + 1, prefix="N"))
    ]
    options = realign_territories(
        plan.territories,
        grown,
        reps,
        TRAVEL,
        move_limits=[0, 2, None],
        move_penalty=300.0,
        weights=weights,
        max_iterations=2,
        repair_rounds=1,
    )
    assert options
    before = plan.assignment()
    for opt in options:
        after = {aid: t.rep_id for t in opt.territories for aid in t.account_ids}
        assert _qualified(after, grown, reps) == []
        if opt.max_moves is not None:
            assert sum(1 for a in before if after[a] != before[a]) <= opt.max_moves


def test_qualified_accounts_stay_with_the_only_qualified_rep() -> None:
    accounts = make_accounts(120, 5)
    reps = make_reps(3, 5, accounts)
    reps[2] = dataclasses.replace(reps[2], qualifications=frozenset({"medical"}))
    needy = {a.account_id for a in accounts[::7]}
    accounts = [
        dataclasses.replace(a, required_qualifications=frozenset({"medical"}))
        if a.account_id in needy
        else a
        for a in accounts
    ]
    plan = design_territories(accounts, reps, TRAVEL)
    owner = plan.assignment()
    assert {owner[a] for a in needy} == {reps[2].rep_id}
    assert plan.kpis.max_workload_dev_pct <= 5.0


def test_a_requirement_no_rep_meets_is_an_error_for_every_such_account() -> None:
    accounts = make_accounts(20, 1)
    reps = make_reps(2, 1, accounts)
    reps[0] = dataclasses.replace(reps[0], qualifications=frozenset({"medical"}))
    accounts[3] = dataclasses.replace(
        accounts[3], required_qualifications=frozenset({"medical", "pharma"})
    )
    accounts[5] = dataclasses.replace(accounts[5], required_qualifications=frozenset({"forklift"}))
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL)
    assert [(p.source, p.field, p.message) for p in info.value.problems] == [
        (
            "accounts",
            "requires",
            "account A0003 requires medical, pharma but no rep has all of them",
        ),
        ("accounts", "requires", "account A0005 requires forklift but no rep has all of them"),
    ]


def test_a_lock_to_an_unqualified_rep_is_an_error() -> None:
    accounts = make_accounts(20, 2)
    reps = make_reps(2, 2, accounts)
    reps[1] = dataclasses.replace(reps[1], qualifications=frozenset({"medical"}))
    accounts[0] = dataclasses.replace(
        accounts[0], required_qualifications=frozenset({"medical"}), locked_rep_id="R0"
    )
    accounts[1] = dataclasses.replace(accounts[1], required_qualifications=frozenset({"medical"}))
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL, locked={"A0001": "R0"})
    assert [(p.source, p.field, p.message) for p in info.value.problems] == [
        ("accounts", "locked_rep", "account A0000 is locked to rep R0, who lacks medical"),
        ("locked", "locked_rep", "account A0001 is locked to rep R0, who lacks medical"),
    ]
    # A locked territory holding an account its rep may not own is refused too.
    frozen = Territory(
        territory_id="KEEP", name="kept", rep_id="R0", account_ids=("A0001",), locked=True
    )
    plain = [dataclasses.replace(accounts[0], locked_rep_id=None), *accounts[1:]]
    with pytest.raises(InputError) as info:
        design_territories(plain, reps, TRAVEL, locked_territories=[frozen])
    assert [(p.source, p.field, p.message) for p in info.value.problems] == [
        (
            "locked territories",
            "requires",
            "account A0001 in locked territory KEEP requires medical, which rep R0 lacks",
        ),
    ]


def test_realign_refuses_a_lock_to_an_unqualified_rep() -> None:
    accounts = make_accounts(30, 3)
    reps = make_reps(2, 3, accounts)
    plan = design_territories(accounts, reps, TRAVEL)
    reps[1] = dataclasses.replace(reps[1], qualifications=frozenset({"medical"}))
    accounts[4] = dataclasses.replace(accounts[4], required_qualifications=frozenset({"medical"}))
    with pytest.raises(InputError) as info:
        realign_territories(plan.territories, accounts, reps, TRAVEL, locked={"A0004": "R0"})
    assert [(p.field, p.message) for p in info.value.problems] == [
        ("locked_rep", "account A0004 is locked to rep R0, who lacks medical")
    ]
