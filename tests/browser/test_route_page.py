"""The rep's day page in a real browser on a phone: stops, navigation link, offline map."""

from __future__ import annotations

from typing import Any

import pytest

from routeplanner.storage import Store
from tests.browser.conftest import LiveServer
from tests.web.test_route_page import DAY, _store_plan

pytestmark = [pytest.mark.browser, pytest.mark.osm]


def test_day_page_on_a_phone(live_server: LiveServer, store: Store, manager_page: Any) -> None:
    phone_page = manager_page
    _store_plan(store)
    requests: list[str] = []
    phone_page.on("request", lambda r: requests.append(r.url))
    phone_page.goto(f"{live_server.url}/route?rep=R1&day={DAY.isoformat()}")
    items = phone_page.locator("#stops > li")
    assert items.count() == 2
    assert "Apotheke am Bismarckplatz" in items.nth(0).inner_text()
    href = items.nth(1).locator("a.nav").get_attribute("href")
    assert href.startswith("https://www.google.com/maps/dir/?api=1")  # a desktop browser
    assert "destination=49.410600,8.694000" in href
    box = phone_page.locator("svg.map").bounding_box()
    assert box is not None
    assert 300 < box["width"] <= 390
    assert phone_page.locator("svg.map polyline.leg").count() == 3
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    # offline by default: every request the page made went to our own server
    assert requests
    assert all(u.startswith(live_server.url) for u in requests)
