"""axe-core on the rep's pages in Debian's Chromium at phone size: the login page (also with its
error), the day page with its plan (fresh, after a check-in, a done and a missed visit with its
Undo box), the rep's accounts, an account's card and the calendar have no serious or critical
violation.

axe-core is installed from the npm registry by ``make system-deps`` at the version pinned in
``tests/browser/package.json``; the test reads it from disk and never downloads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.helpers import require
from tests.web.rep_day_data import store_world, today

pytestmark = [pytest.mark.browser, pytest.mark.osm]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# Collapsed parts count as hidden to axe; opened, their forms and text are checked too.
OPEN_ALL_DETAILS = "() => document.querySelectorAll('details').forEach(d => { d.open = true })"
RUN_AXE = """async () => (await axe.run(document)).violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    require(AXE.is_file(), f"axe-core at {AXE} (npm ci by `make system-deps`)")
    return AXE.read_text(encoding="utf-8")


def _audit(page: Any, axe_source: str, label: str) -> list[str]:
    """The page's serious and critical axe findings, one line each: rule, impact, elements.

    ``page.evaluate`` runs axe through the DevTools protocol, which the page's strict CSP
    (``script-src 'self'``, no inline script) does not govern, so the pages are audited under
    their real policy without ``bypass_csp`` (an injected script tag would be refused)."""
    page.evaluate(axe_source)
    page.evaluate(OPEN_ALL_DETAILS)
    return [
        f"{label} ({page.url}): {v['id']} ({v['impact']}) {v['help']} at {v['targets']}"
        for v in page.evaluate(RUN_AXE)
        if v["impact"] in BLOCKING
    ]


def test_the_login_page_has_no_serious_violations(
    axe_source: str, live_server: LiveServer, phone_page: Any
) -> None:
    phone_page.goto(f"{live_server.url}/login")
    problems = _audit(phone_page, axe_source, "login")
    phone_page.fill('input[name="username"]', "nobody")
    phone_page.fill('input[name="password"]', "wrong password")
    phone_page.click('button[type="submit"]')
    phone_page.wait_for_selector("#login-error")
    problems += _audit(phone_page, axe_source, "login error")
    assert not problems, "\n".join(problems)


def test_the_reps_pages_have_no_serious_violations(
    axe_source: str, live_server: LiveServer, store: Store, phone_page: Any
) -> None:
    store_world(store, today())
    page = phone_page
    page.set_default_timeout(90_000)  # the first day page loads the road network
    log_in_page(page, live_server.url, "juergen")
    page.goto(f"{live_server.url}/route?rep=R1&day={today().isoformat()}")
    problems = _audit(page, axe_source, "day")
    page.locator("#stop-2 button.checked_in").tap()
    page.wait_for_selector("#stop-2 form.edit-time")
    problems += _audit(page, axe_source, "day, checked in")
    page.locator("#stop-2 .done-form input[name=outcome]").fill("order")
    page.locator("#stop-2 button.done").tap()
    page.wait_for_selector("#stop-2.finished")
    problems += _audit(page, axe_source, "day, done")
    page.locator("#stop-1 button.missed").tap()
    page.wait_for_selector("#changes.waiting button.undo")
    problems += _audit(page, axe_source, "day, missed")
    for label, path in (
        ("accounts", "/route/accounts"),
        ("accounts, nothing found", "/route/accounts?q=nothing-like-this"),
        ("account card", "/accounts/A1"),
        ("calendar", "/calendar"),
    ):
        page.goto(live_server.url + path)
        problems += _audit(page, axe_source, label)
    assert not problems, "\n".join(problems)
