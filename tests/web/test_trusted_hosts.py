"""Requests for a host the deployment does not serve are refused (400, in the error format), so
links and feed URLs built from the request's Host can only ever name a trusted host."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.conftest import add_user, log_in


def _client(settings: Settings, base_url: str, **update: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=update)), base_url=base_url)


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8000", "http://127.0.0.1", "http://[::1]:8000"]
)
def test_the_default_serves_this_machine(settings: Settings, store: Store, base_url: str) -> None:
    with _client(settings, base_url, trusted_hosts="") as client:
        assert client.get("/login").status_code == 200


def test_another_host_is_refused_in_the_error_format(settings: Settings, store: Store) -> None:
    with _client(settings, "http://evil.example", trusted_hosts="") as client:
        page = client.get("/login")
        api = client.get("/api/health")
    assert page.status_code == 400
    assert "<h1>Error 400</h1>" in page.text
    assert "RP_TRUSTED_HOSTS" in page.text
    assert api.status_code == 400
    assert api.json()["error"] == (
        "host 'evil.example' is not served here; add it to RP_TRUSTED_HOSTS"
    )


def test_the_public_url_host_is_trusted(settings: Settings, store: Store) -> None:
    with _client(
        settings,
        "https://plan.example.com",
        trusted_hosts="",
        public_url="https://plan.example.com",
    ) as client:
        assert client.get("/login").status_code == 200


def test_listed_hosts_and_wildcards(settings: Settings, store: Store) -> None:
    listed = {"trusted_hosts": "routes.example.org, *.field.example.org"}
    for base_url, status in [
        ("http://routes.example.org", 200),
        ("http://eu.field.example.org", 200),
        ("http://field.example.org", 400),
        ("http://localhost", 400),  # a list replaces the default
        ("http://routes.example.org.evil.example", 400),
    ]:
        with _client(settings, base_url, **listed) as client:
            assert client.get("/login").status_code == status, base_url
    with _client(settings, "http://anything.example", trusted_hosts="*") as client:
        assert client.get("/login").status_code == 200


def test_a_feed_url_never_names_an_untrusted_host(settings: Settings, store: Store) -> None:
    add_user(store, "boss")
    with _client(settings, "http://evil.example", trusted_hosts="localhost") as client:
        assert client.get("/login").status_code == 400
    with _client(settings, "http://localhost", trusted_hosts="localhost") as client:
        log_in(client, "boss")
        page = client.post("/calendar/rotate", data={"rep": "R1"})
        assert "http://localhost/calendar/" in page.text
