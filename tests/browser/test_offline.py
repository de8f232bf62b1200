"""Offline on a phone in Debian's Chromium: the service worker keeps the day page, a report
made without network waits on the phone (and the page says so), and once the network is back
it arrives exactly once, at the time it was made."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from routeplanner.model.history import VisitStatus
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page, wait_until
from tests.web.rep_day_data import store_world, today

pytestmark = [pytest.mark.browser, pytest.mark.osm]


@pytest.fixture
def phone(chromium: Any) -> Iterator[tuple[Any, Any]]:
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(90_000)
    yield context, page
    context.close()


def _wait(check: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_report_made_offline_arrives_once_when_back(
    live_server: LiveServer, store: Store, phone: tuple[Any, Any]
) -> None:
    context, page = phone
    store_world(store, today())
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in_page(page, live_server.url, "juergen")
    url = f"{live_server.url}/route?rep=R1&day={today().isoformat()}"
    page.goto(url)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()  # now under the worker's control, which keeps the page
    wait_until(page, "navigator.serviceWorker.controller !== null")
    assert page.locator("#queue").is_hidden()

    context.set_offline(True)
    page.locator("#stop-2 .done-form input[name=outcome]").fill("order")
    page.locator("#stop-2 button.done").tap()
    page.wait_for_selector("#queue:not([hidden])")
    assert "1 report waits" in page.locator("#queue").inner_text()
    assert "Bäckerei Müller done at" in page.locator("#queue").inner_text()
    assert store.visits.find() == []
    page.reload()  # the kept page, with the queue read back from the phone
    page.wait_for_selector("#queue:not([hidden])")
    assert "0 of 2 done" in page.locator("#progress").inner_text()

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    _wait(lambda: len(store.visits.find()) == 1)
    page.wait_for_selector("#stop-2.finished")
    assert page.locator("#queue").is_hidden()
    # the queue is empty: coming back again sends nothing more
    page.evaluate("window.dispatchEvent(new Event('online'))")
    time.sleep(1.5)
    records = store.visits.find()
    assert len(records) == 1
    assert records[0].status is VisitStatus.DONE
    assert records[0].outcome == "order"
    assert records[0].report_id
    assert not [p for p in problems if "Content Security Policy" in p], problems


def test_a_report_whose_sending_fails_while_online_is_queued_and_arrives_once(
    live_server: LiveServer, store: Store, chromium: Any
) -> None:
    """The phone says it is online, but the report gets no answer (a dead connection) or a
    503: it waits on the phone instead of being lost, and arrives once the server answers."""
    # page.route sees only requests no service worker handles
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        service_workers="block",
    )
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        store_world(store, today())
        log_in_page(page, live_server.url, "juergen")
        page.goto(f"{live_server.url}/route?rep=R1&day={today().isoformat()}")
        reports: list[str] = []

        def dead(route: Any) -> None:
            reports.append(route.request.url)
            route.abort("connectionreset")

        def unavailable(route: Any) -> None:
            reports.append(route.request.url)
            route.fulfill(status=503, body="maintenance")

        page.route("**/route/visit", dead)
        page.route("**/api/v1/visits", dead)
        # the one-tap outcome: the submitting button's value must be queued with the report
        page.locator("#stop-2 button.pick").first.tap()
        page.wait_for_selector("#queue:not([hidden])")
        assert page.evaluate("navigator.onLine")
        assert "1 report waits" in page.locator("#queue").inner_text()
        assert "Bäckerei Müller done at" in page.locator("#queue").inner_text()

        page.unroute("**/route/visit")
        page.route("**/route/visit", unavailable)
        page.locator("#stop-1 button.missed").tap()
        # (wait_for_function would evaluate a string, which the page's CSP forbids)
        _wait(lambda: "2 reports wait" in page.locator("#queue").inner_text())
        assert page.locator("#stop-1 .visit-log[data-queued=missed]").count() == 1
        assert reports  # the reports were really sent, and failed
        assert store.visits.find() == []

        page.unroute("**/route/visit")
        page.unroute("**/api/v1/visits")
        # no "online" event comes (the phone never went offline): the page retries by itself
        _wait(lambda: len(store.visits.find()) == 2, seconds=60)
        page.wait_for_selector("#stop-2.finished")
        assert page.locator("#queue").is_hidden()
        page.evaluate("window.dispatchEvent(new Event('online'))")
        time.sleep(1.5)
        records = store.visits.find()
        assert sorted(r.status.value for r in records) == ["done", "missed"]
        assert len({r.report_id for r in records}) == 2
        assert next(r for r in records if r.status is VisitStatus.DONE).outcome == "order"
    finally:
        context.close()
