"""Account locks (pin to a rep) and required qualifications on the accounts page and API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from routeplanner.storage import Store
from tests.web.bulk_edit import bulk_edit, preview

INLINE = {"frequency": "weekly", "visit_minutes": "30", "opening_hours": "Mo-Fr 08:00-18:00"}


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-account="([^"]+)"', html)


def test_page_shows_lock_and_requires_fields(client: TestClient) -> None:
    html = client.get("/accounts").text
    assert "<th>Locked to</th>" in html
    assert 'name="locked_rep" form="edit-1"' in html
    assert '<option value="R1">R1</option>' in html
    assert 'name="requires" form="edit-1"' in html
    assert 'name="lock_fields" value="1"' in html
    assert '<option value="-">no lock</option>' in html  # bulk


def test_inline_lock_and_qualifications_are_stored(client: TestClient, store: Store) -> None:
    form = {**INLINE, "locked_rep": "R1", "requires": "medical; Kühlkette"}
    response = client.post("/accounts/A1", data=form, follow_redirects=False)
    assert response.status_code == 303
    account = store.accounts.get("A1")
    assert account is not None
    assert account.locked_rep_id == "R1"
    assert account.required_qualifications == frozenset({"medical", "Kühlkette"})
    html = client.get("/accounts", params={"q": "A1"}).text
    assert '<option value="R1" selected>R1</option>' in html
    assert 'value="Kühlkette, medical"' in html
    # an edit that does not send the fields leaves them alone; "" clears
    assert client.post("/accounts/A1", data=INLINE).status_code == 200
    kept = store.accounts.get("A1")
    assert kept is not None
    assert kept.locked_rep_id == "R1"
    cleared = {**INLINE, "locked_rep": "", "requires": "", "lock_fields": "1"}
    assert client.post("/accounts/A1", data=cleared).status_code == 200
    after = store.accounts.get("A1")
    assert after is not None
    assert after.locked_rep_id is None
    assert after.required_qualifications == frozenset()


def test_lock_to_unknown_rep_is_a_field_error(client: TestClient, store: Store) -> None:
    before = store.accounts.get("A1")
    form = {**INLINE, "locked_rep": "R9", "frequency": "sometimes"}
    response = client.post("/accounts/A1", data=form)
    assert response.status_code == 422
    html = response.text
    assert 'data-errors="A1"' in html
    # every problem at once: the importer's and the unknown rep
    assert "<strong>frequency</strong>" in html
    assert "<strong>locked_rep</strong>: unknown rep &#39;R9&#39; (known reps: R1)" in html
    assert store.accounts.get("A1") == before


def test_bulk_lock_and_clear(client: TestClient, store: Store) -> None:
    data = {"ids": ["A1", "A2"], "locked_rep": "R1", "requires": "medical"}
    assert bulk_edit(client, data).status_code == 303
    for account_id in ("A1", "A2"):
        account = store.accounts.get(account_id)
        assert account is not None
        assert account.locked_rep_id == "R1"
        assert account.required_qualifications == frozenset({"medical"})
    a3 = store.accounts.get("A3")
    assert a3 is not None
    assert a3.locked_rep_id is None
    assert _ids(client.get("/accounts", params={"locked": "1"}).text) == ["A1", "A2"]
    # empty = unchanged: a bulk frequency edit keeps the locks
    assert bulk_edit(client, {"ids": ["A1"], "visit_minutes": "20"}).status_code == 303
    a1 = store.accounts.get("A1")
    assert a1 is not None
    assert a1.locked_rep_id == "R1"
    # "-" clears
    data = {"ids": ["A1"], "locked_rep": "-", "requires": "-"}
    assert bulk_edit(client, data).status_code == 303
    a1 = store.accounts.get("A1")
    assert a1 is not None
    assert a1.locked_rep_id is None
    assert a1.required_qualifications == frozenset()
    assert _ids(client.get("/accounts", params={"locked": "1"}).text) == ["A2"]


def test_bulk_lock_to_unknown_rep_stores_nothing(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    response = preview(client, {"ids": ["A1", "A3"], "locked_rep": "Nobody"})
    assert response.status_code == 422
    assert 'data-errors="A1"' in response.text
    assert 'data-errors="A3"' in response.text
    assert response.text.count("unknown rep &#39;Nobody&#39;") >= 2
    assert store.accounts.all() == before


def test_api_patch_lock_and_requires(client: TestClient, store: Store) -> None:
    response = client.patch("/api/v1/accounts/A2", json={"locked_rep": "R1", "requires": ["x"]})
    assert response.status_code == 200, response.text
    assert response.json()["locked_rep"] == "R1"
    assert response.json()["requires"] == ["x"]
    bad = client.patch("/api/v1/accounts/A2", json={"locked_rep": "R7"})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {
            "field": "locked_rep",
            "message": "unknown rep 'R7' (known reps: R1)",
            "source": "A2",
            "row": None,
        }
    ]
    cleared = client.patch("/api/v1/accounts/A2", json={"locked_rep": "", "requires": []})
    assert cleared.json()["locked_rep"] is None
    assert cleared.json()["requires"] == []
    account = store.accounts.get("A2")
    assert account is not None
    assert account.locked_rep_id is None
