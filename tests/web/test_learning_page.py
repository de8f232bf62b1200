"""The planned-against-actual page and API over real HTTP: what a manager sees, confirming
and withdrawing learned values, bad input, and who may do it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from routeplanner.storage import LearnedKind, Store
from tests.conftest import add_user, log_in
from tests.services.learning_data import week_in_the_field

FEW = {"weeks": "8", "min_drives": "3", "min_visits": "3"}


def _row(html: str, attribute: str, key: str) -> str:
    found = re.search(rf'<tr {attribute}="{key}">(.*?)</tr>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found[1])).strip()


def test_the_page_shows_planned_against_actual_with_estimates(
    client: TestClient, store: Store
) -> None:
    week_in_the_field(store)
    page = client.get("/learning", params=FEW)
    assert page.status_code == 200
    rep = _row(page.text, "data-rep", "R1")
    assert "R1 5 25 38" in rep  # 5 drives: 25 planned minutes, 37.5 actual
    assert "× 1.50" in rep
    account = _row(page.text, "data-account", "A1")
    assert account.startswith("Bäckerei Müller 5 30 40 40 min")
    assert 'href="/learning"' in page.text
    strict = client.get("/learning")  # default minimums: too few observations
    assert "too few drives" in _row(strict.text, "data-rep", "R1")


def test_confirm_then_withdraw_from_the_page(client: TestClient, store: Store) -> None:
    week_in_the_field(store)
    form = {**FEW, "kind": "travel_factor", "key": "R1"}
    done = client.post("/learning/confirm", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert "R1%3A+travel_factor+1.50+confirmed" in done.headers["location"]
    (value,) = store.learned.all()
    assert (value.kind, value.key, value.decided_by) == (LearnedKind.TRAVEL_FACTOR, "R1", "boss")
    shown = client.get(done.headers["location"])
    assert "× 1.50 by boss" in _row(shown.text, "data-rep", "R1")
    gone = client.post("/learning/withdraw", data=form, follow_redirects=False)
    assert gone.status_code == 303
    assert store.learned.all() == []


def test_bad_input_is_named_and_nothing_stored(client: TestClient, store: Store) -> None:
    week_in_the_field(store)
    bad = client.post("/learning/confirm", data={**FEW, "kind": "speed", "key": "R1"})
    assert bad.status_code == 422
    assert "use one of travel_factor, visit_seconds" in bad.text
    few = client.post("/learning/confirm", data={"kind": "travel_factor", "key": "R1"})
    assert few.status_code == 422
    assert "5 recorded in the last 8 weeks, 15 needed" in few.text
    weeks = client.get("/api/v1/learning", params={"weeks": "99"})
    assert weeks.status_code == 422
    assert weeks.json()["errors"][0]["field"] == "query.weeks"
    page = client.get("/learning", params={"weeks": "0"})
    assert page.status_code == 422
    assert "must be 1 to 52" in page.text
    assert client.get("/api/v1/learning", params={"weeks": "x"}).status_code == 422
    unknown = client.post("/api/v1/learning/confirm", json={"kind": "travel_factor", "key": "R9"})
    assert unknown.status_code == 404
    assert client.delete("/api/v1/learning/travel_factor/R1").status_code == 404
    assert store.learned.all() == []


def test_the_api_lists_confirms_and_withdraws(client: TestClient, store: Store) -> None:
    week_in_the_field(store)
    listed = client.get("/api/v1/learning", params=FEW).json()
    (rep,) = listed["reps"]
    assert (rep["drives"], rep["estimate"]["observations"]) == (5, 5)
    assert rep["in_force"] is None
    accounts = {a["account_id"]: a for a in listed["accounts"]}
    assert accounts["A1"]["actual_s"] == 2400
    body = {"kind": "visit_seconds", "key": "A1", "min_visits": 3}
    confirmed = client.post("/api/v1/learning/confirm", json=body)
    assert confirmed.status_code == 200, confirmed.text
    assert round(confirmed.json()["value"]) == 2400
    again = client.get("/api/v1/learning", params=FEW).json()
    in_force = {a["account_id"]: a["in_force"] for a in again["accounts"]}
    assert round(in_force["A1"]["value"]) == 2400
    assert client.delete("/api/v1/learning/visit_seconds/A1").status_code == 204
    assert store.learned.all() == []


def test_reps_and_anonymous_are_refused(anon_client: TestClient, store: Store) -> None:
    week_in_the_field(store)
    assert anon_client.get("/learning", follow_redirects=False).status_code == 303
    assert anon_client.get("/api/v1/learning").status_code == 401
    add_user(store, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    assert anon_client.get("/learning").status_code == 403
    assert anon_client.get("/api/v1/learning").status_code == 403
    form = {**FEW, "kind": "travel_factor", "key": "R1"}
    assert anon_client.post("/learning/confirm", data=form).status_code == 403
    body = {"kind": "travel_factor", "key": "R1", "min_drives": 3}
    assert anon_client.post("/api/v1/learning/confirm", json=body).status_code == 403
    assert 'href="/learning"' not in anon_client.get("/route").text
    assert store.learned.all() == []


def test_forms_need_the_csrf_token(client: TestClient, store: Store) -> None:
    week_in_the_field(store)
    del client.headers["X-CSRF-Token"]
    form = {**FEW, "kind": "travel_factor", "key": "R1"}
    assert client.post("/learning/confirm", data=form).status_code == 403
    assert (
        client.post("/api/v1/learning/confirm", json={**form, "min_drives": 3}).status_code == 403
    )
    assert store.learned.all() == []
