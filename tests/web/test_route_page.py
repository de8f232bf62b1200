"""The rep's day page renders a stored plan: stop order, ETAs, navigation links and the map."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import DayRoute, Horizon, Plan, Stop
from routeplanner.storage import Store
from routeplanner.units import HOUR

pytestmark = pytest.mark.osm
DAY = date(2026, 11, 24)  # a Tuesday


def _store_plan(store: Store) -> None:
    stops = (
        # leave 08:00, 12 min drive, arrive 08:12, wait for opening until 08:15, visit 30 min
        Stop(
            visit_id="A2@1",
            account_id="A2",
            arrival_s=8 * HOUR + 720,
            start_s=8 * HOUR + 900,
            departure_s=8 * HOUR + 900 + 2700,
            travel_s=720,
            distance_m=4200,
            wait_s=180,
        ),
        Stop(
            visit_id="A1@1",
            account_id="A1",
            arrival_s=9 * HOUR + 120,
            start_s=9 * HOUR + 120,
            departure_s=9 * HOUR + 1920,
            travel_s=120,
            distance_m=300,
        ),
    )
    route = DayRoute(
        rep_id="R1",
        day=DAY,
        start_s=8 * HOUR,
        end_s=9 * HOUR + 2700,
        stops=stops,
        travel_s=1620,
        distance_m=8800,
    )
    plan_id = store.plans.start(Horizon(start=DAY, weeks=1))
    store.plans.complete(plan_id, Plan(routes=(route,)))


def test_route_page_without_plan_explains_what_to_do(client: TestClient) -> None:
    response = client.get("/route")
    assert response.status_code == 200
    assert "No plan yet" in response.text


def test_route_page_shows_stops_in_order_with_etas(client: TestClient, store: Store) -> None:
    _store_plan(store)
    html = client.get(f"/route?rep=R1&day={DAY.isoformat()}").text
    assert "Jürgen Weiß" in html
    first, second = html.index('data-account="A2"'), html.index('data-account="A1"')
    assert first < second
    # calendar events link to the N-th stop of the day with #stop-N
    assert '<li id="stop-1" data-account="A2" class="stop">' in html
    assert '<li id="stop-2" data-account="A1" class="stop">' in html
    assert '<strong>08:15</strong> <a href="/accounts/A2">Apotheke am Bismarckplatz</a>' in html
    assert "arrive 08:12, wait 3 min" in html
    assert '<strong>09:02</strong> <a href="/accounts/A1">Bäckerei Müller</a>' in html
    assert "visit A1@1" in html
    assert "destination=49.410600,8.694000" in html  # one Navigate link per stop
    assert "Leave home 08:00 · back 09:45" in html
    # the map: road background from our own graph, one polyline per leg (home, 2 stops, home)
    assert '<path class="roads" d="M' in html
    assert html.count('<polyline class="leg"') == 3
    assert "tile" not in html.lower()  # nothing fetched from a tile server by default


def test_day_page_is_sent_gzipped_to_browsers_that_ask(client: TestClient, store: Store) -> None:
    """The day page is read on phones in weak signal: it must travel compressed."""
    _store_plan(store)
    url = f"/route?rep=R1&day={DAY.isoformat()}"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "charset=utf-8" in packed.headers["content-type"]
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.text == plain.text  # httpx inflates it: same page, umlauts intact
