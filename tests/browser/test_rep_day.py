"""The rep's day on an iPhone- and an Android-sized phone in Debian's Chromium: check-in and
done record the current time, progress, undo of a missed visit, the re-planning box that
refreshes itself, and no sideways scrolling on the rep's pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from routeplanner.settings import Settings
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.web.rep_day_data import TZ, store_world, today

pytestmark = [pytest.mark.browser, pytest.mark.osm]
PHONES = {
    "iphone": {
        "viewport": {"width": 390, "height": 844},
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) "
        "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "device_scale_factor": 3,
    },
    "android": {
        "viewport": {"width": 412, "height": 915},
        "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
        "device_scale_factor": 2.625,
    },
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Long enough to tap Undo in; the self-refresh test shortens it again."""
    return settings.model_copy(update={"undo_grace_s": 20.0})


@pytest.fixture(params=sorted(PHONES))
def phone(request: pytest.FixtureRequest, chromium: Any) -> Iterator[tuple[str, Any]]:
    context = chromium.new_context(has_touch=True, is_mobile=True, **PHONES[request.param])
    page = context.new_page()
    page.set_default_timeout(90_000)  # the first page loads the road network
    yield request.param, page
    context.close()


def _rep_day(live_server: LiveServer, store: Store, page: Any) -> list[str]:
    """Today's plan, rep juergen logged in on the day page; CSP violations collected."""
    store_world(store, today())
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in_page(page, live_server.url, "juergen")
    page.goto(f"{live_server.url}/route?rep=R1&day={today().isoformat()}")
    return problems


def _now_hhmm() -> set[str]:
    now = datetime.now(TZ)
    return {(now + timedelta(minutes=d)).strftime("%H:%M") for d in (-1, 0, 1)}


def _fits(page: Any) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def test_check_in_and_done_record_now_and_show_progress(
    live_server: LiveServer, store: Store, phone: tuple[str, Any]
) -> None:
    name, page = phone
    problems = _rep_day(live_server, store, page)
    assert "0 of 2 done" in page.locator("#progress").inner_text()
    nav = page.locator("#stop-1 a.nav").get_attribute("href")
    expected = "https://maps.apple.com/" if name == "iphone" else "https://www.google.com/maps/"
    assert nav.startswith(expected)
    page.locator("#stop-2 button.checked_in").tap()
    page.wait_for_url(lambda url: url.endswith("#stop-2"))
    status = page.locator("#stop-2 .visit-status").inner_text()
    assert status.removeprefix("checked in at ") in _now_hhmm(), status
    assert "Saved: Bäckerei Müller" in page.locator("#confirm").inner_text()
    page.locator("#stop-2 .done-form input[name=outcome]").fill("order")
    page.locator("#stop-2 button.done").tap()
    page.wait_for_selector("#stop-2.finished")
    assert "1 of 2 done" in page.locator("#progress").inner_text()
    assert not page.locator("#stop-2 details").evaluate("d => d.open")  # collapsed
    assert page.locator("svg.map .marker.done").count() == 1
    assert page.locator("#stop-2 .visit-status").inner_text().removeprefix("done at ") in (
        _now_hhmm()
    )
    _fits(page)
    for path in ("/route/accounts", "/accounts/A1"):
        page.goto(live_server.url + path)
        _fits(page)
    assert not [p for p in problems if "Content Security Policy" in p]


def test_undo_a_missed_visit_on_the_phone(
    live_server: LiveServer, store: Store, phone: tuple[str, Any]
) -> None:
    _, page = phone
    problems = _rep_day(live_server, store, page)
    plan_before = store.plans.current_id()
    page.locator("#stop-1 button.missed").tap()
    page.wait_for_selector("#changes.waiting button.undo")
    _fits(page)
    page.locator("#changes button.undo").tap()
    page.wait_for_selector("#confirm")
    assert "open again" in page.locator("#confirm").inner_text()
    assert page.url.endswith("#stop-1")
    assert store.visits.find() == []
    assert store.plans.current_id() == plan_before
    assert not [p for p in problems if "Content Security Policy" in p]


def test_the_re_planning_box_refreshes_itself(
    live_server: LiveServer, store: Store, phone: tuple[str, Any]
) -> None:
    _, page = phone
    # the running app's own settings: a short grace, so the repair starts while we watch
    live_server.server.config.app.state.routeplanner.services.settings.undo_grace_s = 1.0
    _rep_day(live_server, store, page)
    page.locator("#stop-1 button.missed").tap()
    page.wait_for_selector("#changes")
    # no reload from the test: the page's own script sees the repair end
    page.wait_for_selector("#changes.done", timeout=60_000)
    assert "What changed" in page.locator("#changes").inner_text()
