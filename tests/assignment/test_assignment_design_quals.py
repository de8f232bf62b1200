"""Qualifications are hard in territory design and realignment too (pins to qualified reps)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routeplanner.errors import InputError
from routeplanner.model import GeoPoint
from routeplanner.territories.design import design_territories
from routeplanner.territories.realign import realign_territories
from routeplanner.travel.haversine import HaversineTravel
from tests.assignment.factories import account, rep

TRAVEL = HaversineTravel()


def _region() -> tuple[list, list]:  # type: ignore[type-arg]
    accounts = [
        account(
            f"A{i:02d}",
            GeoPoint(49.38 + 0.005 * (i % 8), 8.62 + 0.02 * (i // 8)),
            required_qualifications=frozenset({"Medical"}) if i % 5 == 0 else frozenset(),
        )
        for i in range(40)
    ]
    reps = [
        rep("R1", GeoPoint(49.39, 8.64), quals=("medical",)),
        rep("R2", GeoPoint(49.40, 8.70)),
        rep("R3", GeoPoint(49.39, 8.72), quals=("medical", "lab")),
    ]
    return accounts, reps


def _owner(territories: tuple) -> dict[str, str]:  # type: ignore[type-arg]
    return {a: t.rep_id for t in territories for a in t.account_ids}


def test_design_and_realign_never_give_an_account_to_an_unqualified_rep() -> None:
    accounts, reps = _region()
    plan = design_territories(accounts, reps, TRAVEL, max_iterations=2, time_limit_s=5)
    owner = _owner(plan.territories)
    needs = [a.account_id for a in accounts if a.required_qualifications]
    assert len(needs) == 8
    assert all(owner[a] in {"R1", "R3"} for a in needs)
    # Realignment after R3 leaves: R3's medical accounts must go to R1, never to R2.
    options = realign_territories(plan.territories, accounts, reps[:2], TRAVEL, time_limit_s=5)
    assert options
    for option in options:
        after = _owner(option.territories)
        assert all(after[a] == "R1" for a in needs), option.label


def test_requirements_no_rep_meets_are_input_errors() -> None:
    accounts, reps = _region()
    accounts[1] = replace(accounts[1], required_qualifications=frozenset({"cold chain"}))
    accounts[2] = replace(
        accounts[2], required_qualifications=frozenset({"lab"}), locked_rep_id="R1"
    )
    # Requirements are checked with the accounts themselves, locks once those are sound.
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL)
    assert [str(p) for p in info.value.problems] == [
        "accounts: requires: account A01 requires cold chain but no rep has all of them",
    ]
    accounts[1] = replace(accounts[1], required_qualifications=frozenset())
    with pytest.raises(InputError) as info:
        design_territories(accounts, reps, TRAVEL)
    assert [str(p) for p in info.value.problems] == [
        "accounts: locked_rep: account A02 is locked to rep R1, who lacks lab",
    ]
