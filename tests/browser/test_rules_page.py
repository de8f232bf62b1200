"""A manager sets assignment rules in a real browser: upload a rules file with its GeoJSON area,
dry run, apply, and see an account's new owner and the reason on its page.

Real uvicorn, Debian's Chromium and the Heidelberg road network. Screenshots of each step go to
``test-output/screenshots/`` (or ``$TEST_OUTPUT_DIR``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, migrate, session_factory
from tests.browser.conftest import LiveServer
from tests.browser.test_territories_page import screenshot_dir
from tests.web.test_territories_page import nearest_home_split, territory_region

pytestmark = [pytest.mark.browser, pytest.mark.osm]

ALTSTADT = {
    "type": "Feature",
    "properties": {"name": "Altstadt"},
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [[8.692, 49.4075], [8.716, 49.4075], [8.716, 49.413], [8.692, 49.413], [8.692, 49.4075]]
        ],
    },
}
RULES = {
    "rules": [
        {
            "id": "apotheken",
            "name": "Apotheken und Kliniken zu Jürgen Weiß",
            "criteria": [{"field": "category", "values": ["pharmacy", "hospital"]}],
            "territory": "T-R1",
        },
        {
            "id": "altstadt",
            "criteria": [
                {"field": "area", "values": ["areas/altstadt.geojson"]},
                {"field": "category", "values": ["bakery"]},
            ],
            "territory": "T-R3",
        },
    ]
}


@pytest.fixture
def store(settings: Settings) -> Store:
    migrate(settings.database_url)
    store = Store(session_factory(make_engine(settings.database_url)))
    accounts, reps = territory_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    split = nearest_home_split(accounts, reps)
    store.territories.save(split, cause=OwnershipCause.IMPORT, user="seed", replace_all=True)
    return store


def test_manager_uploads_rules_dry_runs_and_applies(
    live_server: LiveServer, store: Store, manager_page: Any, tmp_path: Path
) -> None:
    page = manager_page
    shots = screenshot_dir()
    rules_file = tmp_path / "regeln.json"
    rules_file.write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")
    area_file = tmp_path / "altstadt.geojson"
    area_file.write_text(json.dumps(ALTSTADT), encoding="utf-8")
    before = {a: t.territory_id for t in store.territories.all() for a in t.account_ids}
    assert (before["A1"], before["A2"]) == ("T-R2", "T-R2")

    page.goto(f"{live_server.url}/accounts")
    page.click("nav a[href='/rules']")
    page.wait_for_url(f"{live_server.url}/rules")
    assert page.title() == "Assignment rules · routeplanner"
    page.set_input_files("#upload input[name='file']", str(rules_file))
    page.set_input_files("#upload input[name='areas']", str(area_file))
    page.click("#upload button[type='submit']")
    page.wait_for_selector("#message")
    assert page.inner_text("#message") == "2 rules imported from regeln.json"
    criteria = page.locator("#rules td.criteria").all_inner_texts()
    assert criteria == [
        "category = pharmacy or hospital",
        "in area altstadt.geojson and category = bakery",
    ]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "rules.png"), full_page=True)

    # Edit the area rule in the form: its GeoJSON travels in a hidden field and stays intact.
    page.click("#rules tr[data-rule='altstadt'] a")
    page.wait_for_selector("#rule-edit")
    page.fill("#rule-edit input[name='crit_1_values']", "bakery, cafe")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "rules-edit.png"), full_page=True)
    page.click("#rule-edit button[type='submit']")
    page.wait_for_selector("#message")
    assert page.locator("#rules td.criteria").all_inner_texts()[1] == (
        "in area altstadt.geojson and category = bakery or cafe"
    )
    assert store.rules.all()[1].criteria[0].areas[0].geojson.startswith('{"type":"Polygon"')

    page.click("#dry-run-form button[type='submit']")
    page.wait_for_selector("#dry-run-result")
    changes = {
        row.get_attribute("data-account"): row.locator("td.reason").inner_text()
        for row in page.locator("#changes tbody tr").all()
    }
    assert changes["A2"] == "rule apotheken: category = pharmacy or hospital"
    assert changes["A1"] == (
        "rule altstadt: in area altstadt.geojson and category = bakery or cafe"
    )
    assert page.locator("#balance tbody tr").count() == 3
    assert "Distances" not in page.inner_text("#dry-run-result")  # real roads, no fallback
    page.screenshot(path=str(shots / "rules-dry-run.png"), full_page=True)
    assert {a: t.territory_id for t in store.territories.all() for a in t.account_ids} == before

    page.click("#apply-form button[type='submit']")
    page.wait_for_selector("#applied")
    assert page.inner_text("#applied").startswith("Applied by boss:")
    page.screenshot(path=str(shots / "rules-applied.png"), full_page=True)

    page.click("#changes tr[data-account='A2'] a")
    page.wait_for_url(f"{live_server.url}/accounts/A2")
    assert " ".join(page.inner_text("#owner-now").split()) == (
        "Territory T-R1, rep R1 · Jürgen Weiß"
    )
    assert page.inner_text("#owner-reason").startswith(
        "Why: rule apotheken: category = pharmacy or hospital"
    )
    history = page.locator("#ownership tbody tr")
    assert history.count() == 2
    assert "boss" in history.nth(0).inner_text()
    page.screenshot(path=str(shots / "rules-account.png"), full_page=True)
