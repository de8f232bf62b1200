"""The assignment rules page and API over real HTTP: access, edits, uploads, dry run, apply.

A small region on a real SQLite file: the three ``small_region`` accounts (A1 bakery and A2
pharmacy in the Heidelberg Altstadt, A3 far away) all in territory T1 of rep R1, and an empty
territory T2 of rep R2 (qualified "medical", segment "medical"). No OSM file: assignment falls
back to straight-line travel, which the page says (the road path is the browser test's).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import GeoPoint, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from tests.conftest import add_user, log_in, small_region
from tests.databases import MigratedSqlite

ALTSTADT = {
    "type": "Polygon",
    "coordinates": [
        [[8.692, 49.4075], [8.716, 49.4075], [8.716, 49.413], [8.692, 49.413], [8.692, 49.4075]]
    ],
}
MEDICAL: dict[str, Any] = {
    "id": "medical",
    "name": "Apotheken zu Anna Schäfer",
    "criteria": [{"field": "category", "values": ["pharmacy"]}],
    "segment": "medical",
}
ALTSTADT_BAKERY: dict[str, Any] = {
    "id": "altstadt",
    "criteria": [
        {"field": "area", "values": ["areas/altstadt.geojson"]},
        {"field": "category", "values": ["bakery"]},
    ],
    "territory": "T1",
}
REASON = (
    "rule medical: category = pharmacy; nearest territory of segment medical with spare capacity"
)


@pytest.fixture
def settings(tmp_path: Path, road_cache_dir: Path, migrated_sqlite: MigratedSqlite) -> Settings:
    return Settings(
        database_url=migrated_sqlite.copy(tmp_path / "web.sqlite"),
        osm_path=tmp_path / "no-roads.osm.pbf",
        cache_dir=road_cache_dir,
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = small_region()
    reps.append(
        Rep(
            rep_id="R2",
            name="Anna Schäfer",
            home=GeoPoint(49.4120, 8.7100),
            working_hours=reps[0].working_hours,
            qualifications=frozenset({"medical"}),
        )
    )
    replace_accounts_and_reps(store, accounts, reps, source="test")
    store.territories.save(
        [
            Territory(territory_id="T1", name="West", rep_id="R1", account_ids=("A1", "A2", "A3")),
            Territory(territory_id="T2", name="Medical", rep_id="R2", segment="medical"),
        ],
        cause=OwnershipCause.IMPORT,
        user="seed",
        replace_all=True,
    )
    return store


@pytest.fixture
def with_rules(client: TestClient, store: Store) -> None:
    data = json.loads(json.dumps([MEDICAL, ALTSTADT_BAKERY]))
    data[1]["criteria"][0]["geojson"] = [ALTSTADT]
    response = client.put("/api/v1/rules", json={"rules": data})
    assert response.status_code == 200, response.text


def rep_client(anon_client: TestClient, store: Store, rep_id: str) -> TestClient:
    add_user(store, f"rep{rep_id}", role="rep", rep_id=rep_id)
    log_in(anon_client, f"rep{rep_id}")
    return anon_client


def errors(response: Any) -> list[tuple[int | None, str | None, str]]:
    return [(e["row"], e["field"], e["message"]) for e in response.json()["errors"]]


def page_items(html: str, box: str) -> list[str]:
    found = re.search(rf'id="{box}">(.*?)</div>', html, re.S)
    assert found, html
    return [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li>(.*?)</li>", found[1])]


def owners(store: Store) -> dict[str, str]:
    return {a: t.territory_id for t in store.territories.all() for a in t.account_ids}


# -- access control ------------------------------------------------------------------------------


def test_anonymous_is_redirected_or_gets_401(anon_client: TestClient) -> None:
    page = anon_client.get("/rules", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Frules"
    assert anon_client.get("/accounts/A1", follow_redirects=False).status_code == 303
    # a form POST without a session has no CSRF token either: refused before anything runs
    assert anon_client.post("/rules/dry-run", follow_redirects=False).status_code == 403
    for method, path in (
        ("get", "/api/v1/rules"),
        ("put", "/api/v1/rules"),
        ("post", "/api/v1/rules/reorder"),
        ("post", "/api/v1/assignment/dry-run"),
        ("post", "/api/v1/assignment/apply"),
        ("get", "/api/v1/accounts/A1/ownership"),
    ):
        response = anon_client.request(method, path, json={})
        assert response.status_code == 401, path
        assert response.json() == {"error": "authentication required", "errors": []}


def test_rep_gets_403_on_rules_and_assignment(
    anon_client: TestClient, store: Store, with_rules: None
) -> None:
    rules = store.rules.all()
    client = rep_client(anon_client, store, "R1")
    for path in ("/rules", "/rules/export.json", "/accounts", "/api/v1/rules"):
        assert client.get(path).status_code == 403, path
    assert 'id="ownership"' not in client.get("/accounts/A1").text  # the managers' audit
    for path in ("/rules/dry-run", "/rules/apply", "/rules/medical/move", "/rules/medical/delete"):
        assert client.post(path, data={"direction": "up"}).status_code == 403, path
    assert client.post("/rules/save", data={"rule_id": "x"}).status_code == 403
    assert client.put("/api/v1/rules", json={"rules": []}).status_code == 403
    assert client.post("/api/v1/rules/reorder", json={"ids": []}).status_code == 403
    assert client.post("/api/v1/assignment/dry-run", json={}).status_code == 403
    response = client.post("/api/v1/assignment/apply", json={"dry_run_id": "x"})
    assert response.status_code == 403
    assert response.json() == {"error": "only admins may do this", "errors": []}
    assert 'href="/rules"' not in client.get("/route").text
    assert store.rules.all() == rules


def test_forms_and_api_need_the_csrf_token(
    client: TestClient, store: Store, with_rules: None
) -> None:
    rules = store.rules.all()
    del client.headers["X-CSRF-Token"]
    assert client.post("/rules/dry-run").status_code == 403
    assert client.post("/rules/medical/delete").status_code == 403
    assert client.put("/api/v1/rules", json={"rules": []}).status_code == 403
    assert client.post("/api/v1/assignment/dry-run", json={}).status_code == 403
    assert store.rules.all() == rules


def test_ownership_api_shows_a_rep_only_their_own_accounts(
    anon_client: TestClient, store: Store
) -> None:
    client = rep_client(anon_client, store, "R1")
    body = client.get("/api/v1/accounts/A2/ownership").json()
    assert body["current"]["territory_id"] == "T1"
    assert body["current"]["reason"] == "import by seed"
    assert [p["territory_id"] for p in body["history"]] == ["T1"]
    store.territories.save(
        [Territory(territory_id="T2", name="Medical", rep_id="R2", account_ids=("A2",))],
        cause=OwnershipCause.MANUAL,
        user="anna",
    )
    response = client.get("/api/v1/accounts/A2/ownership")
    assert response.status_code == 404
    assert response.json() == {"error": "account 'A2' not found", "errors": []}
    assert client.get("/api/v1/accounts/NOPE/ownership").status_code == 404


# -- the page and the rules API ------------------------------------------------------------------


def test_page_lists_rules_in_order_with_readable_criteria(
    client: TestClient, with_rules: None
) -> None:
    response = client.get("/rules")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert 'href="/rules"' in html  # nav link
    assert html.index('data-rule="medical"') < html.index('data-rule="altstadt"')
    assert "Apotheken zu Anna Schäfer" in html
    assert '<td class="criteria">category = pharmacy</td>' in html
    assert '<td class="criteria">in area altstadt.geojson and category = bakery</td>' in html
    assert '<td class="target">best fit in segment medical</td>' in html
    assert '<td class="target">territory T1</td>' in html
    assert html.count('name="csrf_token"') >= 7  # every POST form


def test_api_get_returns_rules_with_embedded_areas(client: TestClient, with_rules: None) -> None:
    body = client.get("/api/v1/rules").json()
    assert [r["id"] for r in body["rules"]] == ["medical", "altstadt"]
    area = body["rules"][1]["criteria"][0]
    assert area["values"] == ["areas/altstadt.geojson"]
    assert area["geojson"][0]["type"] == "Polygon"
    assert body["segments"] == {"T1": "", "T2": "medical"}
    assert body["problems"] == []
    exported = client.get("/rules/export.json")
    assert exported.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(exported.text)["rules"] == body["rules"]


def test_put_bad_rules_lists_every_parse_problem_naming_the_rule(
    client: TestClient, store: Store, with_rules: None
) -> None:
    before = store.rules.all()
    open_ring = {"type": "Polygon", "coordinates": [[[8.69, 49.40], [8.72, 49.40], [8.72, 49.41]]]}
    rules = [
        {"id": "x", "criteria": [{"field": "colour", "values": ["red"]}], "territory": "T1"},
        {
            "id": "y",
            "criteria": [{"field": "area", "values": ["a"], "geojson": [open_ring]}],
            "territroy": "T1",
        },
        {"id": "z", "criteria": [{"field": "area", "values": ["areas/b.geojson"]}], "segment": "s"},
    ]
    response = client.put("/api/v1/rules", json={"rules": rules})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid input"
    assert errors(response) == [
        (
            1,
            "criteria[1].field",
            "rule x: unknown field 'colour'; use category, value_class, tag, postcode, area, "
            "requires",
        ),
        (
            2,
            "criteria[1].values",
            "rule y: area a: ring 1 has 3 positions; a ring needs at "
            "least 4 (the first repeated last)",
        ),
        (2, "territory", "rule y: no target: give a territory or a segment"),
        (
            2,
            "territroy",
            "rule y: unknown key 'territroy'; use id, name, enabled, criteria, territory, "
            "segment, note",
        ),
        (
            3,
            "criteria[1].values",
            "rule z: area file areas/b.geojson was not uploaded: embed it as geojson",
        ),
    ]
    assert store.rules.all() == before


def test_put_rules_that_do_not_fit_the_territories(
    client: TestClient, store: Store, with_rules: None
) -> None:
    before = store.rules.all()
    rules = [
        {
            "id": "pharm",
            "criteria": [{"field": "category", "values": ["pharmacy"]}],
            "territory": "T2",
        },
        {
            "id": "never",
            "criteria": [
                {"field": "category", "values": ["pharmacy"]},
                {"field": "category", "values": ["bakery"]},
            ],
            "territory": "T1",
        },
        {
            "id": "shadowed",
            "criteria": [
                {"field": "category", "values": ["Pharmacy"]},
                {"field": "value_class", "values": ["A"]},
            ],
            "territory": "T2",
        },
        {"id": "gone", "criteria": [], "territory": "T9"},
        {"id": "seg", "criteria": [], "segment": "key accounts"},
    ]
    response = client.put("/api/v1/rules", json={"rules": rules})
    assert response.status_code == 422
    assert errors(response) == [
        (
            2,
            "criteria",
            "rule never: can never match: category = pharmacy and category = "
            "bakery exclude each other",
        ),
        (
            3,
            "criteria",
            "rule shadowed: can never win: every account it matches is taken first "
            "by rule pharm (category = pharmacy)",
        ),
        (4, "territory", "rule gone: territory T9 does not exist"),
        (5, "segment", "rule seg: no territory belongs to segment key accounts"),
    ]
    assert {e["source"] for e in response.json()["errors"]} == {"api"}
    assert store.rules.all() == before


def test_upload_with_area_file_replaces_all_rules_and_sets_segments(
    client: TestClient, store: Store
) -> None:
    rules_file = {"segments": {"T1": "west"}, "rules": [MEDICAL, ALTSTADT_BAKERY]}
    response = client.post(
        "/rules/upload",
        files=[
            ("file", ("regeln.json", json.dumps(rules_file).encode(), "application/json")),
            ("areas", ("altstadt.geojson", json.dumps(ALTSTADT).encode(), "application/json")),
        ],
    )
    assert response.status_code == 200, response.text
    assert "2 rules imported from regeln.json" in response.text
    assert [r.rule_id for r in store.rules.all()] == ["medical", "altstadt"]
    assert store.rules.all()[1].criteria[0].areas[0].label == "altstadt.geojson"
    assert {t.territory_id: t.segment for t in store.territories.all()} == {
        "T1": "west",
        "T2": "medical",  # territories the file does not name keep their segment
    }


def test_upload_problems_are_all_shown_and_nothing_is_stored(
    client: TestClient, store: Store, with_rules: None
) -> None:
    before = store.rules.all()
    bad = dict(ALTSTADT_BAKERY, territory="T9")
    response = client.post(
        "/rules/upload",
        files=[("file", ("regeln.json", json.dumps([MEDICAL, bad]).encode(), "application/json"))],
    )
    assert response.status_code == 422
    assert page_items(response.text, "upload-errors") == [
        "regeln.json:2: criteria[1].values: rule altstadt: area file areas/altstadt.geojson was "
        "not uploaded: upload it with the rules file (or embed it as geojson)"
    ]
    response = client.post(
        "/rules/upload",
        files=[
            ("file", ("regeln.json", json.dumps([MEDICAL, bad]).encode(), "application/json")),
            ("areas", ("altstadt.geojson", json.dumps(ALTSTADT).encode(), "application/json")),
        ],
    )
    assert response.status_code == 422
    assert page_items(response.text, "upload-errors") == [
        "regeln.json:2: territory: rule altstadt: territory T9 does not exist"
    ]
    response = client.post(
        "/rules/upload", files=[("file", ("kaputt.json", b"{rules", "application/json"))]
    )
    assert page_items(response.text, "upload-errors") == [
        "kaputt.json: not valid JSON: Expecting property name enclosed in double quotes at line "
        "1 column 2"
    ]
    assert store.rules.all() == before


def test_add_edit_and_delete_a_rule_through_the_form(
    client: TestClient, store: Store, with_rules: None
) -> None:
    form = client.get("/rules", params={"add": "1"}).text
    assert 'id="rule-edit"' in form
    added = {
        "rule_id": "key",
        "name": "Schlüsselkunden",
        "enabled": "1",
        "crit_0_field": "tag",
        "crit_0_values": "key account, vip",
        "crit_1_field": "postcode",
        "crit_1_values": "691",
        "target_kind": "territory",
        "target": "T2",
    }
    response = client.post("/rules/save", data=added, follow_redirects=False)
    assert response.status_code == 303
    stored = store.rules.all()
    assert [r.rule_id for r in stored] == ["medical", "altstadt", "key"]
    assert stored[2].describe() == "tag = key account or vip and postcode starts with 691"
    assert stored[2].name == "Schlüsselkunden"

    page = client.get("/rules", params={"edit": "altstadt"}).text
    assert 'name="crit_0_geojson"' in page  # the area travels with the form
    geojson = re.search(r'name="crit_0_geojson" value="([^"]+)"', page)
    assert geojson
    edit = {
        "original_id": "altstadt",
        "rule_id": "altstadt",
        "crit_0_field": "area",
        "crit_0_values": "areas/altstadt.geojson",
        "crit_0_geojson": geojson[1].replace("&#34;", '"'),
        "crit_1_field": "category",
        "crit_1_values": "bakery, cafe",
        "target_kind": "territory",
        "target": "T1",
    }  # "enabled" not sent: the box was unticked
    assert client.post("/rules/save", data=edit, follow_redirects=False).status_code == 303
    rule = store.rules.all()[1]
    assert rule.describe() == "in area altstadt.geojson and category = bakery or cafe"
    assert rule.enabled is False

    response = client.post("/rules/key/delete", follow_redirects=False)
    assert response.status_code == 303
    assert [r.rule_id for r in store.rules.all()] == ["medical", "altstadt"]
    assert client.post("/rules/nope/delete").status_code == 404


def test_form_errors_name_rule_and_field_and_store_nothing(
    client: TestClient, store: Store, with_rules: None
) -> None:
    before = store.rules.all()
    bad = {
        "original_id": "medical",
        "rule_id": "medical",
        "enabled": "1",
        "crit_0_field": "value_class",
        "crit_0_values": "D",
        "crit_1_field": "category",
        "crit_1_values": "",
        "target_kind": "territory",
        "target": "T2",
    }
    response = client.post("/rules/save", data=bad)
    assert response.status_code == 422
    assert page_items(response.text, "rule-errors") == [
        "position 1 · criteria[1].values: rule medical: value class D is not A, B or C",
        "position 1 · criteria[2].values: rule medical: category has no values",
    ]
    assert 'value="D"' in response.text  # the form comes back as typed
    area = dict(bad, crit_0_field="", crit_1_values="pharmacy")
    response = client.post(
        "/rules/save",
        data=area,
        files=[("area_file", ("zone.geojson", b'{"type": "Point", "coordinates": [8, 49]}', "x"))],
    )
    assert page_items(response.text, "rule-errors") == [
        "position 1 · criteria[2].values: rule medical: area zone.geojson: holds a Point; use a "
        "Polygon or MultiPolygon"
    ]
    response = client.post("/rules/save", data=dict(area, target="T9"))
    assert page_items(response.text, "rule-errors") == [
        "position 1 · territory: rule medical: territory T9 does not exist"
    ]
    response = client.post("/rules/save", data=dict(area, original_id="", rule_id="altstadt"))
    assert page_items(response.text, "rule-errors") == [
        "position 3 · id: rule altstadt: id already used by the rule at position 2"
    ]
    assert store.rules.all() == before


def test_reorder_with_buttons_and_api_refuses_a_shadowing_order(
    client: TestClient, store: Store, with_rules: None
) -> None:
    response = client.post("/rules/altstadt/move", data={"direction": "up"}, follow_redirects=False)
    assert response.status_code == 303
    assert [r.rule_id for r in store.rules.all()] == ["altstadt", "medical"]
    client.post("/rules/medical/move", data={"direction": "down"})  # already last: no change
    assert [r.rule_id for r in store.rules.all()] == ["altstadt", "medical"]
    body = client.post("/api/v1/rules/reorder", json={"ids": ["medical", "altstadt"]}).json()
    assert [r["id"] for r in body["rules"]] == ["medical", "altstadt"]
    response = client.post("/api/v1/rules/reorder", json={"ids": ["medical", "medical", "x"]})
    assert response.status_code == 422
    assert errors(response) == [
        (None, "ids", "rule medical appears 2 times"),
        (None, "ids", "unknown rule x"),
        (None, "ids", "rule altstadt is missing"),
    ]
    catch_all = {"id": "all", "criteria": [], "territory": "T2"}
    client.put("/api/v1/rules", json={"rules": [MEDICAL, catch_all]})
    response = client.post("/rules/all/move", data={"direction": "up"})
    assert response.status_code == 422
    assert page_items(response.text, "rule-errors") == [
        "position 2 · criteria: rule medical: can never win: every account it matches is taken "
        "first by rule all (every account)"
    ]
    assert [r.rule_id for r in store.rules.all()] == ["medical", "all"]


def test_rules_broken_by_a_territory_change_can_still_be_fixed(
    client: TestClient, store: Store
) -> None:
    two = [
        {"id": "a", "criteria": [{"field": "category", "values": ["x"]}], "territory": "T2"},
        {"id": "b", "criteria": [{"field": "category", "values": ["y"]}], "territory": "T2"},
    ]
    assert client.put("/api/v1/rules", json={"rules": two}).status_code == 200
    store.territories.save(
        [Territory(territory_id="T1", name="West", rep_id="R1", account_ids=("A1", "A2", "A3"))],
        cause=OwnershipCause.REALIGNMENT,
        user="anna",
        replace_all=True,
    )
    html = client.get("/rules").text
    assert page_items(html, "stored-problems") == [
        "position 1 · territory: rule a: territory T2 does not exist",
        "position 2 · territory: rule b: territory T2 does not exist",
    ]
    assert client.post("/rules/a/delete", follow_redirects=False).status_code == 303
    edit = {
        "original_id": "b",
        "rule_id": "b",
        "enabled": "1",
        "crit_0_field": "category",
        "crit_0_values": "y",
        "target_kind": "territory",
        "target": "T1",
    }
    assert client.post("/rules/save", data=edit, follow_redirects=False).status_code == 303
    assert 'id="stored-problems"' not in client.get("/rules").text
    response = client.post("/api/v1/assignment/dry-run", json={})
    assert response.status_code == 200


# -- dry run and apply ---------------------------------------------------------------------------


def test_dry_run_shows_changes_and_balance_and_changes_nothing(
    client: TestClient, store: Store, with_rules: None
) -> None:
    territories, history = store.territories.all(), store.territories.ownership_history()
    response = client.post("/rules/dry-run", data={"mode": "all"}, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    html = page.text
    rows = re.findall(r'<tr data-account="([^"]+)">(.*?)</tr>', html, re.S)
    assert [a for a, _ in rows] == ["A2"]
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[0][1], re.S)
    ]
    assert cells == ["A2 Apotheke am Bismarckplatz", "T1 (R1)", "T2 (R2)", REASON]
    assert "Distances: straight-line travel estimates" in html
    assert 'id="balance"' in html
    assert 'a <a href="/territories">realignment</a> would rebalance' in html
    assert 'id="apply-form"' in html
    assert store.territories.all() == territories
    assert store.territories.ownership_history() == history


def test_apply_stores_history_with_user_and_reason(
    client: TestClient, store: Store, with_rules: None
) -> None:
    location = client.post("/rules/dry-run", follow_redirects=False).headers["location"]
    token = location.split("dry_run=")[1].split("#")[0]
    response = client.post("/rules/apply", data={"dry_run": token}, follow_redirects=False)
    assert response.status_code == 303
    html = client.get(response.headers["location"]).text
    assert "applied: 1 accounts changed owner" in html
    assert "Applied by boss: 1 account(s) changed owner." in html
    assert owners(store) == {"A1": "T1", "A2": "T2", "A3": "T1"}
    current = store.territories.current_ownership("A2")
    assert current is not None
    assert (current.territory_id, current.cause, current.detail, current.changed_by) == (
        "T2",
        OwnershipCause.RULE,
        REASON,
        "boss",
    )
    accounts = client.get("/accounts").text
    row = re.search(r'<tr data-account="A2">(.*?)</tr>', accounts, re.S)
    assert row
    assert f'<td class="reason">{REASON}</td>' in row[1]
    detail = client.get("/accounts/A2").text
    assert re.sub(
        r"\s+", " ", re.sub(r"<[^>]+>", "", detail.split('id="owner-now"')[1].split("</p>")[0])
    ).strip() == (">Territory T2 (segment medical), rep R2 · Anna Schäfer")
    assert f"Why: <strong>{REASON}</strong>" in detail
    assert detail.count("<td>boss</td>") == 1
    assert "<td>rule by boss</td>" in detail
    assert client.post("/rules/apply", data={"dry_run": token}).status_code == 409
    assert client.get("/accounts/NOPE").status_code == 404


def test_api_dry_run_and_apply(client: TestClient, store: Store, with_rules: None) -> None:
    response = client.post("/api/v1/assignment/dry-run", json={"tolerance_pct": 80})
    assert response.status_code == 422
    assert errors(response) == [(None, "tolerance_pct", "must be 0.5 to 50, got 80")]
    body = client.post("/api/v1/assignment/dry-run", json={"mode": "all"}).json()
    report = body["report"]
    assert [
        (c["account_id"], c["from_territory"], c["to_territory"], c["cause"], c["reason"])
        for c in report["changes"]
    ] == [("A2", "T1", "T2", "rule", REASON)]
    assert report["counts"] == {"lock": 0, "rule": 2, "best_fit": 0, "kept": 1, "unassigned": 0}
    assert report["suggest_realignment"] is True
    assert [b["territory_id"] for b in report["balance"]] == ["T1", "T2"]
    assert owners(store)["A2"] == "T1"
    applied = client.post("/api/v1/assignment/apply", json={"dry_run_id": body["dry_run_id"]})
    assert applied.status_code == 200
    assert (applied.json()["applied_by"], applied.json()["moved"]) == ("boss", 1)
    ownership = client.get("/api/v1/accounts/A2/ownership").json()
    assert ownership["current"]["reason"] == REASON
    assert ownership["current"]["changed_by"] == "boss"
    assert [(p["territory_id"], p["cause"], p["ended_cause"]) for p in ownership["history"]] == [
        ("T1", "import", "rule"),
        ("T2", "rule", None),
    ]
    again = client.post("/api/v1/assignment/apply", json={"dry_run_id": body["dry_run_id"]})
    assert again.status_code == 409
    assert again.json() == {"error": "this dry run was already applied by boss", "errors": []}
    unknown = client.post("/api/v1/assignment/apply", json={"dry_run_id": "nope"})
    assert unknown.status_code == 404


def test_a_lock_wins_over_the_rules_and_is_stored_as_manual(
    client: TestClient, store: Store, with_rules: None
) -> None:
    client.post("/accounts/A2", data={"locked_rep": "R1", "lock_fields": "1"})
    client.post("/accounts/A1", data={"locked_rep": "R2", "lock_fields": "1"})
    body = client.post("/api/v1/assignment/dry-run", json={}).json()
    changes = [
        (c["account_id"], c["to_territory"], c["cause"], c["reason"])
        for c in body["report"]["changes"]
    ]
    assert changes == [("A1", "T2", "lock", "locked to rep R2")]
    client.post("/api/v1/assignment/apply", json={"dry_run_id": body["dry_run_id"]})
    record = store.territories.current_ownership("A1")
    assert record is not None
    assert (record.cause, record.detail, record.changed_by) == (
        OwnershipCause.MANUAL,
        "locked to rep R2",
        "boss",
    )


def test_dry_run_of_new_accounts_only_places_accounts_in_no_territory(
    client: TestClient, store: Store, with_rules: None
) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="West", rep_id="R1", account_ids=("A1", "A2"))],
        cause=OwnershipCause.MANUAL,
        user="anna",
    )
    body = client.post("/api/v1/assignment/dry-run", json={"mode": "new"}).json()
    assert body["mode"] == "new"
    changes = [
        (c["account_id"], c["from_territory"], c["cause"]) for c in body["report"]["changes"]
    ]
    assert changes == [("A3", None, "best_fit")]  # A2 would move by the rule, but stays
    html = client.get("/rules", params={"dry_run": body["dry_run_id"]}).text
    assert "(accounts in no territory)" in html
    assert '<span class="muted">none</span>' in html


@pytest.mark.parametrize("change", ["rules", "account", "territories"])
def test_stale_dry_run_is_refused_with_409(
    client: TestClient, store: Store, with_rules: None, change: str
) -> None:
    token = client.post("/api/v1/assignment/dry-run", json={}).json()["dry_run_id"]
    if change == "rules":
        client.post("/api/v1/rules/reorder", json={"ids": ["altstadt", "medical"]})
    elif change == "account":
        client.post("/accounts/A1", data={"visit_minutes": "45"})
    else:
        client.post("/territories/lock/T1", data={"locked": "1"})
    history = store.territories.ownership_history()
    response = client.post("/api/v1/assignment/apply", json={"dry_run_id": token})
    assert response.status_code == 409
    assert response.json() == {
        "error": "the accounts, territories or rules changed since this dry run; run it again",
        "errors": [],
    }
    page = client.post("/rules/apply", data={"dry_run": token})
    assert page.status_code == 409
    assert "changed since this dry run" in page.text
    assert store.territories.ownership_history() == history
    assert owners(store)["A2"] == "T1"


# -- import on the accounts page -------------------------------------------------------------------

NEW_ACCOUNTS = (
    "id,name,address,lat,lon,category,frequency,visit_minutes\n"
    "A7,Löwen-Apotheke,Hauptstraße 70,49.4110,8.7050,pharmacy,weekly,20\n"
    "A8,Café Rössli,Plöck 2,49.4080,8.6950,cafe,monthly,30\n"
)


def test_web_import_assigns_new_accounts_and_shows_the_balance(
    client: TestClient, store: Store, with_rules: None
) -> None:
    response = client.post(
        "/accounts/import", files={"file": ("neu.csv", NEW_ACCOUNTS.encode(), "text/csv")}
    )
    assert response.status_code == 200, response.text
    html = response.text
    assert "Imported neu.csv: 2 new, 0 changed, 0 unchanged. 2 assigned to a territory." in html
    assigned = [
        re.sub(r"<[^>]+>", "", li)
        for li in re.findall(r"<li>(.*?)</li>", html.split('id="assigned"')[1].split("</ul>")[0])
    ]
    assert assigned[0] == (
        "A7 → T2 (R2): rule medical: category = pharmacy; nearest territory of segment medical "
        "with spare capacity"
    )
    assert assigned[1].startswith("A8 → T1 (R1): ")
    assert 'id="balance"' in html
    assert 'id="realignment"' in html
    assert owners(store)["A7"] == "T2"
    record = store.territories.current_ownership("A7")
    assert record is not None
    assert (record.cause, record.changed_by) == (OwnershipCause.IMPORT, "boss")
    assert owners(store)["A2"] == "T1"  # existing accounts never move on import


def test_web_import_stops_on_a_rule_that_no_longer_fits(
    client: TestClient, store: Store, with_rules: None
) -> None:
    store.territories.save(
        [Territory(territory_id="T1", name="West", rep_id="R1", account_ids=("A1", "A2", "A3"))],
        cause=OwnershipCause.REALIGNMENT,
        user="anna",
        replace_all=True,
    )
    response = client.post(
        "/accounts/import", files={"file": ("neu.csv", NEW_ACCOUNTS.encode(), "text/csv")}
    )
    assert response.status_code == 422
    assert page_items(response.text, "page-errors") == [
        "rules:1: segment: rule medical: no territory belongs to segment medical"
    ]
    assert store.accounts.get("A7") is None


def test_bad_page_requests(client: TestClient, with_rules: None) -> None:
    assert client.get("/rules", params={"edit": "nope"}).status_code == 404
    response = client.post("/rules/medical/move", data={"direction": "sideways"})
    assert response.status_code == 422
    assert "direction must be up or down" in response.text
    response = client.post("/rules/dry-run", data={"mode": "some", "horizon_days": "0"})
    assert response.status_code == 422
    assert "<strong>mode</strong>: must be new or all, not &#39;some&#39;" in response.text
    assert "<strong>horizon_days</strong>: must be 1 to 366, got 0" in response.text
    gone = client.get("/rules", params={"dry_run": "0123"}).text
    assert "That dry run is no longer kept: run it again." in gone


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    assert set(paths["/api/v1/rules"]) == {"get", "put"}
    for path in (
        "/api/v1/rules/reorder",
        "/api/v1/assignment/dry-run",
        "/api/v1/assignment/apply",
    ):
        assert "post" in paths[path], path
    assert "get" in paths["/api/v1/accounts/{account_id}/ownership"]
    assert "409" in paths["/api/v1/assignment/apply"]["post"]["responses"]
