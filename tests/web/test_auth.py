"""Login, roles, CSRF and API tokens against the real app, database and argon2 hasher."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from routeplanner.auth import new_api_token
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store, TokenKind, hash_token
from tests.conftest import MANAGER_PASSWORD, add_user, form_csrf, log_in, small_region
from tests.web.test_route_page import DAY, _store_plan


@pytest.fixture
def two_reps(store: Store) -> Store:
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id="R2", name="Anna Schmidt")
    replace_accounts_and_reps(store, accounts, [*reps, other], source="test")
    return store


def _post_login(client: TestClient, username: str, password: str) -> Response:
    token = form_csrf(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


def test_pages_redirect_to_login_when_anonymous(anon_client: TestClient) -> None:
    for path in ["/", "/route?rep=R1", "/calendar"]:
        response = anon_client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=%2F")


def test_login_success_sets_a_secure_session_cookie(anon_client: TestClient, store: Store) -> None:
    add_user(store, "boss")
    response = _post_login(anon_client, "boss", MANAGER_PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("rp_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # RP_SESSION_HTTPS_ONLY is off by default (plain http demo)
    page = anon_client.get("/")
    assert page.status_code == 200
    assert '<span class="user" id="nav-user">boss</span>' in page.text


def test_https_only_setting_marks_the_cookie_secure(settings: object, store: Store) -> None:
    from routeplanner.settings import Settings
    from routeplanner.web.app import create_app

    assert isinstance(settings, Settings)
    add_user(store, "boss")
    secure = settings.model_copy(update={"session_https_only": True, "secret_key": "k" * 32})
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        response = _post_login(client, "boss", MANAGER_PASSWORD)
        assert "; secure" in response.headers["set-cookie"].lower()


def test_wrong_password_and_unknown_user_get_the_same_message(
    anon_client: TestClient, store: Store
) -> None:
    add_user(store, "boss")
    wrong = _post_login(anon_client, "boss", "not the password")
    unknown = _post_login(anon_client, "nobody", MANAGER_PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
    assert anon_client.get("/", follow_redirects=False).status_code == 303


def test_password_is_stored_as_an_argon2_hash(store: Store) -> None:
    add_user(store, "boss")
    user = store.users.find("boss")
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert MANAGER_PASSWORD not in user.password_hash


def test_logout_ends_the_session(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_redirects_only_to_local_paths(anon_client: TestClient, store: Store) -> None:
    add_user(store, "boss")
    token = form_csrf(anon_client.get("/login").text)
    data = {"username": "boss", "password": MANAGER_PASSWORD, "csrf_token": token}
    evil = anon_client.post(
        "/login", data={**data, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert evil.headers["location"] == "/"


def test_rep_sees_only_own_route(anon_client: TestClient, two_reps: Store) -> None:
    add_user(two_reps, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    other = anon_client.get("/route?rep=R2")
    assert other.status_code == 403
    assert "you may only see your own routes" in other.text
    assert anon_client.get("/calendar?rep=R2").status_code == 403
    assert anon_client.get("/calendar/export.ics?rep=R2").status_code == 403
    own = anon_client.get("/route")
    assert own.status_code == 200
    assert "Anna Schmidt" not in own.text
    assert anon_client.get("/", follow_redirects=False).headers["location"] == "/route"
    calendar = anon_client.get("/calendar")
    assert "Team (all reps)" not in calendar.text
    assert anon_client.post("/calendar/rotate", data={"rep": "R2"}).status_code == 403
    assert anon_client.post("/calendar/rotate", data={"team": "true"}).status_code == 403
    assert anon_client.post("/calendar/rotate", data={"rep": "R1"}).status_code == 200


@pytest.mark.osm
def test_rep_day_page_shows_own_stops(anon_client: TestClient, two_reps: Store) -> None:
    _store_plan(two_reps)
    add_user(two_reps, "juergen", role="rep", rep_id="R1")
    log_in(anon_client, "juergen")
    page = anon_client.get(f"/route?day={DAY.isoformat()}")
    assert page.status_code == 200
    assert "Apotheke am Bismarckplatz" in page.text


def test_manager_sees_every_rep(client: TestClient, two_reps: Store) -> None:
    assert client.get("/route?rep=R2").status_code == 200
    calendar = client.get("/calendar?rep=R2")
    assert calendar.status_code == 200
    assert "Anna Schmidt" in calendar.text
    assert "Team (all reps)" in calendar.text


def test_post_without_or_with_wrong_csrf_token_is_rejected(client: TestClient) -> None:
    del client.headers["X-CSRF-Token"]
    missing = client.post("/calendar/rotate", data={"rep": "R1"})
    assert missing.status_code == 403
    wrong = client.post(
        "/calendar/rotate",
        data={"rep": "R1", "csrf_token": "forged"},
        headers={"Accept": "application/json"},
    )
    assert wrong.status_code == 403
    assert wrong.json() == {"error": "invalid or missing CSRF token", "errors": []}
    token = form_csrf(client.get("/calendar").text)
    ok = client.post("/calendar/rotate", data={"rep": "R1", "csrf_token": token})
    assert ok.status_code == 200
    assert client.post("/logout", follow_redirects=False).status_code == 403


def test_login_form_needs_its_csrf_token(anon_client: TestClient, store: Store) -> None:
    add_user(store, "boss")
    response = anon_client.post("/login", data={"username": "boss", "password": MANAGER_PASSWORD})
    assert response.status_code == 403


def test_api_needs_a_session_or_a_bearer_token(anon_client: TestClient, store: Store) -> None:
    add_user(store, "robot")
    denied = anon_client.get("/api/v1/reps")
    assert denied.status_code == 401
    assert denied.json() == {"error": "authentication required", "errors": []}
    assert denied.headers["www-authenticate"] == "Bearer"
    assert anon_client.get("/api/v1/accounts/A1").status_code == 401
    bad = anon_client.get("/api/v1/reps", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    user = store.users.find("robot")
    assert user is not None
    token = new_api_token(store, user, label="test")
    auth = {"Authorization": f"Bearer {token}"}
    reps = anon_client.get("/api/v1/reps", headers=auth)
    assert reps.status_code == 200
    assert [r["id"] for r in reps.json()] == ["R1"]
    found = store.tokens.find(hash_token(token), TokenKind.API)
    assert found is not None
    store.tokens.revoke(found[0].token_id)
    assert anon_client.get("/api/v1/reps", headers=auth).status_code == 401


def test_health_and_openapi_stay_open(anon_client: TestClient) -> None:
    assert anon_client.get("/api/health").status_code == 200
    assert anon_client.get("/api/openapi.json").status_code == 200


def test_a_calendar_only_user_cannot_log_in(anon_client: TestClient, store: Store) -> None:
    from routeplanner.services.calendar import NO_LOGIN

    store.users.create("calendar-R1", NO_LOGIN, role="rep", rep_id="R1")
    response = _post_login(anon_client, "calendar-R1", NO_LOGIN)
    assert response.status_code == 401
