"""Sessions are stored server-side: logout, a password reset and disabling a user end them for
every copy of the cookie, and a session left idle longer than RP_SESSION_IDLE_TIMEOUT_S ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import hash_password
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.storage.engine import make_engine, session_factory
from routeplanner.web.app import create_app
from routeplanner.web.services import Services
from tests.conftest import add_user, log_in


def _copy(client: TestClient, settings: Settings) -> TestClient:
    """A second client holding the same session cookie (a stolen or copied cookie)."""
    other = TestClient(create_app(settings))
    other.cookies.set("rp_session", client.cookies["rp_session"])
    other.headers["X-CSRF-Token"] = client.headers["X-CSRF-Token"]
    return other


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    """One signing key, so two apps (two server processes) accept the same cookies."""
    return settings.model_copy(update={"secret_key": "s" * 32})


@pytest.fixture
def rep_client(keyed: Settings, store: Store) -> Iterator[TestClient]:
    add_user(store, "jw", role="rep", rep_id="R1")
    with TestClient(create_app(keyed)) as client:
        log_in(client, "jw")
        yield client


def test_a_copied_cookie_stops_working_after_logout(
    rep_client: TestClient, keyed: Settings
) -> None:
    with _copy(rep_client, keyed) as copy:
        assert copy.get("/route", follow_redirects=False).status_code == 200
        assert copy.get("/api/v1/reps/R1/days").status_code == 200
        assert rep_client.post("/logout", follow_redirects=False).status_code == 303
        assert copy.get("/route", follow_redirects=False).status_code == 303
        assert copy.get("/api/v1/reps/R1/days").status_code == 401


def test_a_password_reset_and_disabling_end_sessions_server_side(
    rep_client: TestClient, keyed: Settings, store: Store
) -> None:
    user = store.users.find("jw")
    assert user is not None
    assert store.sessions.of_user(user.user_id) != []
    store.users.update(user.user_id, password_hash=hash_password("a new password"))
    assert store.sessions.of_user(user.user_id) == []
    assert rep_client.get("/route", follow_redirects=False).status_code == 303
    log_in(rep_client, "jw", "a new password")
    store.users.update(user.user_id, active=False)
    assert store.sessions.of_user(user.user_id) == []
    assert rep_client.get("/route", follow_redirects=False).status_code == 303


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_an_idle_session_ends_and_an_active_one_lives_on(keyed: Settings, store: Store) -> None:
    add_user(store, "boss")
    clock = Clock()
    idle = keyed.model_copy(update={"session_idle_timeout_s": 600})
    services = Services(
        settings=idle, store=Store(session_factory(make_engine(idle.database_url)), clock=clock)
    )
    with TestClient(create_app(idle, services=services)) as client:
        log_in(client, "boss")
        for _ in range(6):  # used every 5 minutes for half an hour: stays logged in
            clock.now += timedelta(minutes=5)
            assert client.get("/", follow_redirects=False).status_code == 200
        clock.now += timedelta(minutes=11)  # then left alone longer than the idle timeout
        assert client.get("/", follow_redirects=False).status_code == 303
        user = store.users.find("boss")
        assert user is not None
        assert store.sessions.of_user(user.user_id) == []


def test_a_session_ends_after_its_maximum_age_however_active(keyed: Settings, store: Store) -> None:
    add_user(store, "boss")
    clock = Clock()
    short = keyed.model_copy(update={"session_idle_timeout_s": 3600, "session_max_age_s": 7200})
    services = Services(
        settings=short, store=Store(session_factory(make_engine(short.database_url)), clock=clock)
    )
    with TestClient(create_app(short, services=services)) as client:
        log_in(client, "boss")
        for _ in range(3):
            clock.now += timedelta(minutes=35)
            assert client.get("/", follow_redirects=False).status_code == 200
        clock.now += timedelta(minutes=20)  # 125 minutes after login, 20 after the last use
        assert client.get("/", follow_redirects=False).status_code == 303


def test_the_cookie_holds_no_user_id(rep_client: TestClient) -> None:
    """The signed cookie is readable: it carries a random session key, not who is logged in."""
    import base64
    import json

    payload = rep_client.cookies["rp_session"].split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}
