"""The day map on a phone in Debian's Chromium: it fits the screen, zooms (wheel, buttons) and
pans (drag) with markers and street names keeping their size, a tap on a marker opens the
stop's card, and two stops at nearly the same place get markers that can each be tapped."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from routeplanner.model import GeoPoint
from routeplanner.storage import Store
from tests.browser.conftest import LiveServer, log_in_page, wait_until
from tests.web.rep_day_data import store_world, today

pytestmark = [pytest.mark.browser, pytest.mark.osm]


@pytest.fixture
def phone(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(90_000)  # the first page loads the road network
    yield page
    context.close()


def _day(live_server: LiveServer, store: Store, page: Any) -> list[str]:
    """Rep juergen's day page; console errors (CSP violations among them) collected."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in_page(page, live_server.url, "juergen")
    page.goto(f"{live_server.url}/route?rep=R1&day={today().isoformat()}")
    page.wait_for_selector(".map-tools")
    return problems


def _view(page: Any) -> list[float]:
    return [float(v) for v in page.locator("svg.day-map").get_attribute("viewBox").split()]


def _face(page: Any, stop: int) -> dict[str, float]:
    box = page.locator(f'svg.day-map a.marker[data-stop="{stop}"] circle.face').bounding_box()
    assert box is not None
    return dict(box)


def test_the_map_fits_the_screen_zooms_and_pans(
    live_server: LiveServer, store: Store, phone: Any
) -> None:
    store_world(store, today())
    problems = _day(live_server, store, phone)
    svg = phone.locator("svg.day-map")
    box = svg.bounding_box()
    assert box["width"] <= 390, box
    assert box["height"] <= box["width"] * 1.05, box
    assert phone.locator("svg.day-map .streets textPath").count() >= 1
    start, marker = _view(phone), _face(phone, 1)
    phone.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    phone.mouse.wheel(0, -400)
    wait_until(phone, "document.querySelector('svg.day-map').dataset.zoom !== '1.00'")
    wheeled = _view(phone)
    assert wheeled[2] < start[2] * 0.5, (start, wheeled)
    phone.get_by_role("button", name="Zoom in").tap()
    zoomed = _view(phone)
    assert zoomed[2] < wheeled[2], (wheeled, zoomed)
    # markers keep their size on screen while the map grows under them
    assert abs(_face(phone, 1)["width"] - marker["width"]) < 2
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    phone.mouse.move(cx, cy)
    phone.mouse.down()
    phone.mouse.move(cx + 80, cy + 40, steps=8)
    phone.mouse.up()
    dragged = _view(phone)
    assert dragged[0] < zoomed[0], (zoomed, dragged)
    assert dragged[1] < zoomed[1], (zoomed, dragged)
    assert dragged[2] == pytest.approx(zoomed[2])
    phone.get_by_role("button", name="Whole day").tap()
    assert _view(phone) == pytest.approx(start)
    assert not [p for p in problems if "Content Security Policy" in p], problems


def test_close_stops_get_their_own_markers_and_a_tap_opens_the_card(
    live_server: LiveServer, store: Store, phone: Any
) -> None:
    store_world(store, today())
    # A1 a few metres from A2: without spreading, marker 2 would hide marker 1
    a1 = store.accounts.get("A1")
    assert a1 is not None
    store.accounts.upsert(
        [dataclasses.replace(a1, location=GeoPoint(49.40932, 8.69363))], source="test"
    )
    problems = _day(live_server, store, phone)
    one, two = _face(phone, 1), _face(phone, 2)
    centre = {
        n: (f["x"] + f["width"] / 2, f["y"] + f["height"] / 2) for n, f in ((1, one), (2, two))
    }
    gap = ((centre[1][0] - centre[2][0]) ** 2 + (centre[1][1] - centre[2][1]) ** 2) ** 0.5
    assert gap >= one["width"], (one, two)  # the faces do not overlap
    assert phone.locator("#map-card").is_hidden()
    for stop, name in ((1, "Apotheke am Bismarckplatz"), (2, "Bäckerei Müller")):
        phone.locator("svg.day-map").scroll_into_view_if_needed()
        face = _face(phone, stop)  # the card opening may have scrolled the page
        phone.touchscreen.tap(face["x"] + face["width"] / 2, face["y"] + face["height"] / 2)
        card = phone.locator("#map-card")
        card.wait_for(state="visible")
        assert name in card.inner_text()
        assert card.locator("button.done").count() == 1  # the stop's own actions
    assert phone.url.endswith(f"day={today().isoformat()}")  # the tap did not jump away
    assert not [p for p in problems if "Content Security Policy" in p], problems
