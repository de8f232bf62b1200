"""Job registries: built once in ``create_app``, typed per kind, cancelled by reference at
shutdown; a job's failure or cancel is shown, not lost in its thread."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from routeplanner.errors import ConflictError, NotFoundError
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from routeplanner.web.jobs import Job, PlanningJobs, RepairJobs, TerritoryJobs
from routeplanner.web.state import app_state


def test_registries_exist_before_the_first_request_one_per_kind(
    settings: Settings, store: Store
) -> None:
    app = create_app(settings)
    state = app_state(app)
    assert isinstance(state.planning_jobs, PlanningJobs)
    assert isinstance(state.repair_jobs, RepairJobs)
    assert isinstance(state.territory_jobs, TerritoryJobs)
    assert state.job_registries() == (state.planning_jobs, state.territory_jobs)
    other = app_state(create_app(settings))
    assert other.planning_jobs is not state.planning_jobs  # never shared between apps


def test_shutdown_cancels_running_jobs_by_reference(settings: Settings, store: Store) -> None:
    app = create_app(settings)
    jobs = app_state(app).territory_jobs
    started = threading.Event()

    def endless(job: Job[object]) -> object:
        started.set()
        while True:
            job.report("working", 0.5)  # raises once cancelled
            threading.Event().wait(0.01)

    with TestClient(app):
        job = jobs.start("boss", endless)  # type: ignore[arg-type]
        assert started.wait(10)
        assert job.state == "running"
    assert job.state == "cancelled"  # the lifespan's shutdown stopped it
    assert job.error == "cancelled by the user"


def test_one_job_at_a_time_and_finished_results() -> None:
    jobs: PlanningJobs = PlanningJobs()
    release = threading.Event()

    def held(_job: Job[object]) -> object:
        release.wait(10)
        raise ValueError("went wrong")

    first = jobs.start_one("boss", held, busy="a run is going on")  # type: ignore[arg-type]
    with pytest.raises(ConflictError, match="a run is going on"):
        jobs.start_one("boss", held, busy="a run is going on")  # type: ignore[arg-type]
    with pytest.raises(ConflictError, match=f"planning job {first.job_id} is running"):
        jobs.finished(first.job_id)
    release.set()
    jobs.wait(10)
    assert (first.state, first.error) == ("failed", "ValueError: went wrong")
    with pytest.raises(NotFoundError, match="planning job 99 not found"):
        jobs.find(99)
