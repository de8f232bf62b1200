"""``POST /api/v1/visits`` and ``GET /api/v1/visits/jobs/{id}``: visit outcomes over the API,
through the day page's own code, with the plan repair in the background as on the page."""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import new_api_token
from routeplanner.model import GeoPoint, Rep, TimeWindow, WeeklyHours
from routeplanner.model.history import OwnershipCause, VisitStatus
from routeplanner.model.territory import Territory
from routeplanner.storage import Store
from routeplanner.units import HOUR
from tests.conftest import add_user
from tests.web.test_route_page import DAY, _store_plan

pytestmark = pytest.mark.osm
URL = "/api/v1/visits"


def _bearer(store: Store, username: str, *, role: str, rep_id: str | None) -> dict[str, str]:
    add_user(store, username, role=role, rep_id=rep_id)
    user = store.users.find(username)
    assert user is not None
    return {"Authorization": f"Bearer {new_api_token(store, user, label='test')}"}


def _second_rep(store: Store) -> None:
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR))
    store.reps.upsert(
        [Rep(rep_id="R2", name="Anna Schön", home=GeoPoint(49.40, 8.68), working_hours=hours)],
        source="test",
    )


def _poll(client: TestClient, job_id: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        response = client.get(f"{URL}/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["state"] not in ("waiting", "running") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_done_with_time_and_note(anon_client: TestClient, store: Store) -> None:
    _store_plan(store)
    headers = _bearer(store, "juergen", role="rep", rep_id="R1")
    body = {"visit_id": "A1@1", "status": "done", "at": "10:15", "note": "3 Kisten, Grüße"}
    response = anon_client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["job"] is None
    assert (answer["visit_id"], answer["account_id"], answer["rep_id"]) == ("A1@1", "A1", "R1")
    assert (answer["day"], answer["status"], answer["recorded_by"]) == (
        DAY.isoformat(),
        "done",
        "juergen",
    )
    assert answer["note"] == "3 Kisten, Grüße"
    (record,) = store.visits.find(rep_id="R1", start=DAY, end=DAY)
    assert record.status is VisitStatus.DONE
    assert record.note == "3 Kisten, Grüße"
    assert record.actual_start is not None
    local = record.actual_start.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date(), local.hour, local.minute) == (DAY, 10, 15)


def test_check_in_without_time_records_now(client: TestClient, store: Store) -> None:
    _store_plan(store)
    response = client.post(URL, json={"visit_id": "A2@1", "status": "checked_in"})
    assert response.status_code == 200, response.text
    assert response.json()["actual_start"] is not None
    (record,) = store.visits.find(rep_id="R1")
    assert record.status is VisitStatus.CHECKED_IN
    assert record.recorded_by == "boss"


@pytest.mark.slow
def test_missed_visit_starts_the_pages_repair_and_reports_what_moved(
    client: TestClient, store: Store
) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="Altstadt", rep_id="R1", account_ids=("A1", "A2"))],
        cause=OwnershipCause.MANUAL,
    )
    _store_plan(store)
    old_id = store.plans.current_id()
    assert old_id is not None
    response = client.post(URL, json={"visit_id": "A2@1", "status": "missed", "rep": "R1"})
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["status"] == "missed"
    assert answer["actual_start"] is None
    job = answer["job"]
    assert (job["rep_id"], job["state"] in ("waiting", "running", "done")) == ("R1", True)
    done = _poll(client, job["job_id"], {})
    assert done["state"] == "done", done
    new_id = store.plans.current_id()
    assert new_id is not None
    assert new_id > old_id
    assert (done["plan_id"], done["previous_plan_id"]) == (new_id, old_id)
    assert [c["rep_id"] for c in done["changes"]] == ["R1"]
    (change,) = done["changes"]
    # the missed visit comes back as a follow-up on a later day of the repaired plan
    assert change["added"]
    assert all(v.startswith("A2@") for v in change["added"])
    current = store.plans.current()
    assert current is not None
    planned = {s.visit_id for r in current[1].routes for s in r.stops}
    assert set(change["added"]) <= planned
    assert change["moved"] == []
    # every changed visit says why
    assert [(c["kind"], c["why"]) for c in change["visits"]] == [
        ("added", f"makes up for the visit missed on {DAY:%a %d.%m.}")
    ]
    # the day page shows the same job's changes
    page = client.get(f"/route?rep=R1&day={DAY.isoformat()}&job={job['job_id']}").text
    assert f"What changed (plan version {new_id})" in page


def test_rep_may_not_log_or_see_another_reps_visit(anon_client: TestClient, store: Store) -> None:
    _second_rep(store)
    _store_plan(store)
    anna = _bearer(store, "anna", role="rep", rep_id="R2")
    for extra in ({}, {"rep": "R1"}, {"rep": "R2"}):
        body = {"visit_id": "A1@1", "status": "done", "at": "10:15", **extra}
        response = anon_client.post(URL, json=body, headers=anna)
        assert response.status_code == 403, extra
        assert response.json() == {"error": "you may only see your own routes", "errors": []}
    missed = anon_client.post(URL, json={"visit_id": "A1@1", "status": "missed"}, headers=anna)
    assert missed.status_code == 403
    assert store.visits.find() == []
    # a repair job started for R1 is invisible to R2 (404, as for an unknown job)
    boss = _bearer(store, "chef", role="admin", rep_id=None)
    started = anon_client.post(URL, json={"visit_id": "A1@1", "status": "cancelled"}, headers=boss)
    assert started.status_code == 202
    job_id = started.json()["job"]["job_id"]
    hidden = anon_client.get(f"{URL}/jobs/{job_id}", headers=anna)
    assert hidden.status_code == 404
    assert hidden.json() == {"error": f"repair job {job_id} not found", "errors": []}
    juergen = _bearer(store, "juergen", role="rep", rep_id="R1")
    assert anon_client.get(f"{URL}/jobs/{job_id}", headers=juergen).status_code == 200
    _poll(anon_client, job_id, boss)


def test_errors_store_nothing(client: TestClient, store: Store) -> None:
    none_yet = client.post(URL, json={"visit_id": "A1@1", "status": "done"})
    assert none_yet.status_code == 422
    assert none_yet.json()["errors"] == [
        {
            "field": "plan",
            "message": "no current plan: run `plan` first",
            "source": "database",
            "row": None,
        }
    ]
    _store_plan(store)
    unknown = client.post(URL, json={"visit_id": "A9@1", "status": "done"})
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "no planned visit 'A9@1'", "errors": []}
    status = client.post(URL, json={"visit_id": "A1@1", "status": "eaten"})
    assert status.status_code == 422
    assert status.json()["errors"] == [
        {
            "field": "status",
            "message": "must be one of done, missed, cancelled, checked_in, not 'eaten'",
            "source": "body",
            "row": None,
        }
    ]
    bad_time = client.post(URL, json={"visit_id": "A1@1", "status": "done", "at": "25:99"})
    assert bad_time.status_code == 422
    (problem,) = bad_time.json()["errors"]
    assert problem["field"] == "at"
    assert problem["message"].startswith("'25:99': ")
    missing = client.post(URL, json={"status": "done"})
    assert missing.status_code == 422
    assert missing.json() == {
        "error": "invalid request",
        "errors": [{"field": "visit_id", "message": "Field required"}],
    }
    assert store.visits.find() == []


def test_access_needs_login_and_csrf_for_sessions(
    anon_client: TestClient, client: TestClient, store: Store
) -> None:
    _store_plan(store)
    del client.headers["X-CSRF-Token"]
    assert client.post(URL, json={"visit_id": "A1@1", "status": "done"}).status_code == 403
    client.cookies.clear()
    anonymous = client.post(URL, json={"visit_id": "A1@1", "status": "done"})
    assert anonymous.status_code == 401
    assert client.get(f"{URL}/jobs/1").status_code == 401
    assert store.visits.find() == []


def test_unknown_job_is_404(client: TestClient) -> None:
    response = client.get(f"{URL}/jobs/7")
    assert response.status_code == 404
    assert response.json() == {"error": "repair job 7 not found", "errors": []}
    assert client.get(f"{URL}/jobs/{2**40}").status_code == 422
