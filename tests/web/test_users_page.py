"""/users: managers create users, reset passwords, disable users and issue API tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.conftest import MANAGER_PASSWORD, add_user, form_csrf, log_in

pytestmark = pytest.mark.osm  # the API answers used to try tokens carry road-network snaps
NEW_PASSWORD = "a much better passphrase"


def _user_id(store: Store, username: str) -> int:
    user = store.users.find(username)
    assert user is not None
    return user.user_id


def _token(html: str) -> str:
    found = re.search(r'<code id="token-value">([^<]+)</code>', html)
    assert found, html
    return found.group(1)


def test_manager_sees_every_user_and_the_nav_link(client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    page = client.get("/users")
    assert page.status_code == 200
    assert '<a href="/users">Users</a>' in page.text
    assert '<tr data-user="anna">' in page.text
    assert '<tr data-user="boss">' in page.text
    assert "<td>R1</td>" in page.text


def test_create_a_rep_user_who_then_sees_only_their_own(
    client: TestClient, store: Store, settings: Settings
) -> None:
    form = {
        "username": "anna",
        "role": "rep",
        "rep": "R1",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
    }
    created = client.post("/users", data=form, follow_redirects=False)
    assert created.status_code == 303
    user = store.users.find("anna")
    assert user is not None
    assert (user.role.value, user.rep_id, user.active) == ("rep", "R1", True)
    assert user.password_hash.startswith("$argon2id$")
    with TestClient(create_app(settings)) as phone:
        log_in(phone, "anna", NEW_PASSWORD)
        assert phone.get("/users").status_code == 403
        assert phone.get("/route?rep=R2").status_code == 403


def test_create_lists_every_problem_and_stores_nothing(client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    before = store.users.all()
    bad = {"username": "anna", "role": "rep", "rep": "R9", "password": "short", "confirm": "x"}
    response = client.post("/users", data=bad)
    assert response.status_code == 422
    html = response.text
    assert "<strong>username</strong>: user &#39;anna&#39; already exists" in html
    assert "<strong>rep</strong>: no rep &#39;R9&#39;" in html
    assert "<strong>password</strong>: must have at least 8 characters" in html
    more = {"username": "", "role": "boss", "rep": "", "password": NEW_PASSWORD, "confirm": "?"}
    html = client.post("/users", data=more).text
    assert "<strong>username</strong>: must not be empty" in html
    assert "<strong>role</strong>: &#39;boss&#39; is not one of admin, manager, rep" in html
    assert "<strong>confirm</strong>: does not match the password" in html
    lonely = {"username": "carl", "role": "rep", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    html = client.post("/users", data=lonely).text
    assert "<strong>rep</strong>: a rep user needs a rep" in html
    spaced = {**lonely, "username": "carl x", "rep": "R1"}
    html = client.post("/users", data=spaced).text
    assert "<strong>username</strong>: at most 64 characters, no spaces" in html
    assert store.users.all() == before
    # the form keeps what was typed (never the password)
    assert 'name="username" value="carl x"' in html
    assert NEW_PASSWORD not in html
    manager = {**lonely, "username": "mia", "role": "manager", "rep": "R1"}
    assert client.post("/users", data=manager, follow_redirects=False).status_code == 303
    mia = store.users.find("mia")
    assert mia is not None
    assert mia.rep_id is None  # a manager is linked to no rep


def test_reset_password_ends_the_users_sessions(
    client: TestClient, store: Store, settings: Settings
) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    anna_id = _user_id(store, "anna")
    with TestClient(create_app(settings)) as phone:
        log_in(phone, "anna")
        assert phone.get("/route", follow_redirects=False).status_code == 200
        short = client.post(f"/users/{anna_id}/password", data={"password": "x", "confirm": "x"})
        assert short.status_code == 422
        assert "must have at least 8 characters" in short.text
        reset = client.post(
            f"/users/{anna_id}/password", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
        assert reset.status_code == 200
        assert "New password set for anna." in reset.text
        after = phone.get("/route", follow_redirects=False)
        assert after.status_code == 303  # the old session is over
        assert after.headers["location"].startswith("/login")
    with TestClient(create_app(settings)) as phone:
        token = form_csrf(phone.get("/login").text)
        old = {"username": "anna", "password": MANAGER_PASSWORD, "csrf_token": token}
        assert phone.post("/login", data=old).status_code == 401
        log_in(phone, "anna", NEW_PASSWORD)
    assert client.get("/users").status_code == 200  # the manager's own session is untouched
    assert client.post("/users/999/password", data={"password": NEW_PASSWORD}).status_code == 404


def test_disable_and_enable(client: TestClient, store: Store, settings: Settings) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    anna_id = _user_id(store, "anna")
    made = client.post(f"/users/{anna_id}/tokens", data={"label": "phone app"})
    token = _token(made.text)
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as phone:
        log_in(phone, "anna")
        assert phone.get("/api/v1/reps", headers=bearer).status_code == 200
        off = client.post(
            f"/users/{anna_id}/active", data={"active": "false"}, follow_redirects=False
        )
        assert off.status_code == 303
        page = client.get("/users").text
        assert re.search(r'<tr data-user="anna">.*?<span class="bad">disabled</span>', page, re.S)
        assert phone.get("/route", follow_redirects=False).status_code == 303
        assert phone.get("/api/v1/reps", headers=bearer).status_code == 401
        on = client.post(
            f"/users/{anna_id}/active", data={"active": "true"}, follow_redirects=False
        )
        assert on.status_code == 303
        assert phone.get("/api/v1/reps", headers=bearer).status_code == 200
        log_in(phone, "anna")
        assert phone.get("/route", follow_redirects=False).status_code == 200
    boss_id = _user_id(store, "boss")
    myself = client.post(f"/users/{boss_id}/active", data={"active": "false"})
    assert myself.status_code == 422
    assert "you cannot disable yourself" in myself.text
    boss = store.users.find("boss")
    assert boss is not None
    assert boss.active


def test_api_token_is_shown_once_and_can_be_revoked(client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    anna_id = _user_id(store, "anna")
    made = client.post(f"/users/{anna_id}/tokens", data={"label": "phone app"})
    assert made.status_code == 200
    assert made.headers["cache-control"] == "no-store"
    token = _token(made.text)
    assert len(token) >= 40
    assert "New API token for <strong>anna</strong>" in made.text
    page = client.get("/users").text
    assert token not in page  # shown once
    assert "phone app" in page
    (stored,) = store.tokens.of_user(anna_id)
    assert stored.token_hash != token
    assert stored.label == "phone app"
    bearer = {"Authorization": f"Bearer {token}"}
    api = TestClient(client.app)
    reps = api.get("/api/v1/reps", headers=bearer)
    assert [r["id"] for r in reps.json()] == ["R1"]
    # another user's id in the path does not reach anna's token
    boss_id = _user_id(store, "boss")
    wrong = client.post(f"/users/{boss_id}/tokens/{stored.token_id}/revoke")
    assert wrong.status_code == 404
    revoke = client.post(
        f"/users/{anna_id}/tokens/{stored.token_id}/revoke", follow_redirects=False
    )
    assert revoke.status_code == 303
    assert api.get("/api/v1/reps", headers=bearer).status_code == 401
    assert "revoked" in client.get("/users").text
    too_long = client.post(f"/users/{anna_id}/tokens", data={"label": "x" * 101})
    assert too_long.status_code == 422
    assert len(store.tokens.of_user(anna_id)) == 1


def test_reps_and_anonymous_cannot_manage_users(anon_client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    anna_id = _user_id(store, "anna")
    assert anon_client.get("/users", follow_redirects=False).status_code == 303
    log_in(anon_client, "anna")
    assert anon_client.get("/users").status_code == 403
    assert 'href="/users"' not in anon_client.get("/route").text
    posts = {
        "/users": {"username": "x", "role": "manager", "password": NEW_PASSWORD},
        f"/users/{anna_id}/password": {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        f"/users/{anna_id}/active": {"active": "false"},
        f"/users/{anna_id}/tokens": {"label": "mine"},
        f"/users/{anna_id}/tokens/1/revoke": {},
    }
    for path, data in posts.items():
        assert anon_client.post(path, data=data).status_code == 403, path
    assert store.users.find("x") is None
    assert store.tokens.of_user(anna_id) == []


@pytest.mark.parametrize(
    "path", ["/users", "/users/1/password", "/users/1/active", "/users/1/tokens"]
)
def test_posts_need_the_csrf_token(client: TestClient, store: Store, path: str) -> None:
    del client.headers["X-CSRF-Token"]
    data = {"username": "x", "role": "manager", "password": NEW_PASSWORD, "active": "false"}
    assert client.post(path, data=data).status_code == 403
    assert store.users.find("x") is None
    boss = store.users.find("boss")
    assert boss is not None
    assert boss.active
    assert store.tokens.of_user(boss.user_id) == []
