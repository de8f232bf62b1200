"""Targets over real HTTP: the performance page's form and upload, ``GET``/``PUT
/api/v1/targets``, every problem listed with nothing stored, and a rep who sees only their
own targets and may set none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from routeplanner.storage import Store
from tests.conftest import log_in
from tests.web.rep_day_data import store_world, today

pytestmark = pytest.mark.osm


@pytest.fixture
def world(store: Store) -> Store:
    store_world(store, today())
    return store


def test_form_sets_a_target_and_shows_defaults(client: TestClient, world: Store) -> None:
    page = client.get("/performance?month=2026-04")
    assert page.status_code == 200
    # small_region: A1 weekly, A2 every 2 weeks, both class B (RP_CLASS_POTENTIAL B:1500)
    assert '<tr data-scope="territory" data-id="T1">' in page.text
    assert '<td class="num default">3,000</td>' in page.text
    data = {"target": "territory:T1", "month": "2026-04", "revenue": "4500", "coverage": "95"}
    saved = client.post("/performance/targets", data=data)
    assert saved.status_code == 200, saved.text
    assert "Saved the targets of territory T1 for 2026-04." in saved.text
    assert '<td class="num">4,500</td>' in saved.text
    assert '<td class="num">95 %</td>' in saved.text
    bad = {"target": "territory:T1", "month": "2026-04", "revenue": "viel", "coverage": "101"}
    refused = client.post("/performance/targets", data=bad)
    assert refused.status_code == 422
    assert "form:1: revenue: &#39;viel&#39; is not a number" in refused.text
    assert "form:1: coverage: must be 0 to 100, got 101" in refused.text
    assert [t.revenue for t in world.targets.find()] == [4500.0]


def test_upload_lists_every_problem(client: TestClient, world: Store) -> None:
    data = b"scope,id,month,visits_done\nterritory,T2,2026-04,12\nrep,R9,2026-04,3\n"
    response = client.post(
        "/performance/targets/upload", files={"file": ("ziele.csv", data, "text/csv")}
    )
    assert response.status_code == 422
    assert "ziele.csv:3: id: unknown rep &#39;R9&#39;" in response.text
    assert world.targets.find() == []
    good = b"scope,id,month,visits_done\nterritory,T2,2026-04,12\n"
    response = client.post(
        "/performance/targets/upload", files={"file": ("ziele.csv", good, "text/csv")}
    )
    assert "Imported ziele.csv: 1 targets." in response.text
    assert [t.visits_done for t in world.targets.find()] == [12]


def test_api_put_and_get(client: TestClient, world: Store) -> None:
    rows = [{"scope": "rep", "id": "R1", "month": "2026-04", "revenue": 7000, "new_accounts": 2}]
    response = client.put("/api/v1/targets", json={"rows": rows})
    assert response.status_code == 200, response.text
    (answer,) = response.json()
    assert (answer["id"], answer["revenue"], answer["new_accounts"]) == ("R1", 7000.0, 2)
    assert answer["defaults"] == ["coverage", "visits_done"]
    listed = client.get("/api/v1/targets", params={"month": "2026-04"}).json()
    assert [(t["scope"], t["id"]) for t in listed] == [
        ("territory", "T1"),
        ("territory", "T2"),
        ("rep", "R1"),
        ("rep", "R2"),
    ]
    assert client.get("/api/v1/targets", params={"month": "April"}).status_code == 422
    bad = client.put("/api/v1/targets", json={"rows": [{"scope": "rep", "id": "R7"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "month"


def test_a_rep_sees_only_their_own_and_sets_none(anon_client: TestClient, world: Store) -> None:
    log_in(anon_client, "juergen")
    page = anon_client.get("/performance?month=2026-04")
    assert 'data-id="T1"' in page.text
    assert 'data-id="R1"' in page.text
    assert 'data-id="T2"' not in page.text
    assert 'data-id="R2"' not in page.text
    assert 'id="target-form"' not in page.text
    listed = anon_client.get("/api/v1/targets", params={"month": "2026-04"}).json()
    assert {t["id"] for t in listed} == {"T1", "R1"}
    data = {"target": "territory:T1", "month": "2026-04", "revenue": "1"}
    assert anon_client.post("/performance/targets", data=data).status_code == 403
    rows = [{"scope": "rep", "id": "R1", "month": "2026-04", "revenue": 1}]
    assert anon_client.put("/api/v1/targets", json={"rows": rows}).status_code == 403
    assert world.targets.find() == []
