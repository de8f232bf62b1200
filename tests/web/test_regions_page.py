"""The regions page and ``PUT /api/v1/regions``: every bad row named, nothing stored; an
admin's good file replaces the grouping."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.storage import Store


@pytest.fixture
def territories(store: Store) -> Store:
    store.territories.save(
        [
            Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Sued", rep_id=None, account_ids=("A3",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    return store


def test_api_names_every_bad_row_and_stores_nothing(client: TestClient, territories: Store) -> None:
    rows = [
        {"territory_id": "T1", "region_id": "NORD", "region_name": "Nordbaden"},
        {"territory_id": "T9", "region_id": "NORD"},
        {"territory_id": "T1", "region_id": "SUED"},
        {"territory_id": "T2", "region_id": ""},
    ]
    response = client.put("/api/v1/regions", json={"rows": rows})
    assert response.status_code == 422, response.text
    errors = [(e["row"], e["field"], e["message"]) for e in response.json()["errors"]]
    assert errors == [
        (2, "territory_id", "no territory 'T9'"),
        (3, "territory_id", "territory 'T1' is listed twice (first in row 1)"),
        (4, "region_id", "missing value"),
    ]
    assert territories.regions.all() == []
    good = [rows[0], {"territory_id": "T2", "region_id": "SUED", "region_name": "Sued"}]
    stored = client.put("/api/v1/regions", json={"rows": good})
    assert stored.status_code == 200, stored.text
    assert [(r["region_id"], r["territory_ids"]) for r in stored.json()] == [
        ("NORD", ["T1"]),
        ("SUED", ["T2"]),
    ]


def test_page_import_lists_each_problem_then_stores_a_good_file(
    client: TestClient, territories: Store
) -> None:
    bad = b"territory_id,region_id\nT1,NORD\nT9,NORD\n"
    page = client.post("/regions/import", files={"file": ("regions.csv", bad, "text/csv")})
    assert page.status_code == 422
    assert "regions.csv:3: territory_id: no territory &#39;T9&#39;" in page.text
    assert territories.regions.all() == []
    good = b"territory_id,region_id,region_name\nT1,NORD,Nordbaden\nT2,SUED,Suedbaden\n"
    done = client.post(
        "/regions/import", files={"file": ("regions.csv", good, "text/csv")}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(done.headers["location"])
    assert "2 regions imported" in page.text
    assert 'data-region="SUED"' in page.text
    assert client.get("/regions/export.csv").text == good.decode()
