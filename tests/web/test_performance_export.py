"""CSV and XLSX exports of every performance table and of an account's history: the same
figures as ``GET /api/v1/performance``, text that a spreadsheet shows but never runs, and the
page's scope (a rep exports only their own)."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from routeplanner.model.history import OwnershipCause
from routeplanner.model.territory import Territory
from routeplanner.services.performance_export import DASHBOARD_TABLES, GROUP_COLUMNS
from routeplanner.storage import Store
from tests.conftest import log_in
from tests.web.test_performance_dashboard import MONTH, world

__all__ = ["world"]

FIGURES = {
    "planned": "planned", "done": "done", "missed": "missed", "cancelled": "cancelled",
    "due": "due", "coverage": "coverage", "coverage_on_time": "coverage_on_time",
    "adherence": "adherence", "overdue": "overdue", "drive_share": "drive_share",
    "revenue": "revenue", "revenue_per_visit": "revenue_per_visit",
    "order_value": "order_value", "new_accounts": "new_accounts", "accounts": "accounts",
}  # fmt: skip
"""Export column: the API's ``current`` figure it repeats."""


def _export(client: TestClient, table: str, file_format: str = "csv") -> Any:
    params = {"table": table, "month": str(MONTH), "format": file_format}
    response = client.get("/performance/export", params=params)
    assert response.status_code == 200, response.text
    assert f"performance-{table}-{MONTH}.{file_format}" in response.headers["content-disposition"]
    return response


def _csv(client: TestClient, table: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_export(client, table).text)))


def _number(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_csv_tables_equal_the_api(client: TestClient, world: Store) -> None:
    body = client.get("/api/v1/performance", params={"month": str(MONTH)}).json()
    groups = {g["id"]: g for g in body["groups"]}
    for table, scope in (("territories", "territory"), ("reps", "rep")):
        rows = _csv(client, table)
        assert [r["id"] for r in rows] == [g["id"] for g in body["groups"] if g["scope"] == scope]
        for row in rows:
            g = groups[row["id"]]
            assert row["name"] == g["name"]
            for column, figure in FIGURES.items():
                want = g["current"][figure]
                assert _number(row[column]) == (None if want is None else float(want)), column
            assert _number(row["revenue_target"]) == g["target"]["revenue"]
            assert _number(row["revenue_vs_target"]) == g["revenue_vs_target"]
            assert _number(row["previous_revenue"]) == g["previous"]["revenue"]
            assert row["flag"] == (g["flag"]["kind"] if g["flag"] else "")
    assert [r["territory_id"] for r in _csv(client, "ranking")] == body["ranking"]
    weeks = _csv(client, "weeks")
    assert [(w["week_start"], int(w["done"]), int(w["missed"])) for w in weeks] == [
        (w["start"], w["done"], w["missed"]) for w in body["weeks"]
    ]
    classes = {(r["territory_id"], r["value_class"]): r for r in _csv(client, "classes")}
    for key in ("T1", "T2"):
        for value_class, (revenue, potential) in groups[key]["current"]["by_class"].items():
            row = classes[(key, value_class)]
            assert (_number(row["revenue"]), _number(row["potential"])) == (revenue, potential)
    targets = {(r["scope"], r["id"]): r for r in _csv(client, "targets")}
    for g in body["groups"]:
        row = targets[(g["scope"], g["id"])]
        assert _number(row["revenue"]) == g["target"]["revenue"]
        assert _number(row["coverage"]) == g["target"]["coverage"]
    assert set(DASHBOARD_TABLES) == {
        "territories",
        "reps",
        "ranking",
        "classes",
        "weeks",
        "targets",
    }


def test_xlsx_has_the_csv_figures_as_numbers(client: TestClient, world: Store) -> None:
    rows = _csv(client, "territories")
    data = _export(client, "territories", "xlsx").content
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == list(GROUP_COLUMNS)
    for row, cells in zip(rows, values[1:], strict=True):
        found = dict(zip(GROUP_COLUMNS, cells, strict=True))
        assert found["id"] == row["id"]
        # an XLSX number keeps 15 to 17 significant digits
        assert found["revenue"] == pytest.approx(_number(row["revenue"]), rel=1e-14)
        assert found["coverage"] == pytest.approx(_number(row["coverage"]), rel=1e-14)


def test_a_formula_in_a_name_is_shown_not_run(client: TestClient, world: Store) -> None:
    evil = '=HYPERLINK("http://example.com","x")'
    renamed = Territory(territory_id="T1", name=evil, rep_id="R1", account_ids=("A1",))
    world.territories.save([renamed], cause=OwnershipCause.MANUAL)
    text = _export(client, "territories").text
    assert "'" + evil.replace('"', '""') in text
    assert "\n" + "T1," + '"=' not in text
    row = next(r for r in _csv(client, "territories") if r["id"] == "T1")
    assert row["name"] == "'" + evil
    sheet = openpyxl.load_workbook(io.BytesIO(_export(client, "territories", "xlsx").content))
    cells = {c.value: c for r in sheet.active.iter_rows() for c in r if c.value == evil}
    assert cells
    assert all(c.data_type == "s" for c in cells.values())


def test_a_rep_exports_only_their_own(anon_client: TestClient, world: Store) -> None:
    log_in(anon_client, "juergen")
    assert [r["id"] for r in _csv(anon_client, "territories")] == ["T1"]
    assert [r["id"] for r in _csv(anon_client, "reps")] == ["R1"]
    assert {r["id"] for r in _csv(anon_client, "targets")} == {"T1", "R1"}
    own = anon_client.get("/accounts/A1/export", params={"table": "visits"})
    assert own.status_code == 200
    other = anon_client.get("/accounts/A3/export", params={"table": "visits"})
    assert other.status_code in (403, 404)
    assert "day,rep_id" not in other.text  # an error page, never the history


@pytest.mark.parametrize(
    ("params", "field"),
    [({"table": "nope"}, "table"), ({"table": "reps", "format": "pdf"}, "format")],
)
def test_unknown_table_or_format_is_refused(
    client: TestClient, world: Store, params: dict[str, str], field: str
) -> None:
    response = client.get("/performance/export", params=params)
    assert response.status_code == 422
    assert field in response.text


def test_account_history_and_revenue(client: TestClient, world: Store) -> None:
    visits = client.get("/accounts/A1/export", params={"table": "visits"})
    assert visits.status_code == 200
    rows = list(csv.DictReader(io.StringIO(visits.text)))
    assert {r["status"] for r in rows} >= {"done", "missed"}
    assert any(_number(r["order_value"]) == 250.0 for r in rows)
    revenue = client.get("/accounts/A2/export", params={"table": "revenue", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(revenue.content)).active
    assert (str(MONTH), 600.0) in list(sheet.iter_rows(values_only=True))
