"""Plan versions outlive the process: start-up marks crashed runs failed, clients poll stored
ids across restarts, and shutdown cancels our own runs instead of leaving them "running"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import Horizon
from routeplanner.services import planning as planning_service
from routeplanner.services.planning import (
    CANCELLED,
    INTERRUPTED,
    STALE_AFTER,
    recover_interrupted_plans,
    run_planning,
)
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.records import PlanStatus
from routeplanner.web.app import create_app
from tests.conftest import add_user, log_in

HORIZON = Horizon(start=date(2026, 11, 23), weeks=1)
HOST = socket.gethostname()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _running(store: Store, meta: dict[str, str]) -> int:
    return store.plans.start(HORIZON, meta, user="test")


def test_start_up_fails_runs_of_dead_processes_only(settings: Settings, store: Store) -> None:
    crashed = _running(store, {"host": HOST, "pid": str(_dead_pid())})
    legacy = _running(store, {})  # from before runs recorded their process
    ours = _running(store, {"host": HOST, "pid": str(os.getpid())})
    parent = _running(store, {"host": HOST, "pid": str(os.getppid())})  # alive: a CLI run
    remote = _running(store, {"host": "another-machine", "pid": "1"})
    add_user(store, "boss")
    with TestClient(create_app(settings)) as client:
        log_in(client, "boss")
        status = {p.plan_id: p.status for p in store.plans.all()}
        assert status[crashed] is PlanStatus.FAILED
        assert status[legacy] is PlanStatus.FAILED
        assert status[ours] is status[parent] is status[remote] is PlanStatus.RUNNING
        body = client.get(f"/api/v1/plans/{crashed}").json()
        assert body["status"] == "failed"
        assert body["error"] == INTERRUPTED
        assert body["finished_at"] is not None
        # a run of another process cannot be cancelled from here, and says so
        other = client.post(f"/api/v1/plans/{parent}/cancel")
        assert other.status_code == 409
        assert (
            other.json()["error"]
            == f"plan {parent} is being made by another process; stop it there"
        )
        failed = client.post(f"/api/v1/plans/{crashed}/cancel")
        assert failed.status_code == 409
        assert failed.json()["error"] == f"plan {crashed} is failed"


def test_another_machines_run_counts_as_interrupted_only_when_stale(store: Store) -> None:
    remote = _running(store, {"host": "another-machine", "pid": "4242"})
    created = store.plans.info(remote).created_at.replace(tzinfo=UTC)
    soon = created + STALE_AFTER - timedelta(minutes=1)
    assert recover_interrupted_plans(store, now=soon) == []
    assert recover_interrupted_plans(store, now=created + STALE_AFTER + timedelta(minutes=1)) == [
        remote
    ]
    info = store.plans.info(remote)
    assert info.status is PlanStatus.FAILED
    assert info.error == INTERRUPTED
    # the liveness check decides for this machine's runs; completed plans are never touched
    mine = _running(store, {"host": HOST, "pid": "99999999"})
    assert recover_interrupted_plans(store, alive=lambda pid: True) == []
    assert recover_interrupted_plans(store, alive=lambda pid: pid != 99999999) == [mine]
    assert recover_interrupted_plans(store) == []


def _wait_status(client: TestClient, plan_id: int) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = client.get(f"/api/v1/plans/{plan_id}").json()
        if body["status"] != "running":
            return body
        time.sleep(0.1)
    pytest.fail("planning did not finish")


@pytest.mark.osm
def test_plan_ids_survive_a_restart(settings: Settings, store: Store) -> None:
    add_user(store, "boss")
    with TestClient(create_app(settings)) as first:
        log_in(first, "boss")
        started = first.post("/api/v1/plans", json={"start": "2026-11-30", "time_limit_s": 0.5})
        assert started.status_code == 202, started.text
        plan_id = started.json()["plan_id"]
        assert _wait_status(first, plan_id)["status"] == "complete"
    with TestClient(create_app(settings)) as second:  # a new process: no jobs in memory
        log_in(second, "boss")
        body = second.get(f"/api/v1/plans/{plan_id}").json()
        assert body["status"] == "complete"
        assert body["is_current"] is True
        assert body["start"] == "2026-11-30"
        assert second.get(f"/api/v1/plans/{plan_id + 1}").status_code == 404


@pytest.mark.osm
def test_shutdown_cancels_our_running_plan(
    settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def waiting(*args: Any, progress: Callable[[str, float], None], **kw: Any) -> Any:
        job = progress.__self__  # type: ignore[attr-defined]
        job.cancel.wait(60)  # runs until someone cancels it
        return run_planning(*args, progress=progress, **kw)

    monkeypatch.setattr(planning_service, "run_planning", waiting)
    add_user(store, "boss")
    with TestClient(create_app(settings)) as client:
        log_in(client, "boss")
        started = client.post("/api/v1/plans", json={"start": "2026-11-30"})
        assert started.status_code == 202
        plan_id = started.json()["plan_id"]
        assert client.get(f"/api/v1/plans/{plan_id}").json()["status"] == "running"
    info = store.plans.info(plan_id)
    assert info.status is PlanStatus.FAILED
    assert info.error == CANCELLED
    assert info.finished_at is not None
    assert datetime.now(tz=UTC) - info.created_at.replace(tzinfo=UTC) < timedelta(minutes=5)
