"""Migration 0005 on a database holding plans of the schema before territory plans: every stored
plan reads back as it was stored, and repairs of one rep work on top of it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from routeplanner.model import Horizon, Plan
from routeplanner.storage import PlanStatus, Store, TerritoryVersion, make_engine, migrate

from .conftest import make_plan

HORIZON = Horizon(start=date(2026, 3, 2), weeks=4, timezone="Europe/Berlin")
STAMP = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _filler(column: sa.Column[Any]) -> object:
    """A value for a required column the test does not care about."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return []
    if isinstance(kind, sa.DateTime):
        return STAMP
    if isinstance(kind, sa.Date):
        return HORIZON.start
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer | sa.Float | sa.Numeric):
        return 1
    return ""


def _insert(connection: sa.Connection, table: sa.Table, **values: object) -> int:
    """Insert one row into the old schema's ``table``; required columns not given are filled."""
    for column in table.columns:
        generated = column.primary_key and isinstance(column.type, sa.Integer)
        needed = not column.nullable and column.server_default is None and not generated
        if column.name not in values and needed:
            values[column.name] = _filler(column)
    result = connection.execute(table.insert().values(**values))
    key = result.inserted_primary_key
    return int(key[0]) if key and isinstance(key[0], int) else 0


def _store_old_plan(
    connection: sa.Connection, tables: dict[str, sa.Table], plan: Plan, *, current: bool
) -> int:
    """Write ``plan`` as the old schema's PlanRepository did: a plan row, routes, stops and
    unassigned visits, all under one plan id."""
    plan_id = _insert(
        connection,
        tables["plans"],
        created_at=plan.created_at,
        horizon_start=HORIZON.start,
        horizon_weeks=HORIZON.weeks,
        horizon_tz=HORIZON.timezone,
        status="complete",
        is_current=True if current else None,
        progress=1.0,
        meta=dict(plan.meta),
    )
    for position, route in enumerate(plan.routes):
        values = {f.name: getattr(route, f.name) for f in dataclasses.fields(route)}
        del values["stops"]
        route_id = _insert(
            connection, tables["plan_routes"], plan_id=plan_id, position=position, **values
        )
        for i, stop in enumerate(route.stops):
            fields = {f.name: getattr(stop, f.name) for f in dataclasses.fields(stop)}
            fields["violations"] = list(stop.violations)
            _insert(
                connection,
                tables["plan_stops"],
                route_id=route_id,
                plan_id=plan_id,
                position=i,
                day=route.day,
                rep_id=route.rep_id,
                **fields,
            )
    for position, u in enumerate(plan.unassigned):
        _insert(
            connection,
            tables["plan_unassigned"],
            plan_id=plan_id,
            position=position,
            visit_id=u.visit_id,
            account_id=u.account_id,
            reason=u.reason.value,
            detail=u.detail,
            day=u.day,
        )
    return plan_id


def _old_database(url: str) -> tuple[int, int, int]:
    """A database at revision 0004 with reps, accounts, territories (A3 is R2's), two complete
    plans (the second current) and a failed run; their ids."""
    migrate(url, "0004")
    engine = make_engine(url)
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        t = tables.tables
        with engine.begin() as connection:
            for rep_id in ("R1", "R2"):
                _insert(connection, t["reps"], rep_id=rep_id, name=rep_id)
            for account_id in ("A1", "A2", "A3", "A9"):
                _insert(connection, t["accounts"], account_id=account_id, rule_kind="interval")
            for territory_id, rep_id, accounts in (
                ("T1", "R1", ["A1", "A2"]),
                ("T2", "R2", ["A3"]),
            ):
                _insert(connection, t["territories"], territory_id=territory_id, rep_id=rep_id)
                for i, account_id in enumerate(accounts):
                    _insert(
                        connection,
                        t["territory_accounts"],
                        account_id=account_id,
                        territory_id=territory_id,
                        position=i,
                    )
            first = _store_old_plan(connection, t, make_plan(label="first"), current=False)
            second = _store_old_plan(connection, t, make_plan(label="second"), current=True)
            failed = _insert(
                connection,
                t["plans"],
                created_at=STAMP,
                horizon_start=HORIZON.start,
                horizon_weeks=1,
                horizon_tz=HORIZON.timezone,
                status="failed",
                error="boom",
                meta={},
            )
    finally:
        engine.dispose()
    return first, second, failed


def test_plans_stored_before_territory_plans_survive_the_migration(db_url: str) -> None:
    first, second, failed = _old_database(db_url)
    store = Store.open(db_url)  # migrates to the newest schema
    try:
        assert store.plans.get(first) == make_plan(label="first")
        assert store.plans.current() == (second, make_plan(label="second"))
        assert store.plans.info(failed).status is PlanStatus.FAILED
        assert [p.plan_id for p in store.plans.all()] == [failed, second, first]
        assert store.plans.territories(first) == [
            TerritoryVersion("R1", first),
            TerritoryVersion("R2", first),
            TerritoryVersion("", first),
        ]
        # A3 sits in R2's territory, so its unassigned visit is part of R2's territory plan.
        assert [u.account_id for u in store.plans.territory_plan(second, "R2").unassigned] == ["A3"]
        repair = store.plans.start(HORIZON)
        r1 = store.plans.territory_plan(second, "R1")
        store.plans.complete(
            repair, dataclasses.replace(r1, meta={}), rep_id="R1", bases={"R1": second}
        )
        repaired = store.plans.current()
        assert repaired is not None
        assert repaired[0] == repair
        assert repaired[1].routes == make_plan().routes
        assert store.plans.get(second) == make_plan(label="second")
    finally:
        store.close()
