"""The performance page and API answer from the web answer cache: every change the figures
depend on — a visit reported, a sales import, a target, a territory renamed — shows on the next
request, and a rep's narrowed read gives exactly the manager's figures for the same rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from routeplanner.io.tables import read_table_bytes
from routeplanner.model.history import OwnershipCause, VisitRecord, VisitStatus
from routeplanner.model.performance import Target, TargetScope
from routeplanner.model.territory import Territory
from routeplanner.services import sales
from routeplanner.services.scope import Scope
from routeplanner.storage import Store
from tests.conftest import log_in
from tests.web.test_performance_dashboard import MONTH, world

__all__ = ["world"]


def _groups(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/performance", params={"month": str(MONTH)})
    assert response.status_code == 200, response.text
    return {g["id"]: g for g in response.json()["groups"]}


def _t1_row(client: TestClient) -> str:
    html = client.get("/performance", params={"month": str(MONTH)}).text
    row = html[html.index('data-id="T1"') :]
    return row[: row.index("</tr>")]


def test_each_change_shows_on_the_next_request(client: TestClient, world: Store) -> None:
    assert _groups(client)["T1"]["current"]["done"] == 6
    assert 'data-kpi="done">6 ' in _t1_row(client)
    day = date(MONTH.first.year, MONTH.first.month, 3)
    world.visits.record(VisitRecord(account_id="A1", rep_id="R1", day=day, status=VisitStatus.DONE))
    assert _groups(client)["T1"]["current"]["done"] == 7
    assert 'data-kpi="done">7 ' in _t1_row(client)

    csv = f"account_id,month,revenue\nA1,{MONTH},5000\n"
    sales.import_sales(
        world, read_table_bytes(csv.encode(), source="again.csv"), Scope.everything()
    )
    assert _groups(client)["T1"]["current"]["revenue"] == 5000.0
    assert "5,000" in _t1_row(client)

    target = Target(scope=TargetScope.TERRITORY, scope_id="T1", period=MONTH.first, revenue=9000)
    with world.transaction() as tx:
        tx.targets.save([target])
    assert _groups(client)["T1"]["target"]["revenue"] == 9000.0
    assert "9,000" in _t1_row(client)

    renamed = Territory(territory_id="T1", name="Nordost", rep_id="R1", account_ids=("A1",))
    world.territories.save([renamed], cause=OwnershipCause.MANUAL)
    assert _groups(client)["T1"]["name"] == "Nordost"


def test_a_reps_narrowed_figures_equal_the_managers(
    client: TestClient, anon_client: TestClient, world: Store
) -> None:
    everyone = _groups(client)
    log_in(anon_client, "juergen")
    own = _groups(anon_client)
    assert set(own) == {"T1", "R1"}
    for key, group in own.items():
        assert group == everyone[key]
    log_in(anon_client, "anna")
    own = _groups(anon_client)
    assert set(own) == {"T2", "R2"}
    for key, group in own.items():
        assert group == everyone[key]
