"""The plan page and API: start planning in the background, poll, cancel, see KPIs."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import Horizon, Plan
from routeplanner.services import planning as planning_service
from routeplanner.services.planning import next_monday, run_planning
from routeplanner.storage import Store
from routeplanner.storage.records import PlanStatus
from tests.conftest import add_user, form_csrf, log_in

pytestmark = pytest.mark.osm
MONDAY = next_monday("Europe/Berlin").isoformat()
FORM = {"start": MONDAY, "weeks": "1", "time_limit_s": "0.5"}


def _wait_page(client: TestClient) -> str:
    for _ in range(600):  # at most ~60 s
        html = client.get("/plan").text
        if 'http-equiv="refresh"' not in html:
            return html
        time.sleep(0.1)
    pytest.fail("planning did not finish")


def _wait_plan(client: TestClient, plan_id: int) -> dict[str, Any]:
    for _ in range(600):
        body: dict[str, Any] = client.get(f"/api/v1/plans/{plan_id}").json()
        if body["status"] != "running":
            return body
        time.sleep(0.1)
    pytest.fail("planning did not finish")


def _plan_once(client: TestClient) -> int:
    response = client.post("/api/v1/plans", json={"start": MONDAY, "time_limit_s": 0.5})
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "running"
    body = _wait_plan(client, started["plan_id"])
    assert body["status"] == "complete", body
    assert body["is_current"] is True
    plan_id: int = body["plan_id"]
    return plan_id


def test_manager_plans_from_the_page_and_sees_kpis(client: TestClient, store: Store) -> None:
    page = client.get("/plan")
    assert page.status_code == 200
    assert 'href="/plan"' in page.text
    assert f'value="{MONDAY}"' in page.text
    response = client.post("/plan/start", data=FORM, follow_redirects=False)
    assert response.status_code == 303
    html = _wait_page(client)
    assert "done" in html
    current = store.plans.current()
    assert current is not None
    assert store.plans.info(current[0]).status is PlanStatus.COMPLETE
    assert 'id="plan-kpis"' in html
    assert "Adherence" in html
    assert "Drive share" in html
    assert 'id="plan-week"' in html
    assert "/route?rep=R1&amp;day=" in html
    assert "Weit Weg GmbH" in html  # A3 is off the road network
    (unplaced,) = [u for u in current[1].unassigned if u.account_id == "A3"][:1]
    assert unplaced.reason.label in html


def test_cancel_keeps_the_previous_plan_current(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _plan_once(client)

    def cancelling(*args: Any, progress: Callable[[str, float], None], **kw: Any) -> Any:
        job = progress.__self__  # type: ignore[attr-defined]

        def report(message: str, fraction: float) -> None:
            job.cancel.set()  # as if the manager pressed Cancel right now
            progress(message, fraction)

        return run_planning(*args, progress=report, **kw)

    monkeypatch.setattr(planning_service, "run_planning", cancelling)
    response = client.post("/plan/start", data=FORM, follow_redirects=False)
    assert response.status_code == 303
    html = _wait_page(client)
    assert "cancelled" in html
    assert store.plans.current_id() == first
    newest = store.plans.all()[0]
    assert newest.plan_id != first
    assert newest.status is PlanStatus.FAILED
    assert newest.error == "cancelled by the user"
    assert not newest.is_current
    assert client.get(f"/api/v1/plans/{newest.plan_id}").json()["status"] == "cancelled"


def test_cancel_button_and_api(client: TestClient, store: Store) -> None:
    first = _plan_once(client)
    response = client.post("/api/v1/plans", json={"start": MONDAY, "time_limit_s": 5})
    assert response.status_code == 202
    plan_id = response.json()["plan_id"]
    assert plan_id > first  # the stored version, registered before the answer
    page = client.get("/plan").text
    if client.get(f"/api/v1/plans/{plan_id}").json()["status"] == "running":
        assert 'http-equiv="refresh"' in page or "Last run" in page
        assert 'action="/plan/cancel"' in page or "Last run" in page
    again = client.post("/api/v1/plans", json={"start": MONDAY})
    if again.status_code != 202:  # the first run is still going: one at a time
        assert again.status_code == 409
        assert again.json()["error"]
    cancelled = client.post(f"/api/v1/plans/{plan_id}/cancel")
    if cancelled.status_code == 202:
        assert cancelled.json()["plan_id"] == plan_id
        body = _wait_plan(client, plan_id)
        assert body["status"] == "cancelled"
        assert body["error"] == "cancelled by the user"
        assert store.plans.current_id() == first
    else:  # finished before the cancel arrived
        assert cancelled.status_code == 409
        assert _wait_plan(client, plan_id)["status"] == "complete"
    if again.status_code == 202:
        _wait_plan(client, again.json()["plan_id"])
    done = client.post(f"/api/v1/plans/{first}/cancel")
    assert done.status_code == 409
    assert done.json()["error"] == f"plan {first} is complete"
    assert client.post("/api/v1/plans/999/cancel").status_code == 404
    missing = client.get("/api/v1/plans/999")
    assert missing.status_code == 404
    assert "error" in missing.json()


def test_api_lists_versions_and_validates(client: TestClient) -> None:
    plan_id = _plan_once(client)
    versions = client.get("/api/v1/plans").json()
    assert versions[0]["plan_id"] == plan_id
    assert versions[0]["is_current"] is True
    assert versions[0]["status"] == "complete"
    bad = client.post("/api/v1/plans", json={"weeks": 14})
    assert bad.status_code == 422
    assert "error" in bad.json()
    tuesday = client.post("/api/v1/plans", json={"start": "2026-11-24"})
    assert tuesday.status_code == 422
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/plans" in schema["paths"]
    assert "/api/v1/plans/{plan_id}/cancel" in schema["paths"]


def test_rep_gets_403(anon_client: TestClient, store: Store) -> None:
    add_user(store, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    assert anon_client.get("/plan").status_code == 403
    assert anon_client.post("/plan/start", data=FORM).status_code == 403
    assert anon_client.get("/api/v1/plans").status_code == 403
    assert anon_client.post("/api/v1/plans", json={}).status_code == 403
    assert 'href="/plan"' not in anon_client.get("/route").text


def test_csrf_missing_is_403(client: TestClient, store: Store) -> None:
    token = form_csrf(client.get("/plan").text)
    del client.headers["X-CSRF-Token"]
    assert client.post("/plan/start", data=FORM).status_code == 403
    assert client.post("/api/v1/plans", json={}).status_code == 403
    assert store.plans.all() == []
    assert token


def test_anonymous_is_sent_to_login(anon_client: TestClient) -> None:
    response = anon_client.get("/plan", follow_redirects=False)
    assert response.status_code in (303, 307, 302)


def test_cancel_button_while_running(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _plan_once(client)

    def waiting(*args: Any, progress: Callable[[str, float], None], **kw: Any) -> Any:
        job = progress.__self__  # type: ignore[attr-defined]
        job.cancel.wait(60)  # still running until the manager presses Cancel
        return run_planning(*args, progress=progress, **kw)

    monkeypatch.setattr(planning_service, "run_planning", waiting)
    assert client.post("/plan/start", data=FORM, follow_redirects=False).status_code == 303
    page = client.get("/plan").text
    assert 'http-equiv="refresh"' in page
    assert 'id="plan-progress"' in page
    busy = client.post("/plan/start", data=FORM, follow_redirects=False)
    assert busy.status_code == 409  # one run at a time
    plan_id = re.search(r'name="plan_id" value="(\d+)"', page)
    assert plan_id is not None
    assert client.get(f"/api/v1/plans/{plan_id.group(1)}").json()["status"] == "running"
    cancel = client.post("/plan/cancel", data={"plan_id": plan_id.group(1)}, follow_redirects=False)
    assert cancel.status_code == 303
    html = _wait_page(client)
    assert "cancelled" in html
    assert store.plans.current_id() == first
    newest = store.plans.all()[0]
    assert newest.status is PlanStatus.FAILED
    assert not newest.is_current


def test_plan_form_defaults_to_the_current_plans_weeks(client: TestClient, store: Store) -> None:
    weeks = re.compile(r'<input type="number" name="weeks" min="1" max="\d+" value="(\d+)"')
    found = weeks.search(client.get("/plan").text)
    assert found
    assert found.group(1) == "1"
    start = date.fromisoformat(MONDAY)
    plan_id = store.plans.start(Horizon(start=start, weeks=3, timezone="Europe/Berlin"))
    store.plans.complete(plan_id, Plan())
    found = weeks.search(client.get("/plan").text)
    assert found
    assert found.group(1) == "3"
