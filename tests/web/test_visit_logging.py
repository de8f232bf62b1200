"""Visit logging from the rep's day page: done / missed / cancelled / checked in, then re-plan."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import GeoPoint, Rep, TimeWindow, WeeklyHours
from routeplanner.model.history import OwnershipCause, VisitStatus
from routeplanner.model.territory import Territory
from routeplanner.storage import Store
from routeplanner.units import HOUR
from tests.conftest import add_user, form_csrf, log_in
from tests.web.test_route_page import DAY, _store_plan

pytestmark = pytest.mark.osm
PAGE = f"/route?rep=R1&day={DAY.isoformat()}"


def _form(visit_id: str, status: str, **extra: str) -> dict[str, str]:
    return {"visit_id": visit_id, "status": status, "rep": "R1", "day": DAY.isoformat(), **extra}


def _wait_for_replan(client: TestClient, location: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        html = client.get(location).text
        if "Re-planning" not in html or time.monotonic() > deadline:
            return html
        time.sleep(0.1)


def test_day_page_has_visit_buttons_with_csrf(client: TestClient, store: Store) -> None:
    _store_plan(store)
    html = client.get(PAGE).text
    assert html.count('action="/route/visit"') == 8  # four forms per stop
    assert form_csrf(html)
    assert 'name="at"' not in html  # one tap records the current time, never the planned one
    for label in ("Check in", "Done", "Missed", "Cancelled"):
        assert f">{label}</button>" in html


def test_done_with_time_and_note_is_stored_and_shown(client: TestClient, store: Store) -> None:
    _store_plan(store)
    data = _form("A1@1", "done", at="10:15", note="Bestellung über 3 Kisten, Grüße")
    response = client.post("/route/visit", data=data, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == PAGE + "&saved=A1%401"
    (record,) = store.visits.find(rep_id="R1", start=DAY, end=DAY)
    assert record.status is VisitStatus.DONE
    assert record.visit_id == "A1@1"
    assert record.account_id == "A1"
    assert record.note == "Bestellung über 3 Kisten, Grüße"
    assert record.recorded_by == "boss"
    assert record.actual_start is not None
    local = record.actual_start.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date(), local.hour, local.minute) == (DAY, 10, 15)
    html = client.get(response.headers["location"]).text
    assert '<span class="visit-status done" data-visit="A1@1">done at 10:15</span>' in html
    assert 'data-visit="A2@1">' not in html.split('class="visit-log"')[0]


def test_check_in_without_time_records_now(client: TestClient, store: Store) -> None:
    _store_plan(store)
    response = client.post("/route/visit", data=_form("A2@1", "checked_in"))
    assert response.status_code == 200
    assert "checked in at " in response.text
    (record,) = store.visits.find(rep_id="R1")
    assert record.status is VisitStatus.CHECKED_IN
    assert record.actual_start is not None


@pytest.mark.slow
def test_missed_visit_repairs_the_plan(client: TestClient, store: Store) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="Altstadt", rep_id="R1", account_ids=("A1", "A2"))],
        cause=OwnershipCause.MANUAL,
    )
    _store_plan(store)
    old_id = store.plans.current_id()
    assert old_id is not None
    response = client.post("/route/visit", data=_form("A2@1", "missed"), follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(PAGE + "&saved=A2%401&job=")
    html = _wait_for_replan(client, location)
    new_id = store.plans.current_id()
    assert new_id is not None
    assert new_id > old_id
    assert f"What changed (plan version {new_id})" in html
    assert "Nothing else moved for you." in html or "<li>moved: " in html or "<li>added: " in html
    # the same box from the stored versions alone (after a restart the job is gone)
    again = client.get(f"{PAGE}&changed={new_id}").text
    box = html[html.index("<h2>What changed") : html.index("</section>")]
    assert box in again
    assert 'id="changes"' not in client.get(f"{PAGE}&changed={old_id}").text
    (record,) = store.visits.find(rep_id="R1")
    assert record.status is VisitStatus.MISSED
    assert record.actual_start is None


def test_cancelled_visit_without_territory_still_makes_a_version(
    client: TestClient, store: Store
) -> None:
    _store_plan(store)
    old_id = store.plans.current_id()
    response = client.post("/route/visit", data=_form("A1@1", "cancelled"))
    html = _wait_for_replan(client, str(response.url))
    assert 'id="changes"' in html
    assert store.plans.current_id() != old_id


def test_missing_csrf_is_refused(client: TestClient, store: Store) -> None:
    _store_plan(store)
    del client.headers["X-CSRF-Token"]
    response = client.post("/route/visit", data=_form("A1@1", "done", at="10:15"))
    assert response.status_code == 403
    assert store.visits.find() == []


def test_rep_may_not_log_for_another_rep(anon_client: TestClient, store: Store) -> None:
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR))
    store.reps.upsert(
        [Rep(rep_id="R2", name="Anna Schön", home=GeoPoint(49.40, 8.68), working_hours=hours)],
        source="test",
    )
    _store_plan(store)
    add_user(store, "anna", role="rep", rep_id="R2")
    log_in(anon_client, "anna")
    # the stop belongs to R1, whatever rep the form claims
    for rep in ("R1", "R2"):
        data = {**_form("A1@1", "done", at="10:15"), "rep": rep}
        response = anon_client.post("/route/visit", data=data)
        assert response.status_code == 403, rep
    assert store.visits.find() == []


def test_rep_logs_own_visit(anon_client: TestClient, store: Store) -> None:
    _store_plan(store)
    add_user(store, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    response = anon_client.post("/route/visit", data=_form("A1@1", "done", at="09:05"))
    assert response.status_code == 200
    assert "done at 09:05" in response.text
    (record,) = store.visits.find()
    assert record.recorded_by == "juergen"


def test_unknown_visit_is_404_in_the_error_format(client: TestClient, store: Store) -> None:
    _store_plan(store)
    response = client.post(
        "/route/visit",
        data=_form("A9@1", "done"),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 404
    assert response.json() == {"error": "no planned visit 'A9@1'", "errors": []}
    page = client.post("/route/visit", data=_form("A9@1", "done"))
    assert page.status_code == 404
    assert "no planned visit" in page.text


def test_bad_status_and_time_are_422(client: TestClient, store: Store) -> None:
    _store_plan(store)
    assert client.post("/route/visit", data=_form("A1@1", "eaten")).status_code == 422
    assert client.post("/route/visit", data=_form("A1@1", "done", at="25:99")).status_code == 422
    assert store.visits.find() == []
