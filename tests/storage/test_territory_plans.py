"""Plan versions made of territory plans: a rep's version writes that rep's territory plan only,
shares the others row for row, and refuses to overwrite newer work."""

from __future__ import annotations

import dataclasses
import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import text

from routeplanner.errors import StaleStateError, StorageError
from routeplanner.model import DayRoute, Horizon, Plan, Stop, Territory, Unassigned
from routeplanner.model.history import OwnershipCause
from routeplanner.model.plan import UnassignedReason
from routeplanner.storage import Store, TerritoryVersion
from routeplanner.storage.tables import Base

from .conftest import make_accounts, make_plan, make_reps

HORIZON = Horizon(start=date(2026, 3, 2), weeks=4, timezone="Europe/Berlin")
TABLES = ("plan_routes", "plan_stops", "plan_unassigned")


def _rows(store: Store, table: str) -> list[tuple[Any, ...]]:
    """Every stored column of every row, as the database returns it."""
    columns = ", ".join(c.name for c in Base.metadata.tables[table].columns)
    with store.engine.connect() as connection:
        result = connection.execute(text(f"SELECT {columns} FROM {table} ORDER BY id"))
        return [tuple(row) for row in result]


def _r1_repair(label: str) -> Plan:
    """R1's territory plan after a repair: one stop moved to Wednesday, A1 left out."""
    route = DayRoute(
        rep_id="R1",
        day=date(2026, 3, 4),
        start_s=8 * 3600,
        end_s=9 * 3600,
        stops=(
            Stop(
                visit_id="A2#2026-03-04",
                account_id="A2",
                arrival_s=8 * 3600 + 600,
                start_s=8 * 3600 + 600,
                departure_s=8 * 3600 + 3000,
                travel_s=600,
                distance_m=2500,
            ),
        ),
        travel_s=1200,
        distance_m=5000,
    )
    left_out = Unassigned(
        visit_id="A1#2", account_id="A1", reason=UnassignedReason.DAY_FULL_TIME, detail=label
    )
    return Plan(routes=(route,), unassigned=(left_out,), meta={"repair": label})


def _stored_with_territories(store: Store) -> int:
    """Accounts, reps, territories (A3 is R2's, A9 nobody's) and a whole plan; its id."""
    with store.transaction() as tx:
        tx.accounts.upsert(make_accounts(), source="test")
        tx.reps.upsert(make_reps(), source="test")
        tx.territories.save(
            [
                Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
                Territory(territory_id="T2", name="Süd", rep_id="R2", account_ids=("A3",)),
            ],
            cause=OwnershipCause.RULE,
        )
    plan_id = store.plans.start(HORIZON)
    store.plans.complete(plan_id, make_plan())
    return plan_id


def test_a_whole_plan_has_one_territory_plan_per_rep(store: Store) -> None:
    whole = _stored_with_territories(store)
    assert store.plans.territories() == [
        TerritoryVersion("R1", whole),
        TerritoryVersion("R2", whole),
        TerritoryVersion("", whole),
    ]
    assert store.plans.info(whole).rep_id is None
    r2 = store.plans.territory_plan(whole, "R2")
    assert [r.rep_id for r in r2.routes] == ["R2"]
    assert [u.account_id for u in r2.unassigned] == ["A3"]  # R2's territory holds A3
    assert [u.account_id for u in store.plans.territory_plan(whole, "").unassigned] == ["A9"]


def test_a_rep_version_writes_only_that_territory_plan(store: Store) -> None:
    whole = _stored_with_territories(store)
    before = {table: _rows(store, table) for table in TABLES}
    repair = store.plans.start(HORIZON, {"repair_of": str(whole)})
    changes = {"moved": [{"visit_id": "A2#2026-03-02", "to": "2026-03-04"}]}
    store.plans.complete(
        repair, _r1_repair("first"), rep_id="R1", bases={"R1": whole}, changes={"R1": changes}
    )
    after = {table: _rows(store, table) for table in TABLES}
    for table in TABLES:
        # Nothing stored before was touched; only rows of the repair version were added.
        assert after[table][: len(before[table])] == before[table]
        column = [c.name for c in Base.metadata.tables[table].columns].index("plan_id")
        assert {row[column] for row in after[table][len(before[table]) :]} == {repair}
    current = store.plans.current()
    assert current is not None
    assert current[0] == repair
    old = make_plan()
    expected = Plan(
        routes=(*_r1_repair("first").routes, old.routes[1]),
        unassigned=(*_r1_repair("first").unassigned, old.unassigned[0], old.unassigned[1]),
        created_at=current[1].created_at,
        meta={"repair_of": str(whole), "repair": "first"},
    )
    assert current[1] == expected
    assert store.plans.get(whole) == dataclasses.replace(old, meta=old.meta)  # still readable
    assert store.plans.territories() == [
        TerritoryVersion("R1", repair, changes),
        TerritoryVersion("R2", whole),
        TerritoryVersion("", whole),
    ]
    assert store.plans.info(repair).rep_id == "R1"
    assert store.plans.territory_history("R1") == [
        TerritoryVersion("R1", repair, changes),
        TerritoryVersion("R1", whole),
    ]
    assert store.plans.territory_history("R2") == [TerritoryVersion("R2", whole)]


def test_a_repair_from_a_replaced_territory_plan_is_refused(store: Store) -> None:
    whole = _stored_with_territories(store)
    first, second = store.plans.start(HORIZON), store.plans.start(HORIZON)
    store.plans.complete(first, _r1_repair("first"), rep_id="R1", bases={"R1": whole})
    before = {table: _rows(store, table) for table in TABLES}
    with pytest.raises(
        StaleStateError,
        match=rf"^storing plan {second}: it was computed from the territory plan of rep 'R1' in "
        rf"plan {whole}, which plan {first} has replaced since; compute it again$",
    ):
        store.plans.complete(second, _r1_repair("second"), rep_id="R1", bases={"R1": whole})
    assert {table: _rows(store, table) for table in TABLES} == before
    assert store.plans.current_id() == first
    assert store.plans.info(second).is_current is False
    # Computed again from the newer territory plan, it is stored.
    store.plans.complete(second, _r1_repair("second"), rep_id="R1", bases={"R1": first})
    assert store.plans.current_id() == second


def test_a_whole_plan_made_meanwhile_makes_a_repair_stale(store: Store) -> None:
    whole = _stored_with_territories(store)
    repair, replan = store.plans.start(HORIZON), store.plans.start(HORIZON)
    store.plans.complete(replan, make_plan(label="replanned"))
    with pytest.raises(StaleStateError, match=rf"which plan {replan} has replaced since"):
        store.plans.complete(repair, _r1_repair("late"), rep_id="R1", bases={"R1": whole})
    current = store.plans.current()
    assert current is not None
    assert current[1].meta["label"] == "replanned"


def test_repairs_of_different_reps_do_not_conflict(store: Store) -> None:
    whole = _stored_with_territories(store)
    r1, r2 = store.plans.start(HORIZON), store.plans.start(HORIZON)
    r2_plan = Plan(routes=(DayRoute(rep_id="R2", day=date(2026, 3, 5), start_s=0, end_s=0),))
    store.plans.complete(r1, _r1_repair("r1"), rep_id="R1", bases={"R1": whole})
    store.plans.complete(r2, r2_plan, rep_id="R2", bases={"R2": whole})
    current = store.plans.current()
    assert current is not None
    assert [(r.rep_id, r.day) for r in current[1].routes] == [
        ("R1", date(2026, 3, 4)),
        ("R2", date(2026, 3, 5)),
    ]
    assert [u.account_id for u in current[1].unassigned] == ["A1", "A9"]  # R2 left none out
    assert [(t.rep_id, t.plan_id) for t in store.plans.territories()] == [
        ("R1", r1),
        ("R2", r2),
        ("", whole),
    ]


def test_concurrent_repairs_of_different_reps_all_land(store: Store) -> None:
    """Every rep's repair finishing at once: each is stored and the last version holds all."""
    whole = _stored_with_territories(store)
    reps = ["R1", "R2", "R3", "R4"]
    ids = {rep: store.plans.start(HORIZON) for rep in reps}
    barrier = threading.Barrier(len(reps))
    errors: list[BaseException] = []

    def finish(rep: str) -> None:
        plan = Plan(routes=(DayRoute(rep_id=rep, day=date(2026, 3, 6), start_s=0, end_s=0),))
        try:
            barrier.wait()
            base = whole if rep in ("R1", "R2") else None
            store.plans.complete(ids[rep], plan, rep_id=rep, bases={rep: base})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(rep,)) for rep in reps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    current = store.plans.current()
    assert current is not None
    assert sorted((r.rep_id, r.day) for r in current[1].routes) == [
        (rep, date(2026, 3, 6)) for rep in reps
    ]
    assert {t.rep_id: t.plan_id for t in store.plans.territories()} == {
        **ids,
        "": whole,
    }


def test_a_rep_version_holds_that_reps_routes_only(store: Store) -> None:
    plan_id = store.plans.start(HORIZON)
    with pytest.raises(
        StorageError,
        match=rf"^storing plan {plan_id}: no current plan whose territory plan of 'R1' to replace$",
    ):
        store.plans.complete(plan_id, _r1_repair("x"), rep_id="R1")
    whole = _stored_with_territories(store)
    with pytest.raises(
        StorageError, match=r"the territory plan of rep 'R2' has routes of rep 'R1'$"
    ):
        store.plans.complete(plan_id, _r1_repair("x"), rep_id="R2", bases={"R2": whole})


def test_a_version_whose_territory_plans_are_shared_is_kept(store: Store) -> None:
    whole = _stored_with_territories(store)
    repair = store.plans.start(HORIZON)
    store.plans.complete(repair, _r1_repair("x"), rep_id="R1", bases={"R1": whole})
    with pytest.raises(
        StorageError, match=rf"^deleting plan {whole}: plan {repair} shares its territory plans$"
    ):
        store.plans.delete(whole)
    replan = store.plans.start(HORIZON)
    store.plans.complete(replan, make_plan())
    store.plans.delete(repair)  # shared with nobody: deleting it leaves the other versions
    store.plans.delete(whole)
    assert [p.plan_id for p in store.plans.all()] == [replan]
    assert store.plans.get(replan) == dataclasses.replace(make_plan(), meta=make_plan().meta)
