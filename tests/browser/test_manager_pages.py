"""Every manager page on a 390 px phone in Debian's Chromium: no sideways page scrolling (wide
tables scroll inside their own box), 16 px form controls, 44 px touch targets; /accounts on a
laptop keeps its Save column in view; the calendar page's copy button and its reload."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from routeplanner.model import DayRoute, Horizon, Plan, Stop, Unassigned, UnassignedReason
from routeplanner.services.planning import next_monday
from routeplanner.storage import Store
from routeplanner.units import HOUR
from tests.browser.conftest import LiveServer, log_in_page, wait_until
from tests.conftest import add_user

pytestmark = [pytest.mark.browser, pytest.mark.osm]

MANAGER_PAGES = (
    "/",
    "/accounts",
    "/accounts/A1",
    "/plan",
    "/territories",
    "/rules",
    "/learning",
    "/performance",
    "/regions",
    "/users",
    "/calendar",
    "/route",
)

# Every visible control a finger must hit, and what it reports (selector, font px, height px).
CONTROLS = """() => [...document.querySelectorAll(
    'main input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file]),'
    + 'main select, main textarea, main button, header button, header nav a')]
  .filter(e => e.offsetParent !== null)
  .map(e => [e.outerHTML.slice(0, 80), parseFloat(getComputedStyle(e).fontSize),
             e.getBoundingClientRect().height])"""


@pytest.fixture
def manager_page(live_server: LiveServer, store: Store, phone_page: Any) -> Any:
    """The phone page logged in as a manager, with room for the first page that loads the road
    graph on a busy machine."""
    add_user(store, "boss")
    phone_page.set_default_timeout(180_000)
    log_in_page(phone_page, live_server.url, "boss", "/calendar")
    return phone_page


def _plan(store: Store) -> int:
    """A stored two-week plan with a long day and unplaced visits, as /plan shows one."""
    start = next_monday("Europe/Berlin")
    day = start + timedelta(days=1)
    stops = tuple(
        Stop(
            visit_id=f"{a}@{day.isoformat()}",
            account_id=a,
            arrival_s=(9 + i) * HOUR,
            start_s=(9 + i) * HOUR,
            departure_s=(9 + i) * HOUR + 1800,
            travel_s=600,
            distance_m=6000,
        )
        for i, a in enumerate(("A1", "A2"))
    )
    route = DayRoute(rep_id="R1", day=day, start_s=8 * HOUR, end_s=17 * HOUR, stops=stops)
    unplaced = Unassigned(
        visit_id="A3@w1",
        account_id="A3",
        reason=UnassignedReason.UNREACHABLE,
        detail="the account is not on the road network " * 4,
    )
    plan_id = store.plans.start(Horizon(start=start, weeks=2, timezone="Europe/Berlin"))
    store.plans.complete(plan_id, Plan(routes=(route,), unassigned=(unplaced,)))
    return plan_id


def test_every_manager_page_fits_a_phone_with_16px_controls_and_44px_targets(
    live_server: LiveServer, store: Store, manager_page: Any
) -> None:
    _plan(store)
    page = manager_page
    problems: list[str] = []
    for path in MANAGER_PAGES:
        page.goto(live_server.url + path)
        assert page.title() != "Error · routeplanner", path
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            problems.append(f"{path}: page {width[0]} px wide in a {width[1]} px window")
        for html, font, height in page.evaluate(CONTROLS):
            if font < 16:
                problems.append(f"{path}: {font} px font in {html}")
            if height < 44:
                problems.append(f"{path}: {height:.0f} px high {html}")
    assert not problems, "\n".join(problems)


def test_wide_tables_scroll_in_their_box_with_the_first_column_in_view(
    live_server: LiveServer, store: Store, manager_page: Any
) -> None:
    page = manager_page
    page.goto(live_server.url + "/accounts")
    box = page.locator("#accounts").locator("xpath=..")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")  # the table is wider: it scrolls
    box.evaluate("e => e.scrollLeft = 400")
    first = page.locator('tr[data-account="A1"] td').first.bounding_box()
    assert first is not None
    assert first["x"] >= 0  # sticky: still at the left edge after scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_accounts_save_column_is_visible_on_a_laptop(
    live_server: LiveServer, store: Store, chromium: Any
) -> None:
    add_user(store, "boss")
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(180_000)
        log_in_page(page, live_server.url, "boss", "/accounts")
        save = page.locator('tr[data-account="A1"] button[type="submit"]')
        box = save.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 1280
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        # Saving from a filtered list comes back to the same filtered list.
        page.goto(live_server.url + "/accounts?q=A1&sort=name&desc=1")
        page.locator('tr[data-account="A1"] input[name="visit_minutes"]').fill("35")
        page.locator('tr[data-account="A1"] button[type="submit"]').click()
        page.wait_for_selector("#message")
        assert re.search(r"/accounts\?q=A1&sort=name&desc=1&page=1&saved=A1\+saved$", page.url)
        assert page.locator("#accounts tbody tr").count() == 1
    finally:
        context.close()


def test_copy_button_puts_the_feed_url_in_the_clipboard_and_a_reload_keeps_it(
    live_server: LiveServer, store: Store, manager_page: Any
) -> None:
    page = manager_page
    origin = live_server.url
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page.goto(origin + "/calendar?rep=R1")
    page.locator('form[action="/calendar/rotate"] button').first.click()
    page.wait_for_selector("#feed-url")
    url = page.locator("#feed-url").input_value()
    assert re.fullmatch(re.escape(origin) + r"/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    page.locator('button[data-copy="feed-url"]').click()
    wait_until(page, "document.getElementById('copy-status').textContent !== ''")
    assert page.evaluate("navigator.clipboard.readText()") == url
    assert page.evaluate("window.getSelection().toString() || document.activeElement.id") in (
        url,
        "feed-url",
    )
    qr = page.locator("svg.qr").bounding_box()
    assert qr is not None
    assert qr["width"] >= 150
    page.reload()
    assert page.locator("#feed-url").input_value() == url  # a reload never rotates again
    feed = page.request.get(url)
    assert feed.status == 200
    assert feed.headers["content-type"].startswith("text/calendar")


def test_plan_form_offers_the_current_plans_horizon(
    live_server: LiveServer, store: Store, manager_page: Any
) -> None:
    _plan(store)
    manager_page.goto(live_server.url + "/plan")
    weeks = manager_page.locator('form[action="/plan/start"] input[name="weeks"]')
    assert weeks.input_value() == "2"
    assert (
        date.fromisoformat(
            manager_page.locator('form[action="/plan/start"] input[name="start"]').input_value()
        ).weekday()
        == 0
    )


def test_bulk_edit_previews_then_applies_on_a_phone_without_javascript(
    live_server: LiveServer, store: Store, chromium: Any
) -> None:
    add_user(store, "boss")
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.set_default_timeout(180_000)
        log_in_page(page, live_server.url, "boss", "/accounts")
        page.locator('input[aria-label="Select A1"]').check()
        page.locator('input[aria-label="Select A2"]').check()
        page.locator('#bulk input[name="visit_minutes"]').fill("25")
        page.locator("#bulk button").tap()
        page.wait_for_selector("#bulk-preview")
        assert "2 of 2 selected accounts change, 0 unchanged" in page.inner_text("#bulk-summary")
        assert page.locator("#bulk-changes tbody tr").count() == 2
        assert store.accounts.get("A1").visit_duration_s == 30 * 60  # type: ignore[union-attr]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for html, font, height in page.evaluate(CONTROLS):
            assert font >= 16, html
            assert height >= 44, html
        page.locator("#bulk-apply button").tap()
        page.wait_for_selector("#message")
        assert "2 accounts saved, 0 unchanged" in page.inner_text("#message")
        assert {a.visit_duration_s for a in store.accounts.all() if a.account_id != "A3"} == {
            25 * 60
        }
    finally:
        context.close()
