"""Visit outcomes with an order value and a next step, over real HTTP: the day page's one-tap
outcome buttons, the typed outcome, the API, and bad values refused with nothing stored."""

from __future__ import annotations

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


def _form(account_id: str, status: str = "done", **extra: str) -> dict[str, str]:
    return {"visit_id": visit(account_id, today()), "status": status, "rep": "R1", **extra}


def test_one_tap_outcome_wins_over_the_typed_one(rep: TestClient, store: Store) -> None:
    html = rep.get(f"/route?rep=R1&day={today()}").text
    # the plain Done button first (Enter in a field), then one button per configured outcome
    done_at = html.index('<button type="submit" class="done">Done</button>')
    assert html.index('name="pick" value="order" class="pick">Done: order</button>') > done_at
    data = _form("A2", pick="order", outcome="typed", order_value="1250,50", next_step=" Call ")
    response = rep.post("/route/visit", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    (record,) = store.visits.find()
    assert (record.outcome, record.order_value, record.next_step) == ("order", 1250.5, "Call")
    html = rep.get(f"/route?rep=R1&day={today()}").text
    assert '<span class="order">order 1250.50 · next: Call</span>' in html
    card = rep.get("/accounts/A2").text
    assert '<span class="order">order 1250.50</span>' in card
    assert "next: Call" in card


def test_the_typed_outcome_counts_without_a_pick(rep: TestClient, store: Store) -> None:
    rep.post("/route/visit", data=_form("A1", outcome="follow-up agreed"), follow_redirects=False)
    (record,) = store.visits.find()
    assert (record.outcome, record.order_value, record.next_step) == ("follow-up agreed", None, "")


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"order_value": "lots"}, "order_value", "'lots' is not a number"),
        ({"order_value": "-5"}, "order_value", "must be 0 to 1000000000, got -5"),
        ({"order_value": "2e9"}, "order_value", "must be 0 to 1000000000, got 2e9"),
        ({"next_step": "x" * 201}, "next_step", "at most 200 characters"),
        ({"status": "missed", "order_value": "10"}, "order_value", "only a done visit"),
    ],
)
def test_bad_order_values_store_nothing(
    rep: TestClient, store: Store, extra: dict[str, str], field: str, message: str
) -> None:
    data = {**_form("A1"), **extra}
    response = rep.post("/route/visit", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 422, response.text
    (problem,) = response.json()["errors"]
    assert problem["field"] == field
    assert message in problem["message"]
    assert store.visits.find() == []


def test_api_takes_and_answers_order_value_and_next_step(rep: TestClient, store: Store) -> None:
    body = {
        "visit_id": visit("A2", today()),
        "status": "done",
        "outcome": "order",
        "order_value": 99.9,
        "next_step": "Muster schicken",
    }
    response = rep.post("/api/v1/visits", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["order_value"], answer["next_step"]) == (99.9, "Muster schicken")
    (record,) = store.visits.find()
    assert (record.order_value, record.next_step) == (99.9, "Muster schicken")
    negative = rep.post("/api/v1/visits", json={**body, "order_value": -1})
    assert negative.status_code == 422
    missed = rep.post("/api/v1/visits", json={**body, "status": "missed"})
    assert missed.status_code == 422
    assert missed.json()["errors"][0]["field"] == "order_value"
    assert len(store.visits.find()) == 1
