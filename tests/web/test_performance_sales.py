"""Sales figures over real HTTP: the performance page's upload and ``POST /api/v1/sales``
store a good file, list every problem of a bad one and store nothing, and are for managers
only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from routeplanner.storage import Store
from tests.conftest import add_user, log_in

GOOD = b"account_id,month,revenue,order_count\nA1,2026-03,1200,3\nA2,2026-03,80,\n"
BAD = b"account_id,month,revenue\nA1,2026-03,5\nA7,2026-03,<b>1</b>\nA8,2026-04,2\n"


def _upload(client: TestClient, name: str, data: bytes) -> tuple[int, str]:
    response = client.post("/performance/sales", files={"file": (name, data, "text/csv")})
    return response.status_code, response.text


def test_upload_stores_and_lists_the_month(client: TestClient, store: Store) -> None:
    status, html = _upload(client, "umsatz.csv", GOOD)
    assert status == 200, html
    assert "Imported umsatz.csv: 2 sales rows for 2026-03 (replacing 0)." in html
    assert '<td>2026-03</td><td class="num">1,280</td><td class="num">2</td>' in html
    status, html = _upload(client, "falsch.csv", BAD)
    assert status == 422
    assert "falsch.csv:3: revenue: &#39;&lt;b&gt;1&lt;/b&gt;&#39; is not a number" in html
    assert "<b>1</b>" not in html
    assert [f.revenue for f in store.sales.find()] == [1200.0, 80.0]
    unknown = b"account_id,month,revenue\nA1,2026-03,5\nA8,2026-04,2\n"
    status, html = _upload(client, "falsch.csv", unknown)
    assert (status, "falsch.csv:3: account_id: unknown account &#39;A8&#39;" in html) == (
        422,
        True,
    )
    assert [f.revenue for f in store.sales.find()] == [1200.0, 80.0]


def test_api_import_and_its_problems(client: TestClient, store: Store) -> None:
    rows = [
        {"account_id": "A1", "month": "2026-03", "revenue": 1200.5, "order_count": 3},
        {"account_id": "A2", "month": "2026-04", "revenue": "80", "product_line": "Tee"},
    ]
    response = client.post("/api/v1/sales", json={"rows": rows})
    assert response.status_code == 200, response.text
    assert response.json() == {"rows": 2, "periods": ["2026-03", "2026-04"], "replaced": 0}
    bad = [
        {"account_id": "A1", "month": "März", "revenue": 1},
        {"account_id": "ZZ", "month": "2026-03", "revenue": 2},
    ]
    response = client.post("/api/v1/sales", json={"rows": bad})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "source": "request",
            "row": 1,
            "field": "month",
            "message": "bad month 'März'; use YYYY-MM",
        },
    ]
    unknown = [{"account_id": "ZZ", "month": "2026-03", "revenue": 2}]
    response = client.post("/api/v1/sales", json={"rows": unknown})
    assert response.json()["errors"] == [
        {"source": "request", "row": 1, "field": "account_id", "message": "unknown account 'ZZ'"},
    ]
    assert len(store.sales.find()) == 2
    assert "/api/v1/sales" in client.get("/api/openapi.json").json()["paths"]


def test_reps_may_not_import_sales(anon_client: TestClient, store: Store) -> None:
    store.reps.upsert(store.reps.all(), source="test")
    add_user(store, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    page = anon_client.get("/performance")
    assert page.status_code == 200
    assert 'action="/performance/sales"' not in page.text
    assert _upload(anon_client, "umsatz.csv", GOOD)[0] == 403
    rows = [{"account_id": "A1", "month": "2026-03", "revenue": 1}]
    assert anon_client.post("/api/v1/sales", json={"rows": rows}).status_code == 403
    assert store.sales.find() == []
