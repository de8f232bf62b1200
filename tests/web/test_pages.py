"""The first page and the JSON API over real HTTP handling, a real SQLite file and real roads."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.osm


def test_index_lists_reps_and_accounts_with_snap_status(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert '<meta charset="utf-8">' in html
    assert "Bäckerei Müller" in html
    assert "Jürgen Weiß" in html
    assert 'data-account="A3"' in html
    # A3 lies ~40 km from the extract: it must be flagged, the others snapped within metres
    a3_row = html.split('data-account="A3"')[1].split("</tr>")[0]
    assert "unreachable" in a3_row
    a1_row = html.split('data-account="A1"')[1].split("</tr>")[0]
    assert "unreachable" not in a1_row
    assert "1 point(s) farther than 1000 m" in html


def test_api_accounts_carry_snap(client: TestClient) -> None:
    data = client.get("/api/v1/accounts").json()
    by_id = {a["id"]: a for a in data}
    assert by_id["A1"]["name"] == "Bäckerei Müller"
    assert by_id["A1"]["snap"]["reachable"] is True
    assert by_id["A1"]["snap"]["distance_m"] < 200
    assert by_id["A3"]["snap"]["reachable"] is False
    assert by_id["A2"]["frequency"] == "every 2 weeks"
    assert by_id["A2"]["min_gap_days"] == 10


def test_api_reps(client: TestClient) -> None:
    (rep,) = client.get("/api/v1/reps").json()
    assert rep["id"] == "R1"
    assert rep["working_hours"] == "Mo-Fr 08:00-17:00"
    assert rep["snap"]["reachable"] is True


def test_unknown_account_uses_the_error_format(client: TestClient) -> None:
    response = client.get("/api/v1/accounts/NOPE")
    assert response.status_code == 404
    assert response.json() == {"error": "account 'NOPE' not found", "errors": []}


def test_unknown_page_renders_error_page(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert "Error 404" in response.text


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health == {"status": "ok", "version": health["version"]}
    ready = client.get("/api/ready").json()  # database and road network: tests/web/test_health
    assert ready["status"] == "ready"
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/accounts" in schema["paths"]
