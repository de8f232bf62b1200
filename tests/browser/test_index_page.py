"""The first page in a real browser on a phone-sized screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.osm]


def test_index_renders_umlauts_and_fits_a_phone(live_server: LiveServer, manager_page: Any) -> None:
    phone_page = manager_page
    phone_page.goto(live_server.url + "/")
    assert phone_page.title() == "Accounts & reps · routeplanner"
    names = phone_page.locator("#accounts tbody tr td:nth-child(2)").all_inner_texts()
    assert "Bäckerei Müller" in names
    assert phone_page.locator("#reps tbody tr").count() == 1
    # The page itself must not scroll sideways on a phone; wide tables scroll inside their wrapper.
    page_width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 390
    unreachable = phone_page.locator('tr[data-account="A3"] .bad').inner_text()
    assert unreachable.startswith("unreachable")
