"""Security headers on every answer, a strict Content-Security-Policy the pages really keep (no
inline script, style or event handler in any page), HSTS behind HTTPS, no-store for secrets."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.conftest import add_user, log_in, small_region
from tests.web.test_route_page import DAY, _store_plan

PAGES = [
    "/",
    "/accounts",
    "/accounts/A1",
    "/plan",
    f"/route?rep=R1&day={DAY.isoformat()}",
    "/territories",
    "/rules",
    "/calendar",
    "/users",
    "/tokens",
    "/no-such-page",
]
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE), "inline <script>"),
    (re.compile(r"<style\b", re.IGNORECASE), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.IGNORECASE), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.IGNORECASE), "event handler attribute"),
    (re.compile(r"javascript:", re.IGNORECASE), "javascript: URL"),
]


@pytest.fixture
def full(client: TestClient, store: Store) -> TestClient:
    """A manager's client over a region with territories and a current plan, so the pages draw
    their maps, swatches, meters and bars."""
    store.territories.save(
        [Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2", "A3"))],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    _store_plan(store)
    return client


def _policy(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def test_every_page_sends_the_headers_and_a_strict_policy(full: TestClient) -> None:
    for path in PAGES:
        response = full.get(path)
        assert response.status_code in (200, 404), path
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        policy = _policy(headers["Content-Security-Policy"])
        assert policy["default-src"] == ["'none'"], path
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["form-action"] == ["'self'"], path
        assert policy["base-uri"] == ["'none'"], path
        assert "Strict-Transport-Security" not in headers  # plain http: no HSTS


def test_no_page_needs_inline_script_or_style(full: TestClient) -> None:
    """What the policy forbids must not be in the pages (the browser tests see them render)."""
    for path in PAGES:
        html = full.get(path).text
        for pattern, what in INLINE:
            found = pattern.search(html)
            assert found is None, f"{path}: {what}: {html[found.start() : found.start() + 80]}"


def test_api_answers_and_errors_carry_the_headers_too(full: TestClient) -> None:
    for response in (full.get("/api/v1/reps"), full.get("/api/v1/nothing"), full.get("/login")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" in response.headers


def test_the_api_docs_page_gets_its_own_policy(full: TestClient) -> None:
    """Swagger UI loads its script from a CDN and starts it inline: that page alone allows
    exactly those, by origin and by the inline script's hash."""
    response = full.get("/api/docs")
    policy = _policy(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in policy["script-src"]
    assert any(s.startswith("'sha256-") for s in policy["script-src"])
    assert "https://cdn.jsdelivr.net" in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_hsts_when_the_cookie_is_https_only(settings: Settings, store: Store) -> None:
    secure = settings.model_copy(update={"session_https_only": True})
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        hsts = client.get("/login").headers["Strict-Transport-Security"]
    assert hsts == "max-age=31536000; includeSubDomains"


def test_a_tile_server_is_allowed_for_images_only(settings: Settings, store: Store) -> None:
    tiles = settings.model_copy(update={"tile_url": "https://tiles.example.org/{z}/{x}/{y}.png"})
    with TestClient(create_app(tiles)) as client:
        policy = _policy(client.get("/login").headers["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "https://tiles.example.org"]
    assert policy["script-src"] == ["'self'"]


def test_pages_showing_a_secret_are_not_stored(full: TestClient, store: Store) -> None:
    feed = full.post("/calendar/rotate", data={"rep": "R1"})
    assert "/calendar/" in feed.text
    assert feed.headers["Cache-Control"] == "no-store"
    add_user(store, "anna", role="rep", rep_id="R1")
    user = store.users.find("anna")
    assert user is not None
    token = full.post(f"/users/{user.user_id}/tokens", data={"label": "phone"})
    assert token.headers["Cache-Control"] == "no-store"


def test_a_rep_page_with_the_select_still_submits_without_inline_code(
    anon_client: TestClient, store: Store
) -> None:
    """The rep and day pickers submit through /static/app.js (data-autosubmit), not onchange."""
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id="R2", name="Anna Schmidt")
    replace_accounts_and_reps(store, accounts, [*reps, other], source="test")
    _store_plan(store)
    add_user(store, "boss")
    log_in(anon_client, "boss")
    html = anon_client.get(f"/route?rep=R1&day={DAY.isoformat()}").text
    assert "data-autosubmit" in html
    assert '<script src="/static/app.js" defer></script>' in html
    script = anon_client.get("/static/app.js")
    assert script.status_code == 200
    assert "data-autosubmit" in script.text
