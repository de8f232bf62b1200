"""Logging a visit on a phone: tap "Done", see the status, no external requests."""

from __future__ import annotations

from typing import Any

import pytest

from routeplanner.model.history import VisitStatus
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer
from tests.web.test_route_page import DAY, _store_plan

pytestmark = [pytest.mark.browser, pytest.mark.osm]


def test_tap_done_on_a_phone(live_server: LiveServer, store: Store, manager_page: Any) -> None:
    page = manager_page
    _store_plan(store)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/route?rep=R1&day={DAY.isoformat()}")
    stop = page.locator("#stop-2")
    done = stop.locator("button.done")
    box = done.bounding_box()
    assert box is not None
    assert box["height"] >= 44  # big enough to tap
    stop.locator('input[name="note"]').fill("Grüße an Frau Müller")
    done.tap()
    page.wait_for_selector("#stop-2 .visit-status.done")
    assert page.locator("#stop-2 .visit-status").inner_text().startswith("done at ")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    (record,) = store.visits.find()
    assert record.status is VisitStatus.DONE
    assert record.note == "Grüße an Frau Müller"
    assert all(u.startswith(live_server.url) for u in requests)
