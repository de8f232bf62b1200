"""Accounts in the field over real HTTP: a rep's own list with search and nearby, the account
card (history with notes and outcomes, contact, upcoming visits, navigate) for reps and
managers, and an ad-hoc visit added from the phone."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from routeplanner.storage import Store
from tests.conftest import log_in
from tests.web.rep_day_data import store_world, today, visit

pytestmark = pytest.mark.osm


@pytest.fixture
def rep(anon_client: TestClient, store: Store) -> TestClient:
    store_world(store, today())
    log_in(anon_client, "juergen")
    return anon_client


def _names(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('<li data-account="')[1:]]


def test_a_rep_lists_their_own_accounts_and_searches(rep: TestClient) -> None:
    assert _names(rep.get("/route/accounts").text) == ["A2", "A1"]  # by name: Apotheke, Bäckerei
    assert _names(rep.get("/route/accounts?q=m%C3%BCller").text) == ["A1"]
    assert _names(rep.get("/route/accounts?q=nothing-like-it").text) == []
    assert rep.get("/route/accounts?rep=R2").status_code == 403


def test_nearby_sorts_by_distance_from_the_given_position(rep: TestClient) -> None:
    near_a1 = rep.get("/route/accounts?lat=49.4107&lon=8.6941").text
    assert _names(near_a1) == ["A1", "A2"]
    assert "0.0 km" in near_a1
    near_a2 = rep.get("/route/accounts?lat=49.4092&lon=8.6935").text
    assert _names(near_a2) == ["A2", "A1"]


@pytest.mark.parametrize(
    "query",
    ["lat=91&lon=8.69", "lat=49.4&lon=181", "lat=abc&lon=8.6", "lat=49.4", "lat=nan&lon=8"],
)
def test_bad_coordinates_are_422(rep: TestClient, query: str) -> None:
    response = rep.get(f"/route/accounts?{query}", headers={"Accept": "application/json"})
    assert response.status_code == 422, query
    assert response.json()["errors"]


def test_a_manager_lists_any_reps_accounts(client: TestClient, store: Store) -> None:
    store_world(store, today())
    assert _names(client.get("/route/accounts?rep=R2").text) == ["A3"]
    assert len(_names(client.get("/route/accounts").text)) == 3


def test_account_card_shows_history_contact_and_upcoming(rep: TestClient, store: Store) -> None:
    data = {
        "visit_id": visit("A1", today()),
        "status": "done",
        "outcome": "order",
        "note": "Frau Müller bestellt 3 Kisten",
    }
    assert rep.post("/route/visit", data=data).status_code == 200
    html = rep.get("/accounts/A1").text
    assert 'id="visits"' in html
    assert "Frau Müller bestellt 3 Kisten" in html
    assert '<span class="outcome">order</span>' in html
    later = today() + timedelta(days=7)
    assert f"/route?rep=R1&amp;day={later.isoformat()}#stop-1" in html
    assert "Hauptstraße 1, 69117 Heidelberg" in html
    assert 'class="btn nav" href="https://www.google.com/maps/dir/?api=1' in html
    assert 'id="ownership"' not in html  # the ownership audit is the manager's
    assert rep.get("/accounts/A3").status_code == 403  # R2's account
    assert rep.get("/accounts/A9").status_code == 404


def test_a_manager_sees_the_card_and_the_ownership(client: TestClient, store: Store) -> None:
    store_world(store, today())
    html = client.get("/accounts/A3").text
    assert 'id="visits"' in html
    assert 'id="owner-now"' in html


@pytest.mark.slow
def test_an_ad_hoc_visit_from_the_phone_is_planned(rep: TestClient, store: Store) -> None:
    plan_before = store.plans.current_id()
    day = today() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    response = rep.post(
        "/route/adhoc", data={"account_id": "A2", "day": day.isoformat()}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"/route?rep=R1&day={day.isoformat()}&job=")
    job = location.rsplit("=", 1)[1]
    deadline = time.monotonic() + 60
    while (state := rep.get(f"/api/v1/visits/jobs/{job}").json()["state"]) == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert state == "done"
    current = store.plans.current()
    assert current is not None
    assert current[0] != plan_before
    (route,) = [r for r in current[1].routes if r.rep_id == "R1" and r.day == day]
    assert "A2" in {s.account_id for s in route.stops}


def test_ad_hoc_visits_refuse_frozen_days_and_foreign_accounts(
    rep: TestClient, store: Store
) -> None:
    plan_before = store.plans.current_id()
    today_form = {"account_id": "A2", "day": today().isoformat()}
    response = rep.post("/route/adhoc", data=today_form, headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert "cannot change any more" in response.text
    later = {"account_id": "A3", "day": (today() + timedelta(days=3)).isoformat()}
    assert rep.post("/route/adhoc", data=later).status_code == 403
    assert rep.post("/route/adhoc", data={"account_id": "A2", "day": "soon"}).status_code == 422
    assert store.plans.current_id() == plan_before
