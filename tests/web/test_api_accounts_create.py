"""``POST /api/v1/accounts``: accounts added over HTTP through the importer's own validation and
assigned to territories (rule, else best fit) as the accounts page's upload does."""

from __future__ import annotations

import html
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import new_api_token
from routeplanner.model import GeoPoint, Rep
from routeplanner.model.history import OwnershipCause
from routeplanner.model.territory import Territory
from routeplanner.storage import Store
from tests.conftest import add_user, log_in

pytestmark = pytest.mark.osm
URL = "/api/v1/accounts"


def _row(account_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": account_id,
        "name": f"Kunde {account_id}",
        "lat": 49.4100,
        "lon": 8.6930,
        "frequency": "weekly",
        **extra,
    }


def _territories(store: Store) -> None:
    store.reps.upsert(
        [
            Rep(
                rep_id="R2",
                name="Anna Schäfer",
                home=GeoPoint(49.4120, 8.7100),
                working_hours=store.reps.all()[0].working_hours,
            )
        ],
        source="test",
    )
    store.territories.save(
        [
            Territory(territory_id="T1", name="West", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Ost", rep_id="R2", account_ids=("A3",)),
        ],
        cause=OwnershipCause.IMPORT,
        user="seed",
        replace_all=True,
    )


def _ids(store: Store) -> list[str]:
    return sorted(a.account_id for a in store.accounts.all())


def test_accounts_are_created_without_territories(client: TestClient, store: Store) -> None:
    rows = [
        _row("N1", visit_minutes=45, category="bakery", postcode=69117),
        _row("N2", frequency="every 2 weeks", opening_hours="Mo-Fr 08:00-18:00"),
    ]
    response = client.post(URL, json={"accounts": rows})
    assert response.status_code == 201, response.text
    body = response.json()
    assert [a["account"]["id"] for a in body["accounts"]] == ["N1", "N2"]
    first = body["accounts"][0]
    assert first["account"]["name"] == "Kunde N1"
    assert first["account"]["visit_minutes"] == 45
    assert (first["territory_id"], first["rep_id"]) == (None, None)
    assert first["reason"] == "no territories stored"
    assert (body["assigned"], body["balance"], body["suggest_realignment"]) == (0, [], False)
    assert _ids(store) == ["A1", "A2", "A3", "N1", "N2"]
    stored = store.accounts.get("N1")
    assert stored is not None
    assert (stored.postcode, stored.category, stored.visit_duration_s) == ("69117", "bakery", 2700)


def test_new_accounts_are_assigned_with_reason_and_balance(
    client: TestClient, store: Store
) -> None:
    _territories(store)
    rule = {"id": "bak", "territory": "T2", "criteria": [{"field": "category", "values": ["x"]}]}
    assert client.put("/api/v1/rules", json={"rules": [rule]}).status_code == 200
    rows = [_row("N1", category="x"), _row("N2", lat=49.4095, lon=8.6935)]
    response = client.post(URL, json={"accounts": rows})
    assert response.status_code == 201, response.text
    body = response.json()
    by_id = {a["account"]["id"]: a for a in body["accounts"]}
    assert (by_id["N1"]["territory_id"], by_id["N1"]["rep_id"]) == ("T2", "R2")
    assert by_id["N1"]["reason"] == "rule bak: category = x"
    assert by_id["N1"]["assignment"]["cause"] == "rule"
    assert (by_id["N2"]["territory_id"], by_id["N2"]["rep_id"]) == ("T1", "R1")
    assert by_id["N2"]["assignment"]["cause"] == "best_fit"
    assert by_id["N2"]["reason"] == "nearest territory with spare capacity"
    ownership = client.get("/api/v1/accounts/N1/ownership").json()
    current = ownership["current"]
    assert (current["cause"], current["reason"], current["changed_by"]) == (
        "import",
        "rule bak: category = x",
        "boss",
    )
    assert body["assigned"] == 2
    assert {b["territory_id"] for b in body["balance"]} == {"T1", "T2"}
    assert isinstance(body["suggest_realignment"], bool)
    territories = {t.territory_id: t for t in store.territories.all()}
    assert "N1" in territories["T2"].account_ids
    assert "N2" in territories[by_id["N2"]["territory_id"]].account_ids
    assert "A1" in territories["T1"].account_ids  # existing accounts never move


def test_every_problem_named_by_row_and_field_and_nothing_stored(
    client: TestClient, store: Store
) -> None:
    rows = [
        _row("N1", lat="north", visit_minutes=-5),
        {"id": "N2", "name": "Ohne Frequenz", "lat": 49.41, "lon": 8.69, "frequency": ""},
        _row("N1"),
        _row("A1"),
    ]
    response = client.post(URL, json={"accounts": rows})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid input"
    found = [(e["row"], e["field"], e["message"]) for e in body["errors"]]
    assert found == [
        (1, "lat", "'north' is not a number"),
        (1, "visit_minutes", "must be more than 0 minutes, got -5"),
        (2, "frequency", "missing value"),
        (3, "id", "duplicate id 'N1' (first used in row 1)"),
        (4, "id", "account 'A1' already exists; change it with PATCH"),
    ]
    assert all(e["source"] == "request" for e in body["errors"])
    assert _ids(store) == ["A1", "A2", "A3"]


def test_messages_match_a_file_import(client: TestClient, store: Store) -> None:
    """The same bad cell gives the same message as the page's CSV upload."""
    csv = "id,name,lat,lon,frequency\nN1,Kunde,north,8.69,weekly\n"
    page = client.post("/accounts/import", files={"file": ("k.csv", csv.encode(), "text/csv")})
    assert page.status_code == 422
    api = client.post(URL, json={"accounts": [_row("N1", lat="north", lon=8.69)]})
    (error,) = api.json()["errors"]
    assert error["field"] == "lat"
    assert error["row"] == 1
    assert error["message"] == "'north' is not a number"
    assert error["message"] in html.unescape(page.text)


def test_unknown_and_clashing_keys(client: TestClient, store: Store) -> None:
    rows = [_row("N1"), _row("N2", preferd_days="Mo")]
    response = client.post(URL, json={"accounts": rows})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["row"], error["field"]) == (2, "preferd_days")
    assert error["message"] == (
        "unknown column (did you mean 'preferred_days'?); rename it or prefix it with 'x_' "
        "to ignore it"
    )
    clash = client.post(URL, json={"accounts": [{**_row("N3"), "Name": "Zwei"}]})
    assert clash.status_code == 422
    assert clash.json()["errors"] == [
        {
            "field": "name",
            "message": "keys 'name' and 'Name' name the same column",
            "source": "request",
            "row": 1,
        }
    ]
    ignored = client.post(URL, json={"accounts": [{**_row("N4"), "x_crm": 17}]})
    assert ignored.status_code == 201
    assert _ids(store) == ["A1", "A2", "A3", "N4"]


def test_missing_required_column_and_bad_body(client: TestClient, store: Store) -> None:
    response = client.post(URL, json={"accounts": [{"id": "N1", "name": "X", "lat": 1}]})
    assert response.status_code == 422
    missing = {(e["field"], e["message"], e["row"]) for e in response.json()["errors"]}
    assert missing == {
        ("lon", "required column is missing", None),
        ("frequency", "required column is missing", None),
    }
    empty = client.post(URL, json={"accounts": []})
    assert empty.status_code == 422
    assert empty.json()["error"] == "invalid request"
    nested = client.post(URL, json={"accounts": [{"id": ["N1"]}]})
    assert nested.status_code == 422
    assert _ids(store) == ["A1", "A2", "A3"]


def test_reps_and_anonymous_callers_are_refused(anon_client: TestClient, store: Store) -> None:
    body = {"accounts": [_row("N1")]}
    anonymous = anon_client.post(URL, json=body)
    assert anonymous.status_code == 401
    add_user(store, "juergen", role="rep", rep_id="R1")
    user = store.users.find("juergen")
    assert user is not None
    bearer = {"Authorization": f"Bearer {new_api_token(store, user, label='t')}"}
    response = anon_client.post(URL, json=body, headers=bearer)
    assert response.status_code == 403
    assert response.json() == {"error": "only managers may do this", "errors": []}
    log_in(anon_client, "juergen")
    assert anon_client.post(URL, json=body).status_code == 403
    assert _ids(store) == ["A1", "A2", "A3"]


def test_manager_token_without_csrf_and_session_without_csrf(
    client: TestClient, store: Store
) -> None:
    del client.headers["X-CSRF-Token"]
    refused = client.post(URL, json={"accounts": [_row("N1")]})
    assert refused.status_code == 403
    boss = store.users.find("boss")
    assert boss is not None
    bearer = {"Authorization": f"Bearer {new_api_token(store, boss, label='t')}"}
    client.cookies.clear()
    accepted = client.post(URL, json={"accounts": [_row("N1")]}, headers=bearer)
    assert accepted.status_code == 201, accepted.text
    assert _ids(store) == ["A1", "A2", "A3", "N1"]
