"""Plan versions: a plan becomes current only when complete, in one transaction, and older
versions stay readable."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from routeplanner.errors import StorageError
from routeplanner.model import DayRoute, Horizon, Plan
from routeplanner.storage import PlanStatus, Store
from routeplanner.storage import plans as plans_module
from routeplanner.storage.records import PlannedStop

from .conftest import FakeClock, make_plan

HORIZON = Horizon(start=date(2026, 3, 2), weeks=4, timezone="Europe/Berlin")


def test_a_running_plan_is_not_current(store: Store, clock: FakeClock) -> None:
    plan_id = store.plans.start(HORIZON, {"trigger": "nightly"}, user="anna")
    assert store.plans.current() is None
    info = store.plans.info(plan_id)
    assert (info.status, info.is_current, info.progress, info.horizon) == (
        PlanStatus.RUNNING,
        False,
        0.0,
        HORIZON,
    )
    assert (info.created_at, info.meta, info.created_by) == (
        clock.now,
        {"trigger": "nightly"},
        "anna",
    )
    with pytest.raises(
        StorageError, match=rf"^reading plan {plan_id}: the plan is running, not complete$"
    ):
        store.plans.get(plan_id)


def test_complete_plan_round_trips_and_becomes_current(store: Store, clock: FakeClock) -> None:
    plan_id = store.plans.start(HORIZON, {"trigger": "nightly"})
    store.plans.update_progress(plan_id, 0.5, "Touren für Woche 2")
    info = store.plans.info(plan_id)
    assert (info.progress, info.message) == (0.5, "Touren für Woche 2")
    plan = make_plan()
    finished = clock.advance(minutes=3)
    store.plans.complete(plan_id, plan)
    expected = dataclasses.replace(plan, meta={"trigger": "nightly", **plan.meta})
    assert store.plans.current() == (plan_id, expected)
    assert store.plans.get(plan_id) == expected
    info = store.plans.info(plan_id)
    assert (info.status, info.is_current, info.progress, info.finished_at) == (
        PlanStatus.COMPLETE,
        True,
        1.0,
        finished,
    )


def test_one_stop_of_the_current_plan_is_found_without_the_plan(store: Store) -> None:
    assert store.plans.current_info() is None
    plan_id = store.plans.start(HORIZON)
    assert store.plans.current_info() is None  # running: not current
    store.plans.complete(plan_id, make_plan())
    info = store.plans.current_info()
    assert info is not None
    assert (info.plan_id, info.horizon, info.is_current) == (plan_id, HORIZON, True)
    found = store.plans.stop(plan_id, "A2#2026-03-02")
    assert found == PlannedStop("A2#2026-03-02", "R1", date(2026, 3, 2), "A2")
    assert store.plans.stop(plan_id, "A3#1") is None  # unassigned, not a stop
    assert store.plans.stop(plan_id + 1, "A2#2026-03-02") is None


def test_a_new_plan_replaces_the_old_only_when_complete(store: Store) -> None:
    first = store.plans.start(HORIZON)
    store.plans.complete(first, make_plan(label="first"))
    second = store.plans.start(HORIZON)
    current = store.plans.current()
    assert current is not None
    assert current[0] == first
    store.plans.complete(second, make_plan(label="second"))
    current = store.plans.current()
    assert current is not None
    assert current[0] == second
    assert current[1].meta["label"] == "second"
    assert store.plans.get(first).meta["label"] == "first"  # the old version stays readable
    assert [(p.plan_id, p.is_current) for p in store.plans.all()] == [
        (second, True),
        (first, False),
    ]


def test_an_older_run_finishing_last_becomes_current(store: Store) -> None:
    """Last completed wins, whatever the start order (the flag moves down, not only up)."""
    older, newer = store.plans.start(HORIZON), store.plans.start(HORIZON)
    store.plans.complete(newer, make_plan(label="newer"))
    store.plans.complete(older, make_plan(label="older"))
    current = store.plans.current()
    assert current is not None
    assert current[0] == older


def test_a_failed_plan_leaves_the_current_one(store: Store, clock: FakeClock) -> None:
    first = store.plans.start(HORIZON)
    store.plans.complete(first, make_plan())
    second = store.plans.start(HORIZON)
    store.plans.fail(second, "kein Straßennetz geladen")
    current = store.plans.current()
    assert current is not None
    assert current[0] == first
    info = store.plans.info(second)
    assert (info.status, info.error, info.finished_at) == (
        PlanStatus.FAILED,
        "kein Straßennetz geladen",
        clock.now,
    )
    with pytest.raises(
        StorageError, match=rf"^storing plan {second}: the plan is failed, not running$"
    ):
        store.plans.complete(second, make_plan())
    with pytest.raises(
        StorageError, match=rf"updating progress of plan {second}: the plan is failed"
    ):
        store.plans.update_progress(second, 0.7)


def test_a_failure_while_storing_keeps_the_old_plan_and_nothing_half_written(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store.plans.start(HORIZON)
    store.plans.complete(first, make_plan(label="first"))
    second = store.plans.start(HORIZON)
    real = plans_module._route_row
    seen: list[Any] = []

    def failing(plan_id: int, position: int, route: DayRoute) -> Any:
        # Midway through writing, another connection still sees the old plan as current.
        current = store.plans.current()
        seen.append(None if current is None else current[0])
        if position == 1:
            raise RuntimeError("out of memory")
        return real(plan_id, position, route)

    monkeypatch.setattr(plans_module, "_route_row", failing)
    with pytest.raises(RuntimeError, match="out of memory"):
        store.plans.complete(second, make_plan(label="second"))
    assert seen == [first, first]
    current = store.plans.current()
    assert current is not None
    assert current[0] == first
    assert store.plans.info(second).status is PlanStatus.RUNNING
    with store.engine.connect() as connection:
        from sqlalchemy import text

        rows = connection.execute(
            text("SELECT count(*) FROM plan_routes WHERE plan_id = :p"), {"p": second}
        ).scalar()
    assert rows == 0


def test_readers_see_the_old_plan_until_the_new_one_commits(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Isolation across connections: a reader during the write transaction sees version 1."""
    first = store.plans.start(HORIZON)
    store.plans.complete(first, make_plan(label="first"))
    second = store.plans.start(HORIZON)
    observed: list[tuple[int | None, str]] = []
    real_route_row = plans_module._route_row

    def spying(plan_id: int, position: int, route: DayRoute) -> Any:
        current = store.plans.current()
        assert current is not None
        observed.append((current[0], current[1].meta["label"]))
        return real_route_row(plan_id, position, route)

    monkeypatch.setattr(plans_module, "_route_row", spying)
    store.plans.complete(second, make_plan(label="second"))
    assert observed == [(first, "first"), (first, "first")]
    current = store.plans.current()
    assert current is not None
    assert current[1].meta["label"] == "second"


def test_empty_plan_round_trips(store: Store) -> None:
    plan_id = store.plans.start(HORIZON)
    store.plans.complete(plan_id, Plan())
    stored = store.plans.get(plan_id)
    assert (stored.routes, stored.unassigned, stored.meta) == ((), (), {})


def test_progress_must_be_a_fraction(store: Store) -> None:
    plan_id = store.plans.start(HORIZON)
    with pytest.raises(ValueError, match=r"plan progress must be within 0\.\.1, got 1\.5"):
        store.plans.update_progress(plan_id, 1.5)


def test_unknown_plans_are_storage_errors(store: Store) -> None:
    with pytest.raises(StorageError, match=r"^reading plan 99: no such plan$"):
        store.plans.get(99)
    with pytest.raises(StorageError, match=r"^storing plan 99: no such plan$"):
        store.plans.complete(99, Plan())
    with pytest.raises(StorageError, match=r"^reading plan 99: no such plan$"):
        store.plans.info(99)


def test_delete_plan_refuses_the_current_version(store: Store) -> None:
    first = store.plans.start(HORIZON)
    store.plans.complete(first, make_plan())
    second = store.plans.start(HORIZON)
    store.plans.complete(second, make_plan())
    with pytest.raises(StorageError, match=rf"^deleting plan {second}: it is the current plan$"):
        store.plans.delete(second)
    store.plans.delete(first)
    assert [p.plan_id for p in store.plans.all()] == [second]
    with store.engine.connect() as connection:
        from sqlalchemy import text

        orphans = connection.execute(
            text("SELECT count(*) FROM plan_stops WHERE plan_id = :p"), {"p": first}
        ).scalar()
    assert orphans == 0


def test_interrupted_runs_are_failed_at_start_up(store: Store) -> None:
    done = store.plans.start(HORIZON)
    store.plans.complete(done, Plan())
    a, b = store.plans.start(HORIZON), store.plans.start(HORIZON)
    assert store.plans.fail_running("server restarted") == 2
    assert [store.plans.info(p).status for p in (done, a, b)] == [
        PlanStatus.COMPLETE,
        PlanStatus.FAILED,
        PlanStatus.FAILED,
    ]


def test_concurrent_completions_both_succeed_and_one_is_current(store: Store) -> None:
    """Two workers finishing at the same moment must not trip over the single-current rule."""
    import threading

    ids = [store.plans.start(HORIZON) for _ in range(4)]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def finish(plan_id: int) -> None:
        try:
            barrier.wait()
            store.plans.complete(plan_id, make_plan(label=str(plan_id)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(p,)) for p in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    infos = store.plans.all()
    assert {i.status for i in infos} == {PlanStatus.COMPLETE}
    assert sum(i.is_current for i in infos) == 1
