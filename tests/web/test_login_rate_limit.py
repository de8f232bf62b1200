"""Failed logins slow down the guesser, not the user: counted per username *and* client address
(plus a budget per address over all usernames), with delays that double after each further
failure (429 with Retry-After). The right password from another client always works."""

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


def test_delays_double_after_the_free_failures() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_failures=3, max_failures_per_ip=100, window_s=900, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("anna", "10.0.0.1") == 0
        limiter.failed("anna", "10.0.0.1")
    waits = []
    for _ in range(6):
        wait = limiter.retry_after("anna", "10.0.0.1")
        waits.append(wait)
        clock.now += wait
        assert limiter.retry_after("anna", "10.0.0.1") == 0
        limiter.failed("anna", "10.0.0.1")
    assert waits == [1, 2, 4, 8, 16, 32]


def test_a_delay_never_exceeds_the_window_and_failures_are_forgotten() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_failures=1, max_failures_per_ip=100, window_s=60, clock=clock)
    waits = []
    for _ in range(30):
        waits.append(limiter.retry_after("anna", "10.0.0.1"))
        clock.now += waits[-1]
        limiter.failed("anna", "10.0.0.1")
    assert max(waits) <= 60
    assert sum(waits) > 5 * 60  # 30 guesses took the guesser more than five windows
    clock.now += 61  # every failure has left the window
    assert limiter.retry_after("anna", "10.0.0.1") == 0


def test_the_limit_is_per_username_and_client() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_failures=3, max_failures_per_ip=100, window_s=900, clock=clock)
    for _ in range(4):
        limiter.failed("anna", "10.0.0.1")
    assert limiter.retry_after("anna", "10.0.0.1") == 2
    assert limiter.retry_after("ANNA ", "10.0.0.1") == 2  # case and spaces: the same username
    assert limiter.retry_after("anna", "10.0.0.2") == 0  # Anna on her phone is not locked out
    assert limiter.retry_after("bert", "10.0.0.1") == 0
    limiter.succeeded("anna", "10.0.0.2")  # a success elsewhere does not reset this client
    assert limiter.retry_after("anna", "10.0.0.1") == 2
    limiter.succeeded("anna", "10.0.0.1")
    assert limiter.retry_after("anna", "10.0.0.1") == 0


def test_an_address_spraying_usernames_is_slowed_down() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(max_failures=5, max_failures_per_ip=4, window_s=300, clock=clock)
    for name in ["a", "b", "c", "d", "e"]:
        clock.now += limiter.retry_after(name, "192.0.2.7")
        limiter.failed(name, "192.0.2.7")
    assert limiter.retry_after("f", "192.0.2.7") == 2
    assert limiter.retry_after("f", "192.0.2.8") == 0
    limiter.succeeded("f", "192.0.2.7")  # logging in to one's own account keeps the budget
    assert limiter.retry_after("g", "192.0.2.7") == 2


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
def limited(settings: Settings, store: Store) -> tuple[Settings, FakeClock]:
    add_user(store, "boss")
    add_user(store, "anna", role="rep", rep_id="R1")
    limits = {"login_max_failures": 3, "login_max_failures_per_ip": 5, "login_window_s": 300}
    return settings.model_copy(update=limits), FakeClock()


def _client(settings: Settings, clock: FakeClock, address: str) -> TestClient:
    app = create_app(settings)
    limiter: LoginLimiter = app_state(app).login_limiter
    assert (limiter.max_failures, limiter.max_failures_per_ip, limiter.window_s) == (3, 5, 300)
    limiter._clock = clock
    return TestClient(app, client=(address, 50000))


def test_failures_from_one_client_do_not_lock_the_user_out(
    limited: tuple[Settings, FakeClock],
) -> None:
    settings, clock = limited
    app = create_app(settings)
    app_state(app).login_limiter._clock = clock
    attacker = TestClient(app, client=("203.0.113.9", 50000))
    owner = TestClient(app, client=("198.51.100.4", 50000))
    for _ in range(3):
        assert _login(attacker, "boss", "wrong password").status_code == 401
    blocked = _login(attacker, "boss", MANAGER_PASSWORD)  # it must wait, right or wrong
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "Too many failed logins. Try again in 1 second." in blocked.text
    assert attacker.get("/", follow_redirects=False).status_code == 303  # not logged in
    clock.now += 1
    assert _login(attacker, "boss", "wrong again").status_code == 401
    assert _login(attacker, "boss", MANAGER_PASSWORD).headers["Retry-After"] == "2"
    # the owner, from their own client, logs in at once with the right password
    assert _login(owner, "boss", MANAGER_PASSWORD).status_code == 303
    assert owner.get("/", follow_redirects=False).status_code == 200
    # and the attacker's wait keeps doubling with every further failure
    clock.now += 2
    assert _login(attacker, "boss", "and again").status_code == 401
    refused = _login(attacker, "boss", MANAGER_PASSWORD)
    assert refused.headers["Retry-After"] == "4"
    assert "Try again in 4 seconds." in refused.text


def test_address_budget_covers_every_username(limited: tuple[Settings, FakeClock]) -> None:
    settings, clock = limited
    client = _client(settings, clock, "192.0.2.50")
    for name in ["a", "b", "c", "d", "e"]:
        assert _login(client, name, "guess").status_code == 401
    refused = _login(client, "boss", MANAGER_PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    clock.now += 1
    assert _login(client, "boss", MANAGER_PASSWORD).status_code == 303


def test_success_resets_the_username_budget(limited: tuple[Settings, FakeClock]) -> None:
    settings, clock = limited
    client = _client(settings, clock, "192.0.2.60")
    for _ in range(2):
        assert _login(client, "anna", "wrong").status_code == 401
    assert _login(client, "anna", MANAGER_PASSWORD).status_code == 303
    client.cookies.clear()
    for _ in range(2):
        assert _login(client, "anna", "wrong").status_code == 401
    assert _login(client, "anna", MANAGER_PASSWORD).status_code == 303  # 2 + 2 > 3 but reset
