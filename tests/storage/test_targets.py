"""Targets on SQLite and PostgreSQL: defaults from the value classes' potential (configured,
then from the stored sales) and the accounts' frequencies, counted for whoever owned an
account in the middle of the month; stored figures override; bad files store nothing."""

from __future__ import annotations

from datetime import date

import pytest

from routeplanner.errors import InputError
from routeplanner.io.tables import read_table_bytes
from routeplanner.model.history import OwnershipCause
from routeplanner.model.performance import TargetScope
from routeplanner.model.territory import Territory
from routeplanner.services import sales, targets
from routeplanner.services.attribution import Month
from routeplanner.services.scope import Scope
from routeplanner.storage import Store

from .conftest import FakeClock, make_accounts, make_reps

ALL = Scope.everything()

POTENTIAL = {"A": 4000.0, "B": 1500.0, "C": 500.0}
APRIL, MAY = Month(date(2026, 4, 1)), Month(date(2026, 5, 1))


def _world(store: Store, clock: FakeClock) -> None:
    """T1 (R1) holds A1 and A2 from 2 March; A2 moves to T2 (R2) on 20 April."""
    store.reps.upsert(make_reps(), source="test")
    store.accounts.upsert(make_accounts(), source="test")
    store.territories.save(
        [
            Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Süd", rep_id="R2", account_ids=("A3",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    clock.now = clock.now.replace(month=4, day=20)
    store.territories.save(
        [Territory(territory_id="T2", name="Süd", rep_id="R2", account_ids=("A2", "A3"))],
        cause=OwnershipCause.REALIGNMENT,
    )


def _figures(store: Store, month: Month) -> dict[str, tuple[float, int, float, int]]:
    return {
        f"{t.scope.value}:{t.scope_id}": (
            t.figures.revenue,
            t.figures.visits_done,
            t.figures.coverage,
            t.figures.new_accounts,
        )
        for t in targets.effective_targets(store, month, POTENTIAL)
    }


def test_defaults_follow_ownership_at_the_time(store: Store, clock: FakeClock) -> None:
    _world(store, clock)
    # A1 weekly (A), A2 3 per 4 weeks (B), A3 every 10 days (B)
    april_t1_visits = round(30 / 7 + 30 * 3 / 28)
    assert _figures(store, APRIL) == {
        "territory:T1": (5500.0, april_t1_visits, 0.9, 1),
        "territory:T2": (1500.0, round(30 / 10), 0.9, 1),
        "rep:R1": (5500.0, april_t1_visits, 0.9, 1),
        "rep:R2": (1500.0, 3, 0.9, 1),
    }
    may = _figures(store, MAY)
    assert may["territory:T1"] == (4000.0, round(31 / 7), 0.9, 1)
    assert may["territory:T2"] == (3000.0, round(31 * 3 / 28 + 31 / 10), 0.9, 1)
    # before the first recorded owner, the first owner counts
    assert _figures(store, Month(date(2025, 12, 1)))["territory:T1"][0] == 5500.0


def test_potential_from_stored_sales_and_set_figures_override(
    store: Store, clock: FakeClock
) -> None:
    _world(store, clock)
    text = "account_id,month,revenue\nA1,2026-02,1000\nA1,2026-03,3000\nA2,2026-02,300\n"
    sales.import_sales(
        store, read_table_bytes(text.encode(), source="umsatz.csv"), Scope.everything()
    )
    # class A: 4000 over 1 account x 2 months; class B: 300 over 2 accounts x 2 months
    assert _figures(store, APRIL)["territory:T1"][0] == 2000.0 + 75.0
    table = read_table_bytes(
        b"scope,id,month,revenue,coverage\nterritory,T1,2026-04,9000,95\nrep,R2,2026-04,,80\n",
        source="ziele.csv",
    )
    saved = targets.save_targets(store, table, scope=ALL, user="boss")
    assert [(t.scope, t.scope_id, t.revenue, t.coverage) for t in saved] == [
        (TargetScope.TERRITORY, "T1", 9000.0, 0.95),
        (TargetScope.REP, "R2", None, 0.8),
    ]
    found = {t.scope_id: t.figures for t in targets.effective_targets(store, APRIL, POTENTIAL)}
    assert (found["T1"].revenue, found["T1"].coverage) == (9000.0, 0.95)
    assert found["T1"].defaults == {"visits_done", "new_accounts"}
    assert found["R2"].coverage == 0.8
    assert "revenue" in found["R2"].defaults
    # saving again replaces the month's stored target of T1
    again = read_table_bytes(b"scope,id,month,revenue\nterritory,T1,2026-04,100\n", source="z")
    targets.save_targets(store, again, scope=ALL)
    assert {t.scope_id: t.revenue for t in store.targets.find()} == {"T1": 100.0, "R2": None}


def test_bad_targets_store_nothing(store: Store, clock: FakeClock) -> None:
    _world(store, clock)
    text = (
        "scope,id,month,revenue,visits_done,coverage,new_accounts\n"
        "territory,T1,2026-04,100,,,\n"
        "gebiet,T1,2026-04,,,,\n"
        "territory,T9,2026-04,,,,\n"
        "rep,R1,April,-5,1.5,120,-1\n"
        "territory,T1,2026-04,,,,\n"
    )
    with pytest.raises(InputError) as exc:
        targets.save_targets(store, read_table_bytes(text.encode(), source="ziele.csv"), scope=ALL)
    assert [str(p) for p in exc.value.problems] == [
        "ziele.csv:3: scope: 'gebiet' is neither territory nor rep",
        "ziele.csv:5: month: 'April' is not a month YYYY-MM",
        "ziele.csv:5: revenue: must be 0 to 1e+12, got -5",
        "ziele.csv:5: visits_done: '1.5' is not a whole number",
        "ziele.csv:5: coverage: must be 0 to 100, got 120",
        "ziele.csv:5: new_accounts: must be at least 0, got -1",
        "ziele.csv:6: id: second row for territory 'T1' in 2026-04 (first in row 2)",
    ]
    unknown = b"scope,id,month\nterritory,T9,2026-04\nrep,R7,2026-04\n"
    with pytest.raises(InputError) as exc:
        targets.save_targets(store, read_table_bytes(unknown, source="ziele.csv"), scope=ALL)
    assert [str(p) for p in exc.value.problems] == [
        "ziele.csv:2: id: unknown territory 'T9'",
        "ziele.csv:3: id: unknown rep 'R7'",
    ]
    assert store.targets.find() == []
