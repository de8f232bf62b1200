"""Failed logins are limited per username and per client address (429 with Retry-After)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from routeplanner.web.ratelimit import LoginLimiter
from routeplanner.web.state import app_state
from tests.conftest import MANAGER_PASSWORD, add_user, form_csrf


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_counts_a_sliding_window() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_failures=3, max_failures_per_ip=10, window_s=60, clock=clock)
    for i in range(3):
        assert limiter.retry_after("anna", "10.0.0.1") == 0
        limiter.failed("anna", "10.0.0.1")
        clock.now += 10 * (i + 1)  # failures at 1000, 1010, 1030
    assert clock.now == 1060
    assert limiter.retry_after("anna", "10.0.0.1") == 0  # the first one (1000) just expired
    limiter.failed("ANNA ", "10.0.0.2")  # case and spaces do not make a new budget
    assert limiter.retry_after("anna", "10.0.0.3") == 10  # 1010 leaves the window at 1070
    clock.now += 10.5
    assert limiter.retry_after("anna", "10.0.0.3") == 0
    assert limiter.retry_after("bert", "10.0.0.1") == 0
    limiter.succeeded("Anna")
    limiter.failed("anna", "10.0.0.1")
    assert limiter.retry_after("anna", "10.0.0.1") == 0  # success forgot the earlier ones


def test_limiter_per_address_across_usernames() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_failures=5, max_failures_per_ip=4, window_s=300, clock=clock)
    for name in ["a", "b", "c", "d"]:
        limiter.failed(name, "192.0.2.7")
        clock.now += 1
    assert limiter.retry_after("e", "192.0.2.7") == 296
    assert limiter.retry_after("e", "192.0.2.8") == 0
    limiter.succeeded("e")  # a success elsewhere does not reset the address
    assert limiter.retry_after("f", "192.0.2.7") == 296


def test_limiter_memory_stays_bounded() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_keys=100, clock=clock)
    for i in range(1000):
        limiter.failed(f"user{i}", f"198.51.100.{i % 250}")
        clock.now += 0.01
    assert len(limiter._failures) <= 100


def _login(client: TestClient, username: str, password: str) -> Response:
    token = form_csrf(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=data, follow_redirects=False)


@pytest.fixture
def limited(settings: Settings, store: Store) -> tuple[TestClient, FakeClock]:
    add_user(store, "boss")
    add_user(store, "anna", role="rep", rep_id="R1")
    limits = {"login_max_failures": 3, "login_max_failures_per_ip": 5, "login_window_s": 300}
    app = create_app(settings.model_copy(update=limits))
    clock = FakeClock()
    limiter: LoginLimiter = app_state(app).login_limiter
    assert (limiter.max_failures, limiter.max_failures_per_ip, limiter.window_s) == (3, 5, 300)
    limiter._clock = clock
    return TestClient(app), clock


def test_too_many_failures_give_429_with_retry_after(
    limited: tuple[TestClient, FakeClock],
) -> None:
    client, clock = limited
    for _ in range(3):
        assert _login(client, "boss", "wrong password").status_code == 401
        clock.now += 1
    blocked = _login(client, "boss", MANAGER_PASSWORD)  # even the right password is refused
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "297"
    assert "Too many failed logins. Try again in 5 minutes." in blocked.text
    assert "set-cookie" not in blocked.headers or "rp_session" not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303  # still logged out
    # another user from the same address still may (the address budget is larger) ...
    assert _login(client, "anna", MANAGER_PASSWORD).status_code == 303
    # ... and once the window has moved past the first failure, boss may try again
    clock.now += 297
    assert _login(client, "boss", MANAGER_PASSWORD).status_code == 303


def test_address_budget_covers_every_username(limited: tuple[TestClient, FakeClock]) -> None:
    client, clock = limited
    for name in ["a", "b", "c", "d", "e"]:
        assert _login(client, name, "guess").status_code == 401
    refused = _login(client, "boss", MANAGER_PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) == 300
    clock.now += 301
    assert _login(client, "boss", MANAGER_PASSWORD).status_code == 303


def test_success_resets_the_username_budget(limited: tuple[TestClient, FakeClock]) -> None:
    client, _clock = limited
    for _ in range(2):
        assert _login(client, "anna", "wrong").status_code == 401
    assert _login(client, "anna", MANAGER_PASSWORD).status_code == 303
    client.cookies.clear()
    for _ in range(2):
        assert _login(client, "anna", "wrong").status_code == 401
    assert _login(client, "anna", MANAGER_PASSWORD).status_code == 303  # 2 + 2 > 3 but reset
