"""Crash safety, proven: a ``routeplanner`` process killed with SIGKILL while it writes a plan,
a repair or an import leaves the previous state intact, and the restarted app works on it.

Each command runs as a real subprocess against a real database (a SQLite file, and PostgreSQL
when ``RP_TEST_POSTGRES_URL`` is set). It stops itself just before the commit of its write
(``pause_at_commit.py``: every statement run, the COMMIT not sent), a probe on a second
connection sees the write still open (SQLite: the write lock is held; PostgreSQL: a row lock on
the table being written), and the process is killed there, mid-transaction, on any machine and
under any load. After the kill the database is opened afresh, as after a restart: it is
consistent, holds exactly what it held before, the web app starts on it (marking the killed run
failed), and the same command then runs to completion.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from routeplanner.auth import hash_password, new_api_token
from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, Horizon, Rep
from routeplanner.model.history import OwnershipCause
from routeplanner.roads.graph import RoadGraph
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.planning import (
    PlanningResult,
    PlanningSetup,
    PlanParams,
    next_monday,
    register_plan,
    run_planning,
)
from routeplanner.settings import SAMPLE_DIR, Settings
from routeplanner.storage import PlanStatus, Store
from routeplanner.travel.road import RoadTravel
from routeplanner.travel.timeofday import TimeOfDayProfile
from routeplanner.web.app import create_app

pytestmark = [pytest.mark.osm, pytest.mark.slow]
PAUSE_AT_COMMIT = Path(__file__).with_name("pause_at_commit.py")
BIG_IMPORT = 5_000
"""Rows of the killed import, many times the sample: the kill comes at the commit that
completes them, so a writer storing them in pieces would have committed all but the last."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def crash_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crash.sqlite'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


def _settings(url: str, road_cache_dir: Path) -> Settings:
    """Rush hours are off here and in the commands: what is tested is how a plan is stored, and
    timing each drive by its departure only makes every run's day routing longer."""
    return Settings(
        database_url=url,
        cache_dir=road_cache_dir,
        plan_time_limit_s=0.5,
        rush_hours=TimeOfDayProfile(enabled=False),
    )


@dataclasses.dataclass(frozen=True)
class Planned:
    """The region's inputs, their designed territories and a plan of them."""

    accounts: list[Account]
    reps: list[Rep]
    params: PlanParams
    result: PlanningResult


@pytest.fixture(scope="module")
def planned(
    heidelberg_graph: RoadGraph, road_cache_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Planned:
    """Half the sample's accounts and two of its reps (each plan run in a subprocess costs half
    as much; a plan still stores a hundred stops), designed and planned once for both backends."""
    url = f"sqlite:///{tmp_path_factory.mktemp('planned') / 'planned.sqlite'}"
    settings = _settings(url, road_cache_dir)
    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")[::2]
    reps = read_reps(SAMPLE_DIR / "reps.csv")[:2]
    store = Store.open(url)
    replace_accounts_and_reps(store, accounts, reps, source="sample")
    params = PlanParams(start=next_monday(settings.timezone), weeks=1, time_limit_s=0.5)
    travel = RoadTravel(heidelberg_graph, max_snap_m=settings.max_snap_m)
    result = run_planning(store, travel, params, PlanningSetup.of(settings))
    store.close()
    return Planned(accounts, reps, params, result)


@dataclasses.dataclass
class Region:
    url: str
    store: Store
    env: dict[str, str]
    settings: Settings
    horizon: Horizon
    token: str
    folder: Path


@pytest.fixture
def region(
    crash_url: str, planned: Planned, road_cache_dir: Path, tmp_path: Path
) -> Iterator[Region]:
    """The accounts and reps imported, their territories stored, their plan current."""
    settings = _settings(crash_url, road_cache_dir)
    store = Store.open(crash_url)
    replace_accounts_and_reps(store, planned.accounts, planned.reps, source="sample")
    store.territories.save(
        planned.result.territories, cause=OwnershipCause.MANUAL, replace_all=True
    )
    plan_id = register_plan(store, planned.params, PlanningSetup.of(settings))
    store.plans.complete(plan_id, planned.result.plan)
    boss = store.users.create("boss", hash_password("a long password"), role="admin")
    env = {
        **os.environ,
        "DATABASE_URL": crash_url,
        "RP_CACHE_DIR": str(road_cache_dir),
        "RP_PLAN_TIME_LIMIT_S": "0.5",
        "RP_RUSH_HOURS__ENABLED": "false",
    }
    token = new_api_token(store, boss)
    horizon = planned.params.horizon(settings.timezone)
    yield Region(crash_url, store, env, settings, horizon, token, tmp_path)
    store.close()


def _writing_probe(url: str, table: str) -> tuple[Callable[[], bool], Callable[[], None]]:
    """``writing()``: does another connection hold a write on ``table`` right now?"""
    if url.startswith("sqlite"):
        probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)

        def sqlite_writing() -> bool:  # SQLite locks the whole file: any writer counts
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            probe.execute("ROLLBACK")
            return False

        return sqlite_writing, probe.close
    engine = create_engine(url)
    connection = engine.connect()
    query = text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = to_regclass(:t) "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND mode = 'RowExclusiveLock' AND granted AND pid <> pg_backend_pid())"
    )

    def postgres_writing() -> bool:
        found = bool(connection.execute(query, {"t": table}).scalar())
        connection.rollback()
        return found

    def close() -> None:
        connection.close()
        engine.dispose()

    return postgres_writing, close


def _kill_while_writing(region: Region, argv: list[str], table: str, *, rows: int = 1) -> None:
    """Run ``routeplanner argv`` until it is about to commit a write of ``table`` that makes
    ``rows`` rows written in all (it stops itself there: ``pause_at_commit.py``), check that the
    write is open, and SIGKILL it."""
    writing, close = _writing_probe(region.url, table)
    command = [sys.executable, str(PAUSE_AT_COMMIT), table, str(rows), *argv]
    command += ["--database-url", region.url]
    process = subprocess.Popen(command, env=region.env, stdout=subprocess.DEVNULL)
    try:
        # Blocks until the command stops itself or ends; WNOWAIT leaves its status to wait().
        state = os.waitid(os.P_PID, process.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
        assert state is not None
        assert state.si_code == os.CLD_STOPPED, (
            f"{argv[0]} ended (status {state.si_status}) before committing {rows} rows of {table}"
        )
        assert writing(), f"{argv[0]} stopped at its commit, but no write of {table} is open"
        process.kill()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        close()


def _consistent(region: Region) -> Store:
    """The database as a restarted process sees it, checked for damage (SQLite)."""
    if region.url.startswith("sqlite"):
        with sqlite3.connect(region.url.removeprefix("sqlite:///")) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return Store.open(region.url)


def _restart_app(region: Region) -> dict[int, str]:
    """Start the web app on the database (it marks runs left behind failed); the plan list and
    every rep's first planned day answer. Returns the plan statuses by id."""
    with TestClient(create_app(region.settings)) as client:
        bearer = {"Authorization": f"Bearer {region.token}"}
        plans = client.get("/api/v1/plans", headers=bearer)
        assert plans.status_code == 200
        current = region.store.plans.current()
        assert current is not None
        for route in current[1].routes[:4]:
            day = client.get(f"/api/v1/reps/{route.rep_id}/days/{route.day}", headers=bearer)
            assert day.status_code == 200
            assert len(day.json()["stops"]) == len(route.stops)
    return {p["plan_id"]: p["status"] for p in plans.json()}


def test_killed_plan_repair_and_import_leave_the_previous_state(region: Region) -> None:
    _plan_killed_while_storing(region)
    _repair_killed_while_storing(region)
    _import_killed_while_storing(region)


def _plan_killed_while_storing(region: Region) -> None:
    before = region.store.plans.current()
    assert before is not None
    known = {p.plan_id for p in region.store.plans.all()}
    argv = ["plan", "--weeks", "1", "--time-limit", "0.5", "--quiet"]
    argv += ["--start", region.horizon.start.isoformat()]
    _kill_while_writing(region, argv, "plan_stops")
    after = _consistent(region)
    assert after.plans.current() == before
    killed = [p for p in after.plans.all() if p.plan_id not in known]
    assert [p.status for p in killed] == [PlanStatus.RUNNING]  # as the kill left it
    statuses = _restart_app(region)
    assert statuses[killed[0].plan_id] == "failed"
    assert after.plans.current() == before
    after.close()


def _repair_killed_while_storing(region: Region) -> None:
    before = region.store.plans.current()
    assert before is not None
    today = region.horizon.start + timedelta(days=1)
    argv = ["repair", "--today", today.isoformat(), "--time-limit", "0.5"]
    _kill_while_writing(region, argv, "plan_stops")
    after = _consistent(region)
    assert after.plans.current() == before
    assert after.reps.all() == region.store.reps.all()
    _restart_app(region)
    # usable: the same repair now runs to completion on the state the kill left
    done = subprocess.run(
        [sys.executable, "-m", "routeplanner", *argv, "--database-url", region.url],
        env=region.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    repaired = after.plans.current()
    assert repaired is not None
    assert before is not None
    assert repaired[0] != before[0]
    after.close()


def _import_killed_while_storing(region: Region) -> None:
    accounts_before = region.store.accounts.all()
    big = region.folder / "accounts.csv"
    with (SAMPLE_DIR / "accounts.csv").open(encoding="utf-8") as src:
        rows = list(csv.DictReader(src))
    with big.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for i in range(BIG_IMPORT):
            row = dict(rows[i % len(rows)])
            writer.writerow({**row, "id": f"N{i:05d}", "name": f"{row['name']} {i}"})
    argv = ["import", "--accounts", str(big), "--reps", str(SAMPLE_DIR / "reps.csv")]
    argv.append("--no-assign")
    _kill_while_writing(region, argv, "accounts", rows=BIG_IMPORT)
    after = _consistent(region)
    assert after.accounts.all() == accounts_before
    _restart_app(region)
    done = subprocess.run(
        [sys.executable, "-m", "routeplanner", *argv, "--database-url", region.url],
        env=region.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(after.accounts.all()) == BIG_IMPORT
    after.close()
