"""Reports from the phone over HTTP: only days up to today, one rep's report repairs that rep's
territory plan alone, and the repair queue answers 429 and 503 in the one error format."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from routeplanner.errors import InputError
from routeplanner.model import DayRoute, Plan
from routeplanner.model.history import VisitStatus
from routeplanner.services import repair
from routeplanner.services.repair import VisitParams
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.web.test_api_visits import _bearer
from tests.web.test_route_page import DAY, _store_plan

pytestmark = pytest.mark.osm
URL = "/api/v1/visits"


def _with_r2(store: Store) -> int:
    """The route page's plan plus a territory plan of R2 written by a version of its own."""
    _store_plan(store)
    current = store.plans.current_id()
    r2 = store.plans.start(store.plans.info(current or 0).horizon)
    plan = Plan(routes=(DayRoute(rep_id="R2", day=DAY, start_s=8 * 3600, end_s=8 * 3600),))
    store.plans.complete(r2, plan, rep_id="R2", bases={"R2": None})
    return r2


def _wait(client: TestClient, job_id: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = client.get(f"{URL}/jobs/{job_id}", headers=headers).json()
        if body["state"] not in ("waiting", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _r2_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM plan_routes WHERE rep_id = 'R2'"))
        return [tuple(row) for row in rows]


def test_a_reps_report_repairs_only_that_reps_territory_plan(
    anon_client: TestClient, store: Store
) -> None:
    r2_version = _with_r2(store)
    before, r2_rows = store.plans.current(), _r2_rows(store)
    assert before is not None
    headers = _bearer(store, "juergen", role="rep", rep_id="R1")
    response = anon_client.post(URL, json={"visit_id": "A1@1", "status": "missed"}, headers=headers)
    assert response.status_code == 202, response.text
    job = _wait(anon_client, response.json()["job"]["job_id"], headers)
    assert job["state"] == "done", job
    repaired = job["plan_id"]
    assert store.plans.info(repaired).rep_id == "R1"
    versions = {t.rep_id: t.plan_id for t in store.plans.territories()}
    assert versions["R2"] == r2_version  # R2's territory plan is shared, not rewritten
    assert versions["R1"] == repaired
    assert _r2_rows(store) == r2_rows
    after = store.plans.current()
    assert after is not None
    assert after[1].routes_of("R2") == before[1].routes_of("R2")
    # The change list is stored with R1's new territory plan.
    assert store.plans.territory_history("R1")[0].changes is not None


def test_a_stop_of_a_future_day_is_not_reported(anon_client: TestClient, store: Store) -> None:
    _store_plan(store)
    yesterday = DAY - timedelta(days=1)
    params = VisitParams(visit_id="A1@1", status=VisitStatus.MISSED)
    with pytest.raises(InputError, match=r"only days up to 2026-11-23 can be reported"):
        repair.record_visit(store, params, user=None, today=yesterday)
    assert store.visits.find() == []
    early = VisitParams(visit_id="A2@1", status=VisitStatus.DONE, grace_days=1)
    assert repair.record_visit(store, early, user=None, today=yesterday).day == DAY
    headers = _bearer(store, "juergen", role="rep", rep_id="R1")
    response = anon_client.post(URL, json={"visit_id": "A1@1", "status": "done"}, headers=headers)
    assert response.status_code == 200  # DAY has passed


@pytest.fixture
def strict_client(settings: Settings, store: Store) -> Iterator[TestClient]:
    """An app allowing one new repair per rep and minute, and one repair queued at a time."""
    strict = settings.model_copy(update={"repair_rate_per_minute": 1, "repair_queue": 1})
    with TestClient(create_app(strict)) as test_client:
        yield test_client


def test_too_many_repairs_are_answered_429_and_503_with_nothing_stored(
    strict_client: TestClient, store: Store
) -> None:
    _store_plan(store)
    rep = _bearer(store, "juergen", role="rep", rep_id="R1")
    first = strict_client.post(URL, json={"visit_id": "A1@1", "status": "missed"}, headers=rep)
    assert first.status_code == 202, first.text
    assert _wait(strict_client, first.json()["job"]["job_id"], rep)["state"] == "done"
    stored = len(store.visits.find())
    again = strict_client.post(URL, json={"visit_id": "A2@1", "status": "missed"}, headers=rep)
    assert again.status_code == 429, again.text
    assert again.json()["errors"] == []
    assert again.json()["error"].startswith("rep R1 started 1 repairs within a minute")
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    assert len(store.visits.find()) == stored  # the refused report is not stored
    done = strict_client.post(URL, json={"visit_id": "A2@1", "status": "done"}, headers=rep)
    assert done.status_code == 200  # reports needing no repair are not limited
