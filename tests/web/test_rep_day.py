"""The rep's day over real HTTP: one-tap reports at the current time, corrections, outcomes,
progress, finished stops, confirmations at the stop, undo within the grace period, reports
refused for days still to come, navigation by platform and the page's policy and size."""

from __future__ import annotations

import gzip
import re
import time
from datetime import datetime, timedelta
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from routeplanner.model.history import VisitStatus
from routeplanner.settings import Settings
from routeplanner.storage import Store
from tests.conftest import log_in
from tests.web.rep_day_data import TZ, store_world, today, visit

pytestmark = pytest.mark.osm
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile"


@pytest.fixture
def rep(anon_client: TestClient, store: Store) -> TestClient:
    """Rep R1 (juergen), logged in, with today's plan stored."""
    store_world(store, today())
    log_in(anon_client, "juergen")
    return anon_client


def _page(day: object = None) -> str:
    return f"/route?rep=R1&day={day or today()}"


def _post(client: TestClient, account_id: str, status: str, **extra: str) -> str:
    data = {"visit_id": visit(account_id, today()), "status": status, "rep": "R1", **extra}
    response = client.post("/route/visit", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def _wait_for(client: TestClient, job: str) -> None:
    """Until repair job ``job`` has ended (held back for undo, then running)."""
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/visits/jobs/{job}").json()["state"] in ("waiting", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def _minutes(moment: datetime) -> int:
    local = moment.astimezone(TZ)
    return local.hour * 60 + local.minute


def test_check_in_and_done_record_the_current_time_and_can_be_corrected(
    rep: TestClient, store: Store
) -> None:
    before = _minutes(datetime.now(TZ))
    location = _post(rep, "A2", "checked_in", stop="1")
    after = _minutes(datetime.now(TZ))
    (checked,) = store.visits.find()
    assert checked.actual_start is not None
    assert before <= _minutes(checked.actual_start) <= after
    assert location.endswith("#stop-1")
    assert "saved=" in location
    html = rep.get(location).text
    assert 'id="confirm"' in html
    assert "Saved: Apotheke am Bismarckplatz — checked in at" in html
    # done later keeps the check-in's start; the outcome and note are stored
    _post(rep, "A2", "done", outcome="order", note="3 Kisten")
    done = store.visits.find()[-1]
    assert (done.status, done.actual_start, done.outcome) == (
        VisitStatus.DONE,
        checked.actual_start,
        "order",
    )
    # corrected afterwards: a later report replaces the earlier one on the page
    _post(rep, "A2", "done", at="08:05", outcome="order", note="3 Kisten")
    html = rep.get(_page()).text
    assert '<span class="visit-status done" data-visit="' + visit("A2", today()) in html
    assert "done at 08:05" in html
    assert 'value="08:05"' in html  # the correction form shows the stored time


def test_progress_and_finished_stops_collapsed_and_grey(rep: TestClient) -> None:
    html = rep.get(_page()).text
    assert "0 of 2 done" in html
    assert "<details>" not in html
    _post(rep, "A2", "done")
    html = rep.get(_page()).text
    assert "1 of 2 done" in html
    first = html[html.index('id="stop-1"') : html.index('id="stop-2"')]
    assert 'class="stop finished done"' in first
    assert "<details><summary>" in first
    assert 'class="done-form"' not in first  # no more buttons but the time correction
    assert 'class="edit-time"' in first
    assert html.count('<a class="marker stop done" href="#stop-1"') == 1
    assert html.count('<a class="marker stop" href="#stop-2"') == 1
    assert 'fill="#6b7280"' in html


def test_outcome_is_bounded_and_offered_from_the_settings(rep: TestClient, store: Store) -> None:
    html = rep.get(_page()).text
    assert '<datalist id="outcomes"><option value="order">' in html
    data = {"visit_id": visit("A1", today()), "status": "done", "outcome": "x" * 61}
    assert rep.post("/route/visit", data=data).status_code == 422
    assert store.visits.find() == []


def test_a_day_still_to_come_takes_no_reports(rep: TestClient, store: Store) -> None:
    later = today() + timedelta(days=7)
    data = {"visit_id": visit("A1", later), "status": "done", "rep": "R1"}
    response = rep.post("/route/visit", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert "only days up to" in response.text
    assert store.visits.find() == []
    html = rep.get(_page(later)).text
    assert "Reports open on" in html
    assert 'action="/route/visit"' not in html


def test_undo_a_missed_visit_within_the_grace_period(
    settings: Settings, store: Store, anon_client: TestClient
) -> None:
    settings.undo_grace_s = 60.0
    rep = anon_client
    store_world(store, today())
    log_in(rep, "juergen")
    plan_before = store.plans.current_id()
    location = _post(rep, "A1", "missed", stop="2")
    job = int(re.search(r"job=(\d+)", location).group(1))  # type: ignore[union-attr]
    html = rep.get(location).text
    assert "Re-planning starts in" in html
    assert 'action="/route/visit/undo"' in html
    assert rep.get(f"/api/v1/visits/jobs/{job}").json()["state"] == "waiting"
    report = re.search(r"report=(\d+)", location).group(1)  # type: ignore[union-attr]
    form = {"job": str(job), "report": report, "day": today().isoformat()}
    form["visit_id"] = visit("A1", today())
    response = rep.post("/route/visit/undo", data={**form, "stop": "2"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].endswith("#stop-2")
    assert "undone=" in response.headers["location"]
    assert "is open again" in rep.get(response.headers["location"]).text
    assert store.visits.find() == []  # withdrawn: counts nowhere, but kept
    (kept,) = store.visits.find(withdrawn=True)
    assert kept.withdrawn_at is not None
    assert rep.get(f"/api/v1/visits/jobs/{job}").json()["state"] == "undone"
    assert rep.post("/route/visit/undo", data=form).status_code == 409
    assert store.plans.current_id() == plan_before


def test_undo_is_refused_once_the_repair_started_and_for_another_rep(
    client: TestClient, store: Store
) -> None:
    store_world(store, today())
    location = _post(client, "A1", "missed")
    job = re.search(r"job=(\d+)", location).group(1)  # type: ignore[union-attr]
    report = re.search(r"report=(\d+)", location).group(1)  # type: ignore[union-attr]
    form = {"job": job, "report": report, "day": today().isoformat()}
    _wait_for(client, job)
    assert client.post("/route/visit/undo", data=form).status_code == 409
    assert len(store.visits.find()) == 1


def test_a_rep_cannot_undo_another_reps_report(
    settings: Settings, store: Store, anon_client: TestClient
) -> None:
    settings.undo_grace_s = 60.0
    store_world(store, today())
    log_in(anon_client, "juergen")
    location = _post(anon_client, "A1", "missed")
    job = re.search(r"job=(\d+)", location).group(1)  # type: ignore[union-attr]
    report = re.search(r"report=(\d+)", location).group(1)  # type: ignore[union-attr]
    log_in(anon_client, "anna")
    form = {"job": job, "report": report, "day": today().isoformat()}
    assert anon_client.post("/route/visit/undo", data=form).status_code == 403
    assert len(store.visits.find()) == 1


def test_a_rep_may_not_see_another_reps_day(rep: TestClient) -> None:
    assert rep.get("/route?rep=R2").status_code == 403


def test_navigation_by_platform_and_the_whole_day(rep: TestClient) -> None:
    ios = rep.get(_page(), headers={"User-Agent": IPHONE}).text
    assert 'class="btn nav" href="https://maps.apple.com/?saddr=' in ios
    assert "geo:" not in ios
    android = rep.get(_page(), headers={"User-Agent": ANDROID}).text
    assert 'class="btn nav" href="https://www.google.com/maps/dir/?api=1' in android
    assert 'class="alt-nav" href="geo:49.410600,8.694000' in android
    assert ios.count('class="btn nav"') == android.count('class="btn nav"') == 2
    handoff = re.search(r'id="handoff"><a class="btn" href="([^"]+)"', android)
    assert handoff is not None
    url = unquote(handoff.group(1).replace("&amp;", "&"))
    assert "waypoints=49.409300,8.693600|49.410600,8.694000" in url
    assert "destination=49.398800,8.672400" in url  # home
    assert "origin=" not in url  # from where the phone is
    _post(rep, "A2", "done")
    again = rep.get(_page(), headers={"User-Agent": ANDROID}).text
    assert "49.409300,8.693600" not in unquote(again.split('id="handoff"')[1].split("</p>")[0])


def test_rep_pages_have_a_strict_policy_and_no_inline_code(rep: TestClient) -> None:
    for path in (_page(), "/route/accounts", "/accounts/A1"):
        response = rep.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        html = response.text
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None, path
        assert re.search(r"\sstyle=", html) is None, path
        assert re.search(r"\son[a-z]+=", html) is None, path
        assert "<style" not in html, path


def _page_bytes(client: TestClient, html: str) -> dict[str, int]:
    """What a phone downloads for the day page, each gzipped (level 6) as served: the HTML and
    every script, stylesheet and manifest it references from our static files."""
    sizes = {"html": len(gzip.compress(html.encode(), 6))}
    for ref in re.findall(r'(?:src|href)="(?:https?://[^/"]+)?(/static/[^"]+)"', html):
        response = client.get(ref)
        assert response.status_code == 200, ref
        sizes[ref] = len(gzip.compress(response.content, 6))
    return sizes


def test_day_page_with_its_map_stays_small(client: TestClient, store: Store) -> None:
    """A day of the sample region (real roads and street names in the map) with everything
    it loads, gzipped: at most 40 KB."""
    store_world(store, today())
    html = client.get(_page()).text
    assert '<path class="roads" d="M' in html
    assert "<textPath" in html
    sizes = _page_bytes(client, html)
    assert {
        "/static/day.js",
        "/static/daymap.js",
        "/static/app.js",
        "/static/app.css",
    } <= sizes.keys(), sizes
    assert sum(sizes.values()) <= 40 * 1024, sizes


@pytest.mark.slow
def test_the_repair_says_why_each_visit_changed_and_stays_on_the_day_page(
    client: TestClient, store: Store
) -> None:
    store_world(store, today())
    location = _post(client, "A1", "missed")
    job = re.search(r"job=(\d+)", location).group(1)  # type: ignore[union-attr]
    _wait_for(client, job)
    html = client.get(location).text
    box = html[html.index('id="changes"') : html.index("</section>")]
    lines = re.findall(r"<li>([^<]+)</li>", box)
    assert lines, box
    assert all(" — " in line for line in lines), lines  # every change with its reason
    later = client.get(_page()).text  # the rep left and came back: still there, folded
    assert '<details class="changes last" id="last-changes">' in later
    assert all(line in later for line in lines)


def test_a_report_sent_again_under_its_phone_id_is_stored_once(
    rep: TestClient, store: Store, anon_client: TestClient
) -> None:
    """The offline queue's retry: the same ``report_id`` twice (API, then form) is one
    report; a malformed id is refused; another rep cannot reuse it."""
    body = {"visit_id": visit("A2", today()), "status": "done", "report_id": "a1b2c3d4-0001"}
    first = rep.post("/api/v1/visits", json={**body, "at": "09:05", "outcome": "order"})
    assert first.status_code == 200, first.text
    again = rep.post("/api/v1/visits", json={**body, "at": "09:40"})
    assert again.status_code == 200, again.text
    assert again.json()["record_id"] == first.json()["record_id"]
    assert again.json()["outcome"] == "order"  # the first report, not the retry's fields
    _post(rep, "A2", "done", report_id="a1b2c3d4-0001")
    stored = store.visits.find()
    assert len(stored) == 1
    assert stored[0].report_id == "a1b2c3d4-0001"
    bad = rep.post("/api/v1/visits", json={**body, "report_id": "x'; drop"})
    assert bad.status_code == 422
    assert "report_id" in bad.text
    other = rep.post("/api/v1/visits", json={**body, "report_id": "a1b2c3d4-0002"})
    assert other.status_code == 200  # a new id is a new report
    assert len(store.visits.find()) == 2
