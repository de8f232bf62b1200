"""Import and assignment use cases on a real database: 500 new accounts are assigned, nobody
else moves."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import GeoPoint
from routeplanner.model.history import OwnershipCause
from routeplanner.services.assignment import AssignParams, stored_assignment
from routeplanner.services.imports import import_and_assign
from routeplanner.services.planning import ensure_territories
from routeplanner.storage import Store
from routeplanner.travel.haversine import HaversineTravel
from tests.helpers import SAMPLE_DIR


def test_import_of_500_new_accounts_assigns_them_and_reports_balance(store: Store) -> None:
    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")
    reps = read_reps(SAMPLE_DIR / "reps.csv")
    travel = HaversineTravel()
    first = import_and_assign(store, accounts, reps, lambda: travel, source="first")
    assert first.report is None  # no territories yet: nothing to assign to
    ensure_territories(store, accounts, reps, travel, horizon_days=28, user="anna")
    before = store.territories.current_ownerships()
    rng = np.random.default_rng(8)
    new = [
        replace(
            accounts[int(rng.integers(len(accounts)))],
            account_id=f"N{k:03d}",
            location=GeoPoint(float(rng.uniform(49.36, 49.49)), float(rng.uniform(8.62, 8.85))),
            locked_rep_id=None,
        )
        for k in range(500)
    ]
    result = import_and_assign(
        store, [*accounts, *new], reps, lambda: travel, source="second", user="importer"
    )
    report = result.report
    assert report is not None
    assert result.moved == 500
    assert sorted(d.account_id for d in report.decisions) == sorted(a.account_id for a in new)
    after = store.territories.current_ownerships()
    assert {a: after[a] for a in before} == before  # not one existing account moved
    assert all(after[a.account_id].cause == OwnershipCause.IMPORT for a in new)
    assert len(report.balance) == len(reps)
    assert sum(b.added for b in report.balance) == 500
    assert sum(b.removed for b in report.balance) == 0
    assert report.suggest_realignment == (report.max_deviation_pct > 5.0)
    # A dry run of everything afterwards changes nothing stored and moves nobody without rules.
    dry = stored_assignment(store, travel, AssignParams())
    assert dry.changes == ()
    assert store.territories.current_ownerships() == after
