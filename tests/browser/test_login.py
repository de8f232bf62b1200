"""Logging in on a phone: the form works without help and a rep lands on their day page."""

from __future__ import annotations

from typing import Any

import pytest

from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page
from tests.conftest import add_user
from tests.web.test_route_page import DAY, _store_plan

pytestmark = [pytest.mark.browser, pytest.mark.osm]


def test_rep_logs_in_on_a_phone_and_lands_on_the_day_page(
    live_server: LiveServer, store: Store, phone_page: Any
) -> None:
    _store_plan(store)
    add_user(store, "juergen", role="rep", rep_id="R1")
    phone_page.goto(live_server.url + f"/route?day={DAY.isoformat()}")
    assert "/login?next=" in phone_page.url
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.fill('input[name="username"]', "juergen")
    phone_page.fill('input[name="password"]', "wrong password")
    phone_page.click('button[type="submit"]')
    assert phone_page.locator("#login-error").inner_text() == "Wrong username or password."
    log_in_page(phone_page, live_server.url, "juergen", f"/route?day={DAY.isoformat()}")
    assert phone_page.url.endswith(f"/route?day={DAY.isoformat()}")
    assert phone_page.locator("#stops > li").count() == 2
    assert phone_page.locator("#nav-user").inner_text() == "juergen"
    phone_page.click("form.logout button")
    phone_page.wait_for_url(lambda url: url.endswith("/login"))
