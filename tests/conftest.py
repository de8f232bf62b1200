"""Session-wide fixtures; heavier ones (road graph, database, app) live next to their tests."""

from __future__ import annotations

import fcntl
import gc
import importlib.util
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import PasswordCost, hash_password
from routeplanner.model import Account, GeoPoint, Rep, TimeWindow, VisitRule, WeeklyHours
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, session_factory
from routeplanner.units import HOUR
from routeplanner.web.app import create_app
from tests.databases import POSTGRES_ENV, MigratedPostgres, MigratedSqlite
from tests.helpers import DATA_DIR, SAMPLE_DIR, require
from tests.postgres_cluster import SERVER_GLOB, SharedCluster, server_binaries

# FastAPI's TestClient sends "Host: testserver", which RP_TRUSTED_HOSTS does not trust by
# default; every Settings() a test builds reads this (tests of the default set it explicitly).
os.environ.setdefault("RP_TRUSTED_HOSTS", "testserver,localhost,127.0.0.1,::1")

ANDORRA_PBF = DATA_DIR / "osm" / "andorra.osm.pbf"
HEIDELBERG_PBF = SAMPLE_DIR / "heidelberg.osm.pbf"

if TYPE_CHECKING:
    from routeplanner.roads.graph import RoadGraph
    from routeplanner.roads.model import RoadModel


def pytest_collection_finish(session: pytest.Session) -> None:
    """Collection has imported every library the tests use: keep those long-lived objects out
    of the garbage collector's scans (``gc.freeze``) and collect young objects less often, so
    collections stop re-scanning a heap where they find almost nothing to free."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 10)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` starts one worker more than this machine has cores: many tests spend part of
    their time waiting (on a subprocess, the browser, PostgreSQL, a background job), and the
    extra worker uses those cores meanwhile (measured in benchmarks/results/tests_speed.md)."""
    del config
    return len(os.sched_getaffinity(0)) + 1


SHARED_CLUSTER = pytest.StashKey[SharedCluster]()
SHARED_CLUSTER_INPUT = "rp_shared_postgres"


def pytest_configure(config: pytest.Config) -> None:
    """Without ``RP_TEST_POSTGRES_URL`` the run shares one throwaway cluster: the main process
    makes the folder where it is coordinated, pytest-xdist workers get it from there."""
    if os.environ.get(POSTGRES_ENV):
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        folder = Path(tempfile.mkdtemp(prefix="rp-tests-pg-run-"))
    else:
        folder = Path(workerinput[SHARED_CLUSTER_INPUT])
    config.stash[SHARED_CLUSTER] = SharedCluster(folder)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist's hook in the main process: tell each worker where the cluster is shared."""
    if SHARED_CLUSTER in node.config.stash:
        node.workerinput[SHARED_CLUSTER_INPUT] = str(node.config.stash[SHARED_CLUSTER].folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The main process stops the shared cluster once every worker is done."""
    if SHARED_CLUSTER in config.stash and not hasattr(config, "workerinput"):
        config.stash[SHARED_CLUSTER].stop()


@pytest.fixture(scope="session")
def postgres_server_url(request: pytest.FixtureRequest) -> str:
    """The server of the PostgreSQL tests: ``RP_TEST_POSTGRES_URL`` when set, else the run's
    throwaway cluster, started from the installed server binaries by the first process that
    needs it and stopped and deleted when the run ends, so a plain ``make test`` runs these
    tests as CI does."""
    require(importlib.util.find_spec("psycopg") is not None, "psycopg driver")
    configured = os.environ.get(POSTGRES_ENV, "")
    if configured:
        return configured
    require(
        server_binaries() is not None,
        f"PostgreSQL server ({POSTGRES_ENV} not set, no server binaries in {SERVER_GLOB})",
    )
    return request.config.stash[SHARED_CLUSTER].url()


@pytest.fixture(scope="session")
def road_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One graph cache per test run: the real cache code runs, nothing leaks between runs.

    Parallel workers (pytest-xdist) share it, so each graph is built once per run.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return tmp_path_factory.mktemp("road-cache")
    shared = tmp_path_factory.getbasetemp().parent / "road-cache"
    shared.mkdir(exist_ok=True)
    return shared


@pytest.fixture(scope="session", autouse=True)
def _road_cache_outside_the_checkout(road_cache_dir: Path) -> Iterator[None]:
    """Settings read from the environment (CLI runs, ``Settings()``) cache road graphs in this
    run's cache too, never in the checkout's var/cache."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("RP_CACHE_DIR", str(road_cache_dir))
        yield


TEST_ANNEAL_STEPS = 2_000
"""Annealing steps per account in tests (the product runs ``polish.ANNEAL_STEPS``, 10,000).
What the tests check holds after every step (loads in their band, locks, territories in one
piece, move caps), however many steps run; how far the steps bring travel down is measured by
the territory benchmarks. Tests of the step count itself set their own."""


@pytest.fixture(scope="session", autouse=True)
def _shorter_annealing() -> Iterator[None]:
    from routeplanner.territories import polish

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(polish, "ANNEAL_STEPS", TEST_ANNEAL_STEPS)
        yield


def _load_once(pbf: Path, cache_dir: Path, model: RoadModel | None = None) -> RoadGraph:
    """Load under a lock on the cache: the first worker builds the graph, the others read it."""
    from routeplanner.roads.graph import load_road_graph

    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return load_road_graph(pbf, cache_dir=cache_dir, model=model)


@pytest.fixture(scope="session")
def andorra_graph(road_cache_dir: Path) -> RoadGraph:
    """Drivable graph of all of Andorra (real OSM PBF, ~1,150 nodes): small and quick."""
    return _load_once(ANDORRA_PBF, road_cache_dir)


@pytest.fixture(scope="session")
def heidelberg_graph(road_cache_dir: Path) -> RoadGraph:
    """Drivable graph of the Heidelberg sample region (~5,200 nodes; ~10 s to build once)."""
    return _load_once(HEIDELBERG_PBF, road_cache_dir)


@pytest.fixture(scope="session")
def heidelberg_cache(road_cache_dir: Path, heidelberg_graph: RoadGraph) -> Path:
    """The road cache with the sample region's graph in it: apps and CLI runs under test read
    it instead of each building (or racing to build) their own."""
    return road_cache_dir


@pytest.fixture(scope="session")
def andorra_free_graph(road_cache_dir: Path) -> RoadGraph:
    """Andorra under the plain free-flow model (no turns or delays): the node-graph engine."""
    from routeplanner.roads.model import RoadModel

    return _load_once(ANDORRA_PBF, road_cache_dir, RoadModel.free_flow_model())


@pytest.fixture(scope="session")
def heidelberg_free_graph(road_cache_dir: Path) -> RoadGraph:
    """The Heidelberg sample under the plain free-flow model."""
    from routeplanner.roads.model import RoadModel

    return _load_once(HEIDELBERG_PBF, road_cache_dir, RoadModel.free_flow_model())


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> MigratedSqlite:
    """One migration per session; each test copies the file (``migrated_sqlite.copy(path)``)."""
    return MigratedSqlite(tmp_path_factory.mktemp("migrated"))


@pytest.fixture(scope="session")
def migrated_postgres(postgres_server_url: str) -> Iterator[MigratedPostgres]:
    """One migrated PostgreSQL schema per session (per worker); reset before each test."""
    database = MigratedPostgres(postgres_server_url)
    yield database
    database.drop()


FAR_AWAY = GeoPoint(49.0, 8.0)  # south of Karlsruhe, > 30 km outside the Heidelberg extract


def small_region() -> tuple[list[Account], list[Rep]]:
    """Three accounts (one far off the network) and one rep, with German names."""
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR))
    weekly = VisitRule.parse("weekly")
    accounts = [
        Account(
            account_id="A1",
            name="Bäckerei Müller",
            address="Hauptstraße 1, 69117 Heidelberg",
            location=GeoPoint(49.4106, 8.6940),
            visit_rule=weekly,
            visit_duration_s=1800,
            opening_hours=hours,
            category="bakery",
        ),
        Account(
            account_id="A2",
            name="Apotheke am Bismarckplatz",
            location=GeoPoint(49.4093, 8.6936),
            visit_rule=VisitRule.parse("every 2 weeks"),
            visit_duration_s=2700,
            opening_hours=hours,
            category="pharmacy",
        ),
        Account(
            account_id="A3",
            name="Weit Weg GmbH",
            location=FAR_AWAY,
            visit_rule=weekly,
            visit_duration_s=1800,
            opening_hours=hours,
        ),
    ]
    reps = [
        Rep(
            rep_id="R1",
            name="Jürgen Weiß",
            home=GeoPoint(49.3988, 8.6724),
            working_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
        )
    ]
    return accounts, reps


TEST_PASSWORD_COST = PasswordCost(time_cost=1, memory_kib=32)
"""argon2 factors for test logins: a hash in microseconds instead of a tenth of a second
(tests/web/test_password_cost.py checks that production keeps the strong defaults)."""


@pytest.fixture
def settings(tmp_path: Path, heidelberg_cache: Path, migrated_sqlite: MigratedSqlite) -> Settings:
    return Settings(
        database_url=migrated_sqlite.copy(tmp_path / "web.sqlite"),
        osm_path=SAMPLE_DIR / "heidelberg.osm.pbf",
        cache_dir=heidelberg_cache,
        # Tests write through their own Store object, which to the app is "another
        # process": ask the database on every request (tests/web/test_day_cache.py covers
        # the TTL).
        day_cache_ttl_s=0,
        password_time_cost=TEST_PASSWORD_COST.time_cost,
        password_memory_kib=TEST_PASSWORD_COST.memory_kib,
        # A repair after a missed visit waits this long for an undo; tests of the undo
        # itself ask for longer.
        undo_grace_s=0.5,
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    return store


MANAGER_PASSWORD = "correct horse battery"


def add_user(
    store: Store, username: str, *, role: str = "admin", rep_id: str | None = None
) -> None:
    """A login with password :data:`MANAGER_PASSWORD` (argon2id, with the cheap test factors);
    by default an admin, the role that sees the whole organisation."""
    password_hash = hash_password(MANAGER_PASSWORD, TEST_PASSWORD_COST)
    store.users.create(username, password_hash, role=role, rep_id=rep_id)


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def log_in(client: TestClient, username: str, password: str = MANAGER_PASSWORD) -> None:
    """Log in through the real form, then send the session's CSRF token as a header on every
    later request, so tests written before login existed post their forms unchanged."""
    token = form_csrf(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/calendar")
    client.headers["X-CSRF-Token"] = form_csrf(page.text)


@pytest.fixture
def anon_client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def client(anon_client: TestClient, store: Store) -> TestClient:
    """A client logged in as a manager, who sees everything."""
    add_user(store, "boss")
    log_in(anon_client, "boss")
    return anon_client
