"""Every page renders in Chromium under the strict Content-Security-Policy without a single
violation, and what used inline code (the rep pickers) still works through /static/app.js."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.conftest import add_user, small_region
from tests.web.test_route_page import DAY, _store_plan

pytestmark = [pytest.mark.browser, pytest.mark.osm]

PAGES = [
    ("/", "h1"),
    ("/accounts", "table"),
    ("/accounts/A1", "h1"),
    ("/plan", "h1"),
    (f"/route?rep=R1&day={DAY.isoformat()}", "svg.map"),
    ("/territories", "svg.swatch"),
    ("/rules", "h1"),
    ("/learning", "h1"),
    ("/performance", "h1"),
    ("/regions", "h1"),
    ("/calendar", "h1"),
    ("/users", "h1"),
    ("/tokens", "h1"),
    ("/no-such-page", "h1"),
]
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_every_page_keeps_the_policy(live_server: LiveServer, store: Store, chromium: Any) -> None:
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id="R2", name="Anna Schmidt")
    replace_accounts_and_reps(store, accounts, [*reps, other], source="test")
    store.territories.save(
        [
            Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Süd", rep_id="R2", account_ids=("A3",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    _store_plan(store)
    add_user(store, "boss")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    log_in_page(page, live_server.url, "boss")
    for path, selector in PAGES:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(selector)
        assert page.evaluate("window.__violations") == [], path
    assert not [m for m in console if "Content Security Policy" in m], console
    # the rep picker submits through app.js: choosing Anna shows her route page
    page.goto(f"{live_server.url}/route?rep=R1&day={DAY.isoformat()}")
    page.select_option('select[name="rep"]', "R2")
    page.wait_for_url(lambda url: "rep=R2" in url)
    page.goto(f"{live_server.url}/calendar")
    page.select_option('select[name="rep"]', "R2")
    page.wait_for_url(lambda url: "rep=R2" in url)
    assert page.evaluate("window.__violations") == []
    context.close()
