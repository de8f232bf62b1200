"""A manager moves accounts on the territory map in Debian's Chromium: click and lasso
accounts, preview the figures, apply, and find the moves in the ownership history; the page
runs under its strict Content-Security-Policy without a violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from routeplanner.model.history import OwnershipCause
from routeplanner.services import territories as territory_service
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.browser.test_manager_pages import CONTROLS
from tests.browser.test_territories_page import screenshot_dir, store  # noqa: F401
from tests.conftest import add_user
from tests.web.test_territories_page import owners

pytestmark = [pytest.mark.browser, pytest.mark.osm]

CENTRES = """() => [...document.querySelectorAll('svg.territory-map circle[data-account]')]
  .map(c => { const r = c.getBoundingClientRect();
              return [c.dataset.account, r.x + r.width / 2, r.y + r.height / 2]; })"""
TICKED = """() => [...document.querySelectorAll('input[name=account_ids]:checked')]
  .map(b => b.value).sort()"""


@pytest.fixture
def laptop(live_server: LiveServer, store: Store, chromium: Any) -> Iterator[Any]:  # noqa: F811
    """A logged-in manager at a laptop-sized window, collecting console errors."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(180_000)
    errors: list[str] = []
    # Chromium asks for /favicon.ico by itself; the site has none.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.errors = errors
    add_user(store, "boss")
    log_in_page(page, live_server.url, "boss")
    yield page
    context.close()


def _centres(page: Any) -> dict[str, tuple[float, float]]:
    return {aid: (x, y) for aid, x, y in page.evaluate(CENTRES)}


def test_click_and_lasso_select_preview_apply(
    live_server: LiveServer,
    store: Store,  # noqa: F811
    laptop: Any,
) -> None:
    page = laptop
    before = store.territories.all()
    source, target = before[0], before[1]
    page.goto(f"{live_server.url}/territories")
    page.locator("svg.territory-map").scroll_into_view_if_needed()
    centres = _centres(page)
    first, second = [a for a in source.account_ids if a in centres][:2]
    # a click ticks an account in the list and rings it on the map; a second click unticks
    page.mouse.click(*centres[first])
    assert page.evaluate(TICKED) == [first]
    assert page.locator(f'circle.picked[data-account="{first}"]').count() == 1
    assert page.locator("#move-count").inner_text() == "1 selected"
    page.mouse.click(*centres[first])
    assert page.evaluate(TICKED) == []
    # the lasso: Shift-drag a box around two accounts ticks every account inside it
    xs = [centres[first][0], centres[second][0]]
    ys = [centres[first][1], centres[second][1]]
    box = (min(xs) - 6, min(ys) - 6, max(xs) + 6, max(ys) + 6)
    inside = sorted(
        a for a, (x, y) in centres.items() if box[0] < x < box[2] and box[1] < y < box[3]
    )
    page.keyboard.down("Shift")
    page.mouse.move(box[0], box[1])
    page.mouse.down()
    for x, y in ((box[2], box[1]), (box[2], box[3]), (box[0], box[3]), (box[0], box[1] + 1)):
        page.mouse.move(x, y, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    assert page.evaluate(TICKED) == inside
    assert first in inside
    assert second in inside
    moving = [a for a in inside if owners(before)[a] != target.rep_id]
    # the Lasso button does the same without a key (a tablet has none)
    page.click("#move-lasso")
    assert page.get_attribute("#move-lasso", "aria-pressed") == "true"
    page.select_option("#move-target", target.territory_id)
    page.click("#move-preview-button")
    page.wait_for_selector("#move-figures")
    page.screenshot(path=str(screenshot_dir() / "territory-move-preview.png"), full_page=True)
    assert "Max workload deviation" in page.inner_text("#move-figures")
    assert page.evaluate(TICKED) == inside  # the selection survives the preview
    assert store.territories.all() == before  # a preview stores nothing
    page.click("#move-apply-button")
    page.wait_for_selector("#moved-note")
    assert page.inner_text("#moved-note").startswith(f"Moved {len(moving)} account")
    after = owners(store.territories.all())
    assert all(after[a] == target.rep_id for a in inside)
    record = territory_service.history(store, moving[0])[-1]
    assert record.cause == OwnershipCause.MANUAL
    assert record.changed_by == "boss"
    assert page.errors == []  # no script error, no CSP violation


def test_move_controls_fit_a_phone(
    live_server: LiveServer,
    store: Store,  # noqa: F811
    manager_page: Any,
) -> None:
    """At 390 px with the account list open: no sideways page scrolling, the list scrolls in
    its own box, every control 44 px high with a 16 px font (as on every manager page)."""
    page = manager_page
    page.set_default_timeout(180_000)
    page.goto(f"{live_server.url}/territories")
    page.click("#move-list summary")
    assert page.locator("#move-lasso").is_visible()
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1]
    problems = [
        f"{html}: {font} px, {height:.0f} px high"
        for html, font, height in page.evaluate(CONTROLS)
        if font < 16 or height < 44
    ]
    assert not problems, "\n".join(problems)
    listing = page.locator(".move-list")
    assert listing.evaluate("e => e.scrollHeight > e.clientHeight")  # scrolls in its box
    # a tap on the map ticks an account (touch, no mouse)
    page.locator("svg.territory-map").scroll_into_view_if_needed()
    aid, x, y = next(
        (a, x, y)
        for a, x, y in page.evaluate(CENTRES)
        if page.evaluate(f"document.elementFromPoint({x}, {y})?.dataset?.account") == a
    )
    page.touchscreen.tap(x, y)
    assert page.evaluate(TICKED) == [aid]
