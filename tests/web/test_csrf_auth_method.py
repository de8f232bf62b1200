"""Whether an API call needs the CSRF header is decided by how it authenticated, not by the
text of its Authorization header."""

from __future__ import annotations

from fastapi.testclient import TestClient

from routeplanner.auth import new_api_token
from routeplanner.storage import Store
from tests.conftest import add_user


def _without_csrf(client: TestClient) -> TestClient:
    client.headers.pop("X-CSRF-Token")
    return client


def test_a_blank_bearer_header_does_not_skip_csrf_for_a_session(client: TestClient) -> None:
    session = _without_csrf(client)
    for header in ("Bearer ", "Bearer    ", "bearer \t", "Bearer"):
        response = session.post(
            "/api/v1/plans", json={"weeks": 1}, headers={"Authorization": header}
        )
        assert response.status_code == 403, header
        assert response.json()["error"] == "invalid or missing CSRF token"


def test_a_session_without_authorization_needs_csrf(client: TestClient) -> None:
    assert _without_csrf(client).post("/api/v1/plans", json={"weeks": 1}).status_code == 403


def test_a_real_token_needs_no_csrf(anon_client: TestClient, store: Store) -> None:
    add_user(store, "boss")
    user = store.users.find("boss")
    assert user is not None
    token = new_api_token(store, user)
    response = anon_client.patch(
        "/api/v1/accounts/A1",
        json={"frequency": "nonsense"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422  # past the CSRF check, refused by validation
    assert response.json()["error"] == "invalid input"
    wrong = anon_client.post(
        "/api/v1/plans", json={"weeks": 1}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert wrong.status_code == 401
