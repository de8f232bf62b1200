"""Moving accounts by hand over real HTTP: the API's dry run and apply, the page's list
fallback (no JavaScript), ownership history, and every kind of bad selection refused whole."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services import territories as territory_service
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.scope import Scope
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from tests.conftest import form_csrf
from tests.web.test_territories_page import nearest_home_split, owners, territory_region

pytestmark = pytest.mark.osm
HOSTILE = '<img src=x onerror="alert(1)">'
"""The name of one account: it must reach the page escaped."""


@pytest.fixture
def store(settings: Settings) -> Store:
    """The territories page's region; one account named hostile markup, one requiring a
    qualification only the third rep has, one locked to its rep, and the split by nearest
    home."""
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = territory_region()
    split = nearest_home_split(accounts, reps)
    first = split[0].account_ids
    special = {
        first[0]: {"name": HOSTILE},
        first[1]: {"required_qualifications": frozenset({"gas"})},
        first[2]: {"locked_rep_id": split[0].rep_id},
    }
    accounts = [replace(a, **special.get(a.account_id, {})) for a in accounts]
    reps[2] = replace(reps[2], qualifications=frozenset({"gas"}))
    replace_accounts_and_reps(store, accounts, reps, source="test")
    store.territories.save(split, cause=OwnershipCause.IMPORT, user="seed", replace_all=True)
    return store


def _split(store: Store) -> list[Territory]:
    return store.territories.all()


def _post(client: TestClient, **body: Any) -> Any:
    return client.post("/api/v1/territories/moves", json=body)


def test_dry_run_answers_figures_and_stores_nothing(client: TestClient, store: Store) -> None:
    before = _split(store)
    source, target = before[0], before[1]
    picked = [a for a in source.account_ids if a != "A3"][3:5]
    response = _post(client, account_ids=picked, target_territory=target.territory_id, dry_run=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["applied"] is False
    assert [m["account_id"] for m in body["moves"]] == picked
    assert {m["from_rep"] for m in body["moves"]} == {source.rep_id}
    assert {m["to_rep"] for m in body["moves"]} == {target.rep_id}
    rows_before = {t["territory_id"]: t for t in body["before"]["kpis"]["territories"]}
    rows_after = {t["territory_id"]: t for t in body["after"]["kpis"]["territories"]}
    assert rows_after[target.territory_id]["accounts"] == rows_before[target.territory_id][
        "accounts"
    ] + len(picked)
    assert rows_after[source.territory_id]["accounts"] == rows_before[source.territory_id][
        "accounts"
    ] - len(picked)
    # the summary figures are the split's KPIs
    for side in ("before", "after"):
        figures = body[side]
        assert figures["max_workload_dev_pct"] == figures["kpis"]["max_workload_dev_pct"]
        assert figures["enclave_accounts"] == figures["kpis"]["contiguity_violations"]
        assert figures["drive_h"] > 0
    assert body["after"]["max_workload_dev_pct"] != body["before"]["max_workload_dev_pct"]
    # the account requiring "gas" already sits with a rep lacking it
    gas = before[0].account_ids[1]
    assert body["before"]["qualification_conflicts"] == [gas]
    assert _split(store) == before
    assert body["before"]["kpis"] == client.get("/api/v1/territories").json()["summary"]


def test_apply_stores_moves_with_history(client: TestClient, store: Store) -> None:
    before = _split(store)
    source, target = before[0], before[1]
    picked = [a for a in source.account_ids if a != "A3"][3:5]
    body = _post(client, account_ids=picked, target_territory=target.territory_id).json()
    assert body["applied"] is True
    after = owners(_split(store))
    assert all(after[a] == target.rep_id for a in picked)
    unchanged = {a: r for a, r in owners(before).items() if a not in picked}
    assert {a: after[a] for a in unchanged} == unchanged
    for aid in picked:
        last = territory_service.history(store, aid)[-1]
        assert last.cause == OwnershipCause.MANUAL
        assert last.changed_by == "boss"
        assert last.territory_id == target.territory_id
        assert aid in last.detail
    # moving them again is no move: nothing stored, said so
    again = _post(client, account_ids=picked, target_territory=target.territory_id).json()
    assert again["moves"] == []
    assert again["already_there"] == picked
    assert again["applied"] is False


def test_unqualified_rep_is_allowed_but_reported(client: TestClient, store: Store) -> None:
    before = _split(store)
    gas = before[0].account_ids[1]
    body = _post(client, account_ids=[gas], target_territory=before[1].territory_id).json()
    assert body["applied"] is True
    assert body["unqualified"] == [{"account_id": gas, "lacking": ["gas"]}]
    assert body["after"]["qualification_conflicts"] == [gas]
    assert body["after"]["kpis"] is not None
    assert owners(_split(store))[gas] == before[1].rep_id
    # to the rep holding it: the conflict is gone
    fixed = _post(client, account_ids=[gas], target_territory=before[2].territory_id).json()
    assert fixed["unqualified"] == []
    assert fixed["before"]["qualification_conflicts"] == [gas]
    assert fixed["after"]["qualification_conflicts"] == []


@pytest.mark.parametrize(
    ("make", "field", "needle"),
    [
        (lambda s: {"account_ids": ["NOPE", "<x>"]}, "account_ids", "no account 'NOPE'"),
        (lambda s: {"target_territory": "T-NONE"}, "target_territory", "no territory 'T-NONE'"),
        (lambda s: {"account_ids": [s[0].account_ids[2]]}, "account_ids", "is locked to rep"),
        (lambda s: {"account_ids": []}, "account_ids", ""),
        (lambda s: {"account_ids": ["x" * 201]}, "account_ids", ""),
        (lambda s: {"dry_run": "perhaps"}, "dry_run", ""),
    ],
)
def test_bad_selection_is_refused_whole(
    client: TestClient, store: Store, make: Any, field: str, needle: str
) -> None:
    before = _split(store)
    body = {
        "account_ids": [before[0].account_ids[4]],
        "target_territory": before[1].territory_id,
        **make(before),
    }
    response = _post(client, **body)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(field in e["field"] for e in errors), errors
    if needle:
        assert any(needle in e["message"] for e in errors), errors
    if body["account_ids"] == ["NOPE", "<x>"]:
        assert len(errors) == 2  # every unknown id named at once
    assert _split(store) == before


def test_locked_territories_are_refused(client: TestClient, store: Store) -> None:
    before = _split(store)
    territory_service.set_lock(
        store, before[1].territory_id, True, user="boss", scope=Scope.everything()
    )
    locked = _split(store)
    into = _post(
        client, account_ids=[before[0].account_ids[4]], target_territory=before[1].territory_id
    )
    assert into.status_code == 422
    assert "is locked; unlock it first" in into.text
    out = _post(
        client, account_ids=[before[1].account_ids[0]], target_territory=before[2].territory_id
    )
    assert out.status_code == 422
    assert f"is in locked territory {before[1].territory_id}" in out.text
    assert _split(store) == locked


def test_anonymous_and_without_csrf(anon_client: TestClient, store: Store) -> None:
    response = anon_client.post(
        "/api/v1/territories/moves", json={"account_ids": ["A1"], "target_territory": "T-R1"}
    )
    assert response.status_code == 401
    page = anon_client.post("/territories/moves", data={}, follow_redirects=False)
    assert page.status_code in (303, 403)


def test_page_list_fallback_previews_and_applies(client: TestClient, store: Store) -> None:
    before = _split(store)
    source, target = before[0], before[1]
    picked = [a for a in source.account_ids if a != "A3"][3:5]
    html = client.get("/territories").text
    assert 'id="move-form"' in html
    assert html.count('name="account_ids"') == 18  # every account, A3 (off the map) too
    assert "<img src=x" not in html  # the hostile name, escaped in the list and the map
    assert "&lt;img src=x onerror=" in html
    assert "territory_map.js" in html
    csrf = form_csrf(html)
    form = {
        "csrf_token": csrf,
        "target_territory": target.territory_id,
        "account_ids": picked,
        "action": "preview",
    }
    preview = client.post("/territories/moves", data=form)
    assert preview.status_code == 200
    text = preview.text
    assert 'id="move-figures"' in text
    assert "Max workload deviation" in text
    assert "Qualification conflicts" in text
    for aid in picked:  # still ticked, and ringed on the map
        assert f'value="{aid}" id="move-' in text
        assert f'class="account selected" data-account="{aid}"' in text
    assert text.count(" checked>") == len(picked)
    assert "script-src 'self'" in preview.headers["content-security-policy"]
    assert _split(store) == before
    applied = client.post(
        "/territories/moves", data={**form, "action": "apply"}, follow_redirects=False
    )
    assert applied.status_code == 303
    assert applied.headers["location"] == "/territories?moved=2#territory-move"
    assert "Moved 2 accounts" in client.get(applied.headers["location"]).text
    assert all(owners(_split(store))[a] == target.rep_id for a in picked)
    bad = client.post("/territories/moves", data={**form, "account_ids": ["NOPE"]})
    assert bad.status_code == 422
    assert "no account" in bad.text
