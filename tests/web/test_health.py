"""Liveness is cheap and never waits for the database; readiness says what it checked."""

from __future__ import annotations

import gc
import inspect

from fastapi.testclient import TestClient

from routeplanner import __version__
from routeplanner.settings import Settings
from routeplanner.storage import Store, head_revision
from routeplanner.storage.engine import make_engine, session_factory
from routeplanner.web.app import GC_THRESHOLDS, create_app
from routeplanner.web.routes import api
from routeplanner.web.services import Services

NOWHERE = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # nothing listens on port 9


def _without_database(settings: Settings) -> TestClient:
    """An app whose database has gone away after it started (no lifespan: it would fail)."""
    dead = settings.model_copy(update={"database_url": NOWHERE})
    store = Store(session_factory(make_engine(NOWHERE)))
    return TestClient(create_app(dead, services=Services(settings=dead, store=store)))


def test_liveness_answers_without_the_database(settings: Settings) -> None:
    client = _without_database(settings)
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}
    assert inspect.iscoroutinefunction(api.health)  # on the event loop: no worker-thread hop


def test_readiness_fails_and_names_the_database(settings: Settings) -> None:
    client = _without_database(settings)
    response = client.get("/api/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    checks = {c["name"]: c for c in body["checks"]}
    assert set(checks) == {"database", "road_network"}
    assert checks["database"]["ok"] is False
    assert "127.0.0.1" in checks["database"]["detail"]
    assert checks["road_network"]["ok"] is True


def test_readiness_when_everything_is_there(anon_client: TestClient) -> None:
    response = anon_client.get("/api/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    checks = {c["name"]: c for c in body["checks"]}
    assert checks["database"] == {
        "name": "database",
        "ok": True,
        "detail": f"reachable, schema {head_revision()}",
    }
    assert checks["road_network"]["ok"] is True
    assert "heidelberg.osm.pbf" in checks["road_network"]["detail"]


def test_readiness_without_the_osm_file(settings: Settings, store: Store) -> None:
    missing = settings.model_copy(update={"osm_path": settings.cache_dir / "gone.osm.pbf"})
    with TestClient(create_app(missing)) as client:
        response = client.get("/api/ready")
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["road_network"]["ok"] is False
    assert "gone.osm.pbf" in checks["road_network"]["detail"]
    assert checks["database"]["ok"] is True


def test_a_server_collects_garbage_rarely(settings: Settings) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # Python's defaults, whatever ran before
        _without_database(settings)
        assert gc.get_threshold() == GC_THRESHOLDS
        assert GC_THRESHOLDS[0] > 700
    finally:
        gc.set_threshold(*before)
