"""The manager accounts page: search, filter, sort, inline and bulk edits, import."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta

from fastapi.testclient import TestClient

from routeplanner.model import Territory, VisitRule
from routeplanner.model.history import OwnershipCause
from routeplanner.storage import Store
from tests.conftest import add_user, form_csrf, log_in
from tests.web.bulk_edit import bulk_edit, preview


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr data-account="([^"]+)"', html)


def _edit(client: TestClient, account_id: str, **fields: str) -> object:
    form = {"frequency": "weekly", "visit_minutes": "30", "opening_hours": "Mo-Fr 08:00-18:00"}
    form.update(fields)
    return client.post(f"/accounts/{account_id}", data=form, follow_redirects=False)


def test_lists_all_accounts_sorted_by_id(client: TestClient) -> None:
    response = client.get("/accounts")
    assert response.status_code == 200
    assert _ids(response.text) == ["A1", "A2", "A3"]
    assert 'href="/accounts"' in response.text  # nav link


def test_search_is_case_insensitive_and_handles_umlauts(client: TestClient) -> None:
    assert _ids(client.get("/accounts", params={"q": "MÜLLER"}).text) == ["A1"]
    assert _ids(client.get("/accounts", params={"q": "hauptstraße"}).text) == ["A1"]
    assert _ids(client.get("/accounts", params={"q": "a2"}).text) == ["A2"]
    assert _ids(client.get("/accounts", params={"q": "nothing like it"}).text) == []


def test_filters_by_category_territory_and_rep(client: TestClient, store: Store) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="Altstadt", rep_id="R1", account_ids=("A1", "A3"))],
        cause=OwnershipCause.MANUAL,
    )
    assert _ids(client.get("/accounts", params={"category": "pharmacy"}).text) == ["A2"]
    assert _ids(client.get("/accounts", params={"territory": "T1"}).text) == ["A1", "A3"]
    assert _ids(client.get("/accounts", params={"rep": "R1"}).text) == ["A1", "A3"]
    assert _ids(client.get("/accounts", params={"value_class": "A"}).text) == []


def test_sorts_by_column_both_ways(client: TestClient) -> None:
    assert _ids(client.get("/accounts", params={"sort": "name"}).text) == ["A2", "A1", "A3"]
    html = client.get("/accounts", params={"sort": "name", "desc": "1"}).text
    assert _ids(html) == ["A3", "A1", "A2"]
    assert _ids(client.get("/accounts", params={"sort": "visit", "desc": "1"}).text)[0] == "A2"


def test_inline_edit_stores(client: TestClient, store: Store) -> None:
    response = _edit(client, "A1", frequency="every 2 weeks", visit_minutes="45")
    assert response.status_code == 303  # type: ignore[attr-defined]
    account = store.accounts.get("A1")
    assert account is not None
    assert str(account.visit_rule) == "every 2 weeks"
    assert account.visit_duration_s == 45 * 60
    assert account.opening_hours.longest_s(5) == 0  # Saturday now closed
    assert account.name == "Bäckerei Müller"


def _rejected(client: TestClient, store: Store, field: str, **fields: str) -> str:
    before = store.accounts.get("A1")
    response = _edit(client, "A1", **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    html: str = response.text  # type: ignore[attr-defined]
    assert 'data-errors="A1"' in html
    assert f"<strong>{field}</strong>" in html
    assert store.accounts.get("A1") == before
    return html


def test_inline_edit_unknown_frequency(client: TestClient, store: Store) -> None:
    html = _rejected(client, store, "frequency", frequency="sometimes")
    assert "unknown frequency" in html


def test_inline_edit_bad_opening_hours(client: TestClient, store: Store) -> None:
    html = _rejected(client, store, "opening_hours", opening_hours="Mo 25:00-26:00")
    assert "opening hours" in html


def test_inline_edit_visit_longer_than_window(client: TestClient, store: Store) -> None:
    html = _rejected(
        client, store, "visit_minutes", visit_minutes="90", opening_hours="Mo-Fr 08:00-09:00"
    )
    assert "longer than every opening window" in html


def test_inline_edit_unknown_account_404(client: TestClient) -> None:
    assert _edit(client, "NOPE").status_code == 404  # type: ignore[attr-defined]


def test_bulk_edit_stores_all(client: TestClient, store: Store) -> None:
    data = {"ids": ["A1", "A2"], "visit_minutes": "20"}
    response = bulk_edit(client, data)
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == "/accounts?sort=id&page=1&saved=2+accounts+saved%2C+0+unchanged"
    )
    for account_id in ("A1", "A2"):
        account = store.accounts.get(account_id)
        assert account is not None
        assert account.visit_duration_s == 20 * 60
    a3 = store.accounts.get("A3")
    assert a3 is not None
    assert a3.visit_duration_s == 1800


def test_bulk_edit_is_all_or_nothing(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    # 11 hours fit the MAX_VISIT limit but no 10-hour opening window: every account fails
    data = {"ids": ["A1", "A2"], "visit_minutes": "660", "frequency": "weekly"}
    response = preview(client, data)
    assert response.status_code == 422
    assert 'data-errors="A1"' in response.text
    assert 'data-errors="A2"' in response.text
    assert response.text.count("longer than every opening window") >= 2
    assert store.accounts.all() == before


def test_bulk_edit_bad_frequency_stores_nothing(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    data = {"ids": ["A1", "A3"], "frequency": "fortnightly-ish", "visit_minutes": "20"}
    response = preview(client, data)
    assert response.status_code == 422
    assert "unknown frequency" in response.text
    assert store.accounts.all() == before


BAD_CSV = (
    "id,name,lat,lon,frequency,visit_minutes,opening_hours\n"
    "N1,Neu Eins,49.41,8.69,weekly,30,Mo-Fr 08:00-18:00\n"
    "N2,,49.41,8.69,sometimes,30,\n"
    "N3,Neu Drei,abc,8.69,weekly,30,Mo 25:00-26:00\n"
)
GOOD_CSV = (
    "id,name,lat,lon,frequency,visit_minutes\n"
    "A1,Bäckerei Müller neu,49.4106,8.6940,monthly,30\n"
    "N1,Neu Eins,49.41,8.69,weekly,30\n"
)


def test_bad_import_lists_every_problem_and_stores_nothing(
    client: TestClient, store: Store
) -> None:
    before = store.accounts.all()
    files = {"file": ("accounts.csv", BAD_CSV.encode(), "text/csv")}
    response = client.post("/accounts/import", files=files)
    assert response.status_code == 422
    html = response.text
    for expected in ("accounts.csv:3: name", "accounts.csv:3: frequency", "accounts.csv:4: lat"):
        assert expected in html
    assert "accounts.csv:4: opening_hours" in html
    assert store.accounts.all() == before


def test_good_import_stores_and_counts(client: TestClient, store: Store) -> None:
    files = {"file": ("accounts.csv", GOOD_CSV.encode(), "text/csv")}
    response = client.post("/accounts/import", files=files)
    assert response.status_code == 200
    assert "1 new, 1 changed" in response.text
    assert store.accounts.get("N1") is not None
    a1 = store.accounts.get("A1")
    assert a1 is not None
    assert a1.name == "Bäckerei Müller neu"


def test_rep_users_get_403(anon_client: TestClient, store: Store) -> None:
    add_user(store, "jw", role="rep", rep_id="R1")
    log_in(anon_client, "jw")
    assert anon_client.get("/accounts").status_code == 403
    assert _edit(anon_client, "A1").status_code == 403  # type: ignore[attr-defined]
    assert 'href="/accounts"' not in anon_client.get("/route").text


def test_post_without_csrf_is_403(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    del client.headers["X-CSRF-Token"]
    response = _edit(client, "A1", visit_minutes="45")
    assert response.status_code == 403  # type: ignore[attr-defined]
    token = form_csrf(client.get("/accounts").text)
    data = {"csrf_token": token, "frequency": "weekly", "visit_minutes": "45", "opening_hours": ""}
    assert client.post("/accounts/A1", data=data, follow_redirects=False).status_code == 303
    assert store.accounts.all() != before


def test_api_patch_updates_an_account(client: TestClient, store: Store) -> None:
    response = client.patch("/api/v1/accounts/A1", json={"frequency": "every 3 weeks"})
    assert response.status_code == 200, response.text
    assert response.json()["frequency"] == "every 3 weeks"
    account = store.accounts.get("A1")
    assert account is not None
    assert str(account.visit_rule) == "every 3 weeks"
    assert account.visit_duration_s == 1800


def test_api_patch_errors_use_the_one_format(client: TestClient, store: Store) -> None:
    before = store.accounts.all()
    body = {"frequency": "sometimes", "visit_minutes": 90, "opening_hours": "Mo 08:00-09:00"}
    response = client.patch("/api/v1/accounts/A1", json=body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"frequency", "visit_minutes"}
    assert all(e["message"] for e in response.json()["errors"])
    assert store.accounts.all() == before
    assert client.patch("/api/v1/accounts/NOPE", json={}).status_code == 404


def test_api_patch_needs_manager_and_csrf(anon_client: TestClient, store: Store) -> None:
    add_user(store, "boss")
    log_in(anon_client, "boss")
    token = anon_client.headers.pop("X-CSRF-Token")
    assert anon_client.patch("/api/v1/accounts/A1", json={"visit_minutes": 20}).status_code == 403
    anon_client.headers["X-CSRF-Token"] = token
    assert anon_client.patch("/api/v1/accounts/A1", json={"visit_minutes": 20}).status_code == 200
    assert anon_client.post("/logout", follow_redirects=False).status_code == 303
    del anon_client.headers["X-CSRF-Token"]
    add_user(store, "jw", role="rep", rep_id="R1")
    log_in(anon_client, "jw")
    assert anon_client.patch("/api/v1/accounts/A1", json={"visit_minutes": 25}).status_code == 403


def test_overdue_filter(client: TestClient, store: Store) -> None:
    a1 = store.accounts.get("A1")
    a2 = store.accounts.get("A2")
    assert a1 is not None
    assert a2 is not None
    today = date.today()
    store.accounts.upsert(
        [
            replace(a1, last_visit=today - timedelta(days=60)),  # weekly: long overdue
            replace(a2, last_visit=today - timedelta(days=2)),  # every 2 weeks: fine
        ],
        source="test",
    )
    html = client.get("/accounts", params={"overdue": "1"}).text
    assert _ids(html) == ["A1"]
    assert "overdue</span>" in html
    assert _ids(client.get("/accounts", params={"sort": "last_visit"}).text)[-1] == "A2"


def test_inline_edit_keeps_custom_gap_days(client: TestClient, store: Store) -> None:
    a1 = store.accounts.get("A1")
    assert a1 is not None
    custom = VisitRule.parse("weekly", min_gap_days=6, max_gap_days=9)
    store.accounts.upsert([replace(a1, visit_rule=custom)], source="test")
    assert _edit(client, "A1", visit_minutes="40").status_code == 303  # type: ignore[attr-defined]
    edited = store.accounts.get("A1")
    assert edited is not None
    assert (edited.visit_rule.min_gap_days, edited.visit_rule.max_gap_days) == (6, 9)
    assert edited.visit_duration_s == 40 * 60


def test_saving_returns_to_the_filtered_sorted_list_it_came_from(
    client: TestClient, store: Store
) -> None:
    listed = client.get("/accounts", params={"category": "pharmacy", "sort": "name", "desc": "1"})
    back = re.search(r'name="back" value="([^"]+)"', listed.text)
    assert back
    back_to = back.group(1).replace("&amp;", "&")
    assert back_to == "/accounts?category=pharmacy&sort=name&desc=1&page=1"
    row = _edit(client, "A2", visit_minutes="25", back=back_to)
    expected = back_to + "&saved=A2+saved"
    assert row.headers["location"] == expected  # type: ignore[attr-defined]
    assert _ids(client.get(expected).text) == ["A2"]
    bulk = bulk_edit(client, {"ids": ["A2"], "visit_minutes": "20", "back": back_to})
    assert bulk.headers["location"] == back_to + "&saved=1+accounts+saved%2C+0+unchanged"
    a2 = store.accounts.get("A2")
    assert a2 is not None
    assert a2.visit_duration_s == 20 * 60


def test_a_foreign_or_oversized_back_address_returns_to_the_plain_list(
    client: TestClient,
) -> None:
    for back in ("https://evil.example/accounts?q=A1", "/accounts?" + "q=x&" * 600):
        response = _edit(client, "A1", back=back)
        location: str = response.headers["location"]  # type: ignore[attr-defined]
        assert location.startswith("/accounts?")
        assert "evil" not in location
        assert "q=x" not in location
    odd = _edit(client, "A1", back="/accounts?sort=nope&page=-3&q=M%C3%BCller")
    assert odd.headers["location"] == "/accounts?q=M%C3%BCller&sort=id&page=1&saved=A1+saved"  # type: ignore[attr-defined]
