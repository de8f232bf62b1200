"""Feed URLs over HTTP: tokens from the /calendar page, ETag/304, revocation, access, export."""

from __future__ import annotations

import re

import icalendar
from fastapi.testclient import TestClient

from routeplanner.storage import Store, TokenKind, hash_token
from routeplanner.web.flash import Flashes
from routeplanner.web.state import app_state
from tests.calendar.conftest import plan_v1, store_plan
from tests.conftest import add_user, log_in


def _shown_url(html: str) -> str:
    found = re.search(r'<input id="feed-url" type="text" readonly value="([^"]+)"', html)
    assert found, html
    webcal = re.search(r'id="webcal-url" href="([^"]+)"', html)
    assert webcal
    assert webcal.group(1) == found.group(1).replace("https://", "webcal://")
    return found.group(1)


def _new_url(client: TestClient, **form: str) -> str:
    response = client.post("/calendar/rotate", data=form, follow_redirects=False)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    return _shown_url(page.text)


def _path(url: str) -> str:
    return url.removeprefix("https://plan.example.com")


def _summaries(text: str) -> set[str]:
    return {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(text).walk("VEVENT")}


def test_feed_url_serves_the_reps_visits_with_caching_headers(
    cal_client: TestClient, cal_store: Store
) -> None:
    store_plan(cal_store, plan_v1())
    url = _new_url(cal_client, rep="R1")
    assert re.fullmatch(r"https://plan\.example\.com/calendar/[A-Za-z0-9_-]{43}\.ics", url)
    response = cal_client.get(_path(url))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["etag"].startswith('"')
    assert response.headers["last-modified"].endswith(" GMT")
    assert _summaries(response.text) == {
        "Apotheke am Bismarckplatz",
        "Bäckerei Müller & Söhne, Filiale Weststadt; Öffnungszeiten beachten – Übergröße",
    }
    etag = response.headers["etag"]
    unchanged = cal_client.get(_path(url), headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    other = cal_client.get(_path(url), headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_only_the_hash_of_a_token_is_stored(cal_client: TestClient, cal_store: Store) -> None:
    url = _new_url(cal_client, rep="R1")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    found = cal_store.tokens.find(hash_token(token), TokenKind.CALENDAR)
    assert found is not None
    assert found[0].token_hash == hash_token(token) != token
    assert found[1].rep_id == "R1"


def test_rotated_and_revoked_tokens_return_404(cal_client: TestClient, cal_store: Store) -> None:
    store_plan(cal_store, plan_v1())
    old = _new_url(cal_client, rep="R1")
    new = _new_url(cal_client, rep="R1")
    assert old != new
    assert cal_client.get(_path(old)).status_code == 404
    assert cal_client.get(_path(new)).status_code == 200
    page = cal_client.post("/calendar/revoke", data={"rep": "R1"})
    assert "Revoked 1 feed URL(s) of Jürgen Weiß" in page.text
    assert "No active feed URL." in page.text
    assert cal_client.get(_path(new)).status_code == 404
    assert cal_client.get("/calendar/not-a-token.ics").status_code == 404


def test_one_reps_token_never_shows_another_reps_visits(
    cal_client: TestClient, cal_store: Store
) -> None:
    store_plan(cal_store, plan_v1())
    r1 = cal_client.get(_path(_new_url(cal_client, rep="R1"))).text
    r2 = cal_client.get(_path(_new_url(cal_client, rep="R2"))).text
    assert _summaries(r2) == {"Other Rep's Kunde"}
    assert "Other Rep's Kunde" not in _summaries(r1)
    team = cal_client.get(_path(_new_url(cal_client, rep="R1", team="true"))).text
    assert _summaries(team) == _summaries(r1) | _summaries(r2)
    assert "X-WR-CALNAME:Team visits" in team


def test_date_range_download(cal_client: TestClient, cal_store: Store) -> None:
    store_plan(cal_store, plan_v1())
    response = cal_client.get("/calendar/export.ics?rep=R1&from=2027-03-29&to=2027-03-29")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="visits-R1.ics"'
    starts = [
        e.decoded("DTSTART").date().isoformat()
        for e in icalendar.Calendar.from_ical(response.text).walk("VEVENT")
    ]
    assert starts == ["2027-03-29", "2027-03-29"]
    bad = cal_client.get("/calendar/export.ics?rep=R1&from=2027-03-29&to=2027-03-01")
    assert bad.status_code == 422
    assert cal_client.get("/calendar/export.ics?rep=NOPE").status_code == 404


def test_calendar_page_lists_reps_and_feed_status(cal_client: TestClient) -> None:
    page = cal_client.get("/calendar?rep=R2")
    assert page.status_code == 200
    assert "<h2>Anna Schmidt</h2>" in page.text
    assert "No active feed URL." in page.text
    assert 'action="/calendar/rotate"' in page.text
    _new_url(cal_client, rep="R2")
    assert "Feed active (1 URL)." in cal_client.get("/calendar?rep=R2").text


def test_if_modified_since_and_head(cal_client: TestClient, cal_store: Store) -> None:
    store_plan(cal_store, plan_v1())
    path = _path(_new_url(cal_client, rep="R1"))
    first = cal_client.get(path)
    modified = first.headers["last-modified"]
    assert cal_client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    older = "Mon, 01 Mar 2027 00:00:00 GMT"
    assert cal_client.get(path, headers={"If-Modified-Since": older}).status_code == 200
    # If-None-Match wins over If-Modified-Since.
    both = {"If-Modified-Since": modified, "If-None-Match": '"other"'}
    assert cal_client.get(path, headers=both).status_code == 200
    head = cal_client.head(path)
    assert head.status_code == 200
    assert head.headers["etag"] == first.headers["etag"]


def test_reloading_the_page_after_a_rotation_shows_the_same_url_and_keeps_it(
    cal_client: TestClient, cal_store: Store
) -> None:
    """POST-redirect-GET: the URL lives in a server-side flash, so two GETs after one POST show
    the same URL and the feed it opens keeps working; only a new POST rotates."""
    store_plan(cal_store, plan_v1())
    posted = cal_client.post("/calendar/rotate", data={"rep": "R1"}, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == "/calendar?rep=R1"
    first = cal_client.get("/calendar?rep=R1")
    second = cal_client.get("/calendar?rep=R1")
    url = _shown_url(first.text)
    assert _shown_url(second.text) == url
    assert "New feed URL for Jürgen Weiß" in second.text
    assert "Feed active (1 URL)." in second.text
    assert cal_client.get(_path(url)).status_code == 200
    qr = re.search(
        r'<svg viewBox="[^"]+" class="qr"><title>[^<]+</title><path [^>]+/></svg>', first.text
    )
    assert qr, first.text
    cal_client.post("/calendar/revoke", data={"rep": "R1"})
    gone = cal_client.get("/calendar?rep=R1")
    assert 'id="feed-url"' not in gone.text
    assert cal_client.get(_path(url)).status_code == 404


def test_the_new_url_is_shown_only_to_the_session_that_made_it(
    cal_client: TestClient, cal_store: Store
) -> None:
    _new_url(cal_client, rep="R1")
    add_user(cal_store, "other")
    other = TestClient(cal_client.app)  # the same app (and flashes), another browser
    log_in(other, "other")
    page = other.get("/calendar?rep=R1")
    assert page.status_code == 200
    assert 'id="feed-url"' not in page.text


def test_the_new_url_flash_expires_but_the_feed_keeps_working(
    cal_client: TestClient, cal_store: Store
) -> None:
    now = [0.0]
    app_state(cal_client.app).flashes = Flashes(ttl_s=600, clock=lambda: now[0])
    store_plan(cal_store, plan_v1())
    url = _new_url(cal_client, rep="R1")
    now[0] = 599.0
    assert _shown_url(cal_client.get("/calendar?rep=R1").text) == url
    now[0] = 601.0
    page = cal_client.get("/calendar?rep=R1").text
    assert 'id="feed-url"' not in page
    assert "Feed active (1 URL)." in page
    assert cal_client.get(_path(url)).status_code == 200
