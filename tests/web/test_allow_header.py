"""Every 405 names the methods the path does allow, routers nested or not (RFC 9110 15.5.6)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
HTML_PATHS = ["/", "/accounts", "/accounts/A1", "/users", "/plan", "/rules", "/calendar", "/login"]


def _paths(client: TestClient) -> list[str]:
    api = [re.sub(r"\{[^}]+\}", "1", p) for p in client.get("/api/openapi.json").json()["paths"]]
    return sorted({*api, *HTML_PATHS, "/static/app.css"})


def test_known_allow_headers(client: TestClient) -> None:
    for method, path, allow in [
        ("PUT", "/users", "GET, POST"),
        ("DELETE", "/api/v1/accounts/A1", "GET, PATCH"),
        ("DELETE", "/accounts/A1", "GET, POST"),
        ("POST", "/static/app.css", "GET, HEAD"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["Allow"] == allow, (method, path)


def test_every_405_lists_methods_that_are_allowed(client: TestClient) -> None:
    seen = 0
    for path in _paths(client):
        for method in METHODS:
            response = client.request(method, path, headers={"Accept": "application/json"})
            if response.status_code != 405:
                continue
            seen += 1
            allowed = [m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()]
            assert allowed, f"{method} {path}: empty Allow"
            assert method not in allowed, f"{method} {path}"
            for other in allowed:
                if other in METHODS:
                    again = client.request(other, path, headers={"Accept": "application/json"})
                    assert again.status_code != 405, f"{other} {path} listed in Allow"
    assert seen > 20
