"""API tokens expire when asked to, record when they were last used, are listed and revoked in
the browser by their owner (and by managers on /users), and can be revoked with a password
reset."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import new_api_token
from routeplanner.cli import main
from routeplanner.settings import Settings
from routeplanner.storage import Store, TokenKind, hash_token
from routeplanner.storage.engine import make_engine, session_factory
from routeplanner.web.app import create_app
from routeplanner.web.services import Services
from tests.conftest import add_user, log_in


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(settings: Settings, store: Store, clock: Clock) -> Iterator[tuple[TestClient, Store]]:
    """A manager's client of an app whose store runs on ``clock``."""
    timed_store = Store(session_factory(make_engine(settings.database_url)), clock=clock)
    add_user(store, "boss")
    add_user(store, "anna", role="rep", rep_id="R1")
    app = create_app(settings, services=Services(settings=settings, store=timed_store))
    with TestClient(app) as client:
        log_in(client, "boss")
        yield client, timed_store


def _new_token(client: TestClient, user_id: int, **form: str) -> str:
    made = client.post(f"/users/{user_id}/tokens", data={"label": "phone", **form})
    assert made.status_code == 200, made.text
    found = re.search(r'<code id="token-value">([^<]+)</code>', made.text)
    assert found is not None
    return found.group(1)


def _anna(store: Store) -> int:
    user = store.users.find("anna")
    assert user is not None
    return user.user_id


def test_a_token_with_an_expiry_stops_working_then(
    timed: tuple[TestClient, Store], clock: Clock
) -> None:
    client, store = timed
    token = _new_token(client, _anna(store), expires_days="30")
    (record,) = store.tokens.of_user(_anna(store))
    assert record.expires_at == clock.now + timedelta(days=30)
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(client.app) as api:
        assert api.get("/api/v1/reps", headers=bearer).status_code == 200
        clock.now += timedelta(days=30, seconds=1)
        assert api.get("/api/v1/reps", headers=bearer).status_code == 401
    log_in(client, "boss")  # a month later the manager's session has ended as well
    assert "expired 2026-12-31" in client.get("/users").text


def test_a_token_without_expiry_keeps_working(
    timed: tuple[TestClient, Store], clock: Clock
) -> None:
    client, store = timed
    token = _new_token(client, _anna(store))
    clock.now += timedelta(days=3650)
    with TestClient(client.app) as api:
        response = api.get("/api/v1/reps", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_last_use_is_recorded_and_shown(timed: tuple[TestClient, Store], clock: Clock) -> None:
    client, store = timed
    token = _new_token(client, _anna(store))
    assert "never used" in client.get("/users").text
    clock.now += timedelta(hours=2)
    with TestClient(client.app) as api:
        assert api.get("/api/v1/reps", headers={"Authorization": f"Bearer {token}"}).is_success
    (record,) = store.tokens.of_user(_anna(store))
    assert record.last_used_at == clock.now
    assert "last used 2026-12-01 11:00" in client.get("/users").text  # Europe/Berlin


def test_owners_list_and_revoke_their_own_tokens(anon_client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    add_user(store, "bert", role="rep", rep_id="R1")
    anna, bert = store.users.find("anna"), store.users.find("bert")
    assert anna is not None
    assert bert is not None
    new_api_token(store, anna, label="laptop")
    new_api_token(store, bert, label="bert's script")
    log_in(anon_client, "anna")
    page = anon_client.get("/tokens")
    assert page.status_code == 200
    assert "laptop" in page.text
    assert "bert&#39;s script" not in page.text
    (own,) = store.tokens.of_user(anna.user_id)
    (other,) = store.tokens.of_user(bert.user_id)
    assert anon_client.post(f"/tokens/{other.token_id}/revoke").status_code == 404
    assert store.tokens.of_user(bert.user_id)[0].active
    assert (
        anon_client.post(f"/tokens/{own.token_id}/revoke", follow_redirects=False).status_code
        == 303
    )
    assert not store.tokens.of_user(anna.user_id)[0].active
    made = anon_client.post("/tokens", data={"label": "new one", "expires_days": "90"})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    assert re.search(r'<code id="token-value">([^<]+)</code>', made.text)


def test_a_password_reset_can_revoke_the_tokens(client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    anna = store.users.find("anna")
    assert anna is not None
    new_api_token(store, anna, label="kept")
    new_api_token(store, anna, label="a calendar is no API token")
    form = {"password": "another password", "confirm": "another password"}
    assert client.post(f"/users/{anna.user_id}/password", data=form).status_code == 200
    assert all(t.active for t in store.tokens.of_user(anna.user_id))
    form["revoke_tokens"] = "1"
    page = client.post(f"/users/{anna.user_id}/password", data=form)
    assert "2 API tokens revoked" in page.text
    assert not any(t.active for t in store.tokens.of_user(anna.user_id))


def test_calendar_tokens_survive_a_reset_with_revoke(client: TestClient, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    anna = store.users.find("anna")
    assert anna is not None
    store.tokens.create(anna.user_id, TokenKind.CALENDAR, hash_token("feed"), label="feed")
    form = {"password": "another password", "confirm": "another password", "revoke_tokens": "1"}
    client.post(f"/users/{anna.user_id}/password", data=form)
    assert [t.kind for t in store.tokens.of_user(anna.user_id) if t.active] == [TokenKind.CALENDAR]


def test_the_cli_issues_a_token_with_an_expiry(settings: Settings, store: Store) -> None:
    add_user(store, "anna", role="rep", rep_id="R1")
    args = ["user", "token", "anna", "--expires-days", "7", "--database-url", settings.database_url]
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 0
    anna = store.users.find("anna")
    assert anna is not None
    (record,) = store.tokens.of_user(anna.user_id)
    assert record.expires_at is not None
    assert timedelta(days=6) < record.expires_at - record.created_at <= timedelta(days=7)
