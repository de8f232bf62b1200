"""Plan versions: a plan becomes current only when complete, in one transaction, and older
versions stay readable."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from routeplanner.errors import StorageError
from routeplanner.model import DayRoute, Horizon, Plan
from routeplanner.storage import PlanStatus, Repository
from routeplanner.storage import repository as repository_module

from .conftest import FakeClock, make_plan

HORIZON = Horizon(start=date(2026, 3, 2), weeks=4, timezone="Europe/Berlin")


def test_a_running_plan_is_not_current(repo: Repository, clock: FakeClock) -> None:
    plan_id = repo.start_plan(HORIZON, {"trigger": "nightly"}, user="anna")
    assert repo.current_plan() is None
    info = repo.plan_info(plan_id)
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
        repo.get_plan(plan_id)


def test_complete_plan_round_trips_and_becomes_current(repo: Repository, clock: FakeClock) -> None:
    plan_id = repo.start_plan(HORIZON, {"trigger": "nightly"})
    repo.update_plan_progress(plan_id, 0.5, "Touren für Woche 2")
    info = repo.plan_info(plan_id)
    assert (info.progress, info.message) == (0.5, "Touren für Woche 2")
    plan = make_plan()
    finished = clock.advance(minutes=3)
    repo.complete_plan(plan_id, plan)
    expected = dataclasses.replace(plan, meta={"trigger": "nightly", **plan.meta})
    assert repo.current_plan() == (plan_id, expected)
    assert repo.get_plan(plan_id) == expected
    info = repo.plan_info(plan_id)
    assert (info.status, info.is_current, info.progress, info.finished_at) == (
        PlanStatus.COMPLETE,
        True,
        1.0,
        finished,
    )


def test_a_new_plan_replaces_the_old_only_when_complete(repo: Repository) -> None:
    first = repo.start_plan(HORIZON)
    repo.complete_plan(first, make_plan(label="first"))
    second = repo.start_plan(HORIZON)
    current = repo.current_plan()
    assert current is not None
    assert current[0] == first
    repo.complete_plan(second, make_plan(label="second"))
    current = repo.current_plan()
    assert current is not None
    assert current[0] == second
    assert current[1].meta["label"] == "second"
    assert repo.get_plan(first).meta["label"] == "first"  # the old version stays readable
    assert [(p.plan_id, p.is_current) for p in repo.list_plans()] == [
        (second, True),
        (first, False),
    ]


def test_an_older_run_finishing_last_becomes_current(repo: Repository) -> None:
    """Last completed wins, whatever the start order (the flag moves down, not only up)."""
    older, newer = repo.start_plan(HORIZON), repo.start_plan(HORIZON)
    repo.complete_plan(newer, make_plan(label="newer"))
    repo.complete_plan(older, make_plan(label="older"))
    current = repo.current_plan()
    assert current is not None
    assert current[0] == older


def test_a_failed_plan_leaves_the_current_one(repo: Repository, clock: FakeClock) -> None:
    first = repo.start_plan(HORIZON)
    repo.complete_plan(first, make_plan())
    second = repo.start_plan(HORIZON)
    repo.fail_plan(second, "kein Straßennetz geladen")
    current = repo.current_plan()
    assert current is not None
    assert current[0] == first
    info = repo.plan_info(second)
    assert (info.status, info.error, info.finished_at) == (
        PlanStatus.FAILED,
        "kein Straßennetz geladen",
        clock.now,
    )
    with pytest.raises(
        StorageError, match=rf"^storing plan {second}: the plan is failed, not running$"
    ):
        repo.complete_plan(second, make_plan())
    with pytest.raises(
        StorageError, match=rf"updating progress of plan {second}: the plan is failed"
    ):
        repo.update_plan_progress(second, 0.7)


def test_a_failure_while_storing_keeps_the_old_plan_and_nothing_half_written(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = repo.start_plan(HORIZON)
    repo.complete_plan(first, make_plan(label="first"))
    second = repo.start_plan(HORIZON)
    real = repository_module._route_row
    seen: list[Any] = []

    def failing(plan_id: int, position: int, route: DayRoute) -> Any:
        # Midway through writing, another connection still sees the old plan as current.
        current = repo.current_plan()
        seen.append(None if current is None else current[0])
        if position == 1:
            raise RuntimeError("out of memory")
        return real(plan_id, position, route)

    monkeypatch.setattr(repository_module, "_route_row", failing)
    with pytest.raises(RuntimeError, match="out of memory"):
        repo.complete_plan(second, make_plan(label="second"))
    assert seen == [first, first]
    current = repo.current_plan()
    assert current is not None
    assert current[0] == first
    assert repo.plan_info(second).status is PlanStatus.RUNNING
    with repo.engine.connect() as connection:
        from sqlalchemy import text

        rows = connection.execute(
            text("SELECT count(*) FROM plan_routes WHERE plan_id = :p"), {"p": second}
        ).scalar()
    assert rows == 0


def test_readers_see_the_old_plan_until_the_new_one_commits(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Isolation across connections: a reader during the write transaction sees version 1."""
    first = repo.start_plan(HORIZON)
    repo.complete_plan(first, make_plan(label="first"))
    second = repo.start_plan(HORIZON)
    observed: list[tuple[int | None, str]] = []
    real_route_row = repository_module._route_row

    def spying(plan_id: int, position: int, route: DayRoute) -> Any:
        current = repo.current_plan()
        assert current is not None
        observed.append((current[0], current[1].meta["label"]))
        return real_route_row(plan_id, position, route)

    monkeypatch.setattr(repository_module, "_route_row", spying)
    repo.complete_plan(second, make_plan(label="second"))
    assert observed == [(first, "first"), (first, "first")]
    current = repo.current_plan()
    assert current is not None
    assert current[1].meta["label"] == "second"


def test_empty_plan_round_trips(repo: Repository) -> None:
    plan_id = repo.start_plan(HORIZON)
    repo.complete_plan(plan_id, Plan())
    stored = repo.get_plan(plan_id)
    assert (stored.routes, stored.unassigned, stored.meta) == ((), (), {})


def test_progress_must_be_a_fraction(repo: Repository) -> None:
    plan_id = repo.start_plan(HORIZON)
    with pytest.raises(ValueError, match=r"plan progress must be within 0\.\.1, got 1\.5"):
        repo.update_plan_progress(plan_id, 1.5)


def test_unknown_plans_are_storage_errors(repo: Repository) -> None:
    with pytest.raises(StorageError, match=r"^reading plan 99: no such plan$"):
        repo.get_plan(99)
    with pytest.raises(StorageError, match=r"^storing plan 99: no such plan$"):
        repo.complete_plan(99, Plan())
    with pytest.raises(StorageError, match=r"^reading plan 99: no such plan$"):
        repo.plan_info(99)


def test_delete_plan_refuses_the_current_version(repo: Repository) -> None:
    first = repo.start_plan(HORIZON)
    repo.complete_plan(first, make_plan())
    second = repo.start_plan(HORIZON)
    repo.complete_plan(second, make_plan())
    with pytest.raises(StorageError, match=rf"^deleting plan {second}: it is the current plan$"):
        repo.delete_plan(second)
    repo.delete_plan(first)
    assert [p.plan_id for p in repo.list_plans()] == [second]
    with repo.engine.connect() as connection:
        from sqlalchemy import text

        orphans = connection.execute(
            text("SELECT count(*) FROM plan_stops WHERE plan_id = :p"), {"p": first}
        ).scalar()
    assert orphans == 0


def test_interrupted_runs_are_failed_at_start_up(repo: Repository) -> None:
    done = repo.start_plan(HORIZON)
    repo.complete_plan(done, Plan())
    a, b = repo.start_plan(HORIZON), repo.start_plan(HORIZON)
    assert repo.fail_running_plans("server restarted") == 2
    assert [repo.plan_info(p).status for p in (done, a, b)] == [
        PlanStatus.COMPLETE,
        PlanStatus.FAILED,
        PlanStatus.FAILED,
    ]


def test_concurrent_completions_both_succeed_and_one_is_current(repo: Repository) -> None:
    """Two workers finishing at the same moment must not trip over the single-current rule."""
    import threading

    ids = [repo.start_plan(HORIZON) for _ in range(4)]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def finish(plan_id: int) -> None:
        try:
            barrier.wait()
            repo.complete_plan(plan_id, make_plan(label=str(plan_id)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(p,)) for p in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    infos = repo.list_plans()
    assert {i.status for i in infos} == {PlanStatus.COMPLETE}
    assert sum(i.is_current for i in infos) == 1
