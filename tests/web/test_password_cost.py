"""argon2 cost: production hashes with the strong defaults; the settings only change new hashes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import PasswordCost, authenticate, hash_password, verify_password
from routeplanner.settings import Settings
from routeplanner.storage import Store
from tests.conftest import TEST_PASSWORD_COST

STRONG_PREFIX = "$argon2id$v=19$m=65536,t=3,p=4$"


def test_production_defaults_are_rfc_9106_strong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RP_PASSWORD_TIME_COST", raising=False)
    monkeypatch.delenv("RP_PASSWORD_MEMORY_KIB", raising=False)
    cost = PasswordCost.from_settings(Settings())
    assert cost == PasswordCost() == PasswordCost(time_cost=3, memory_kib=65536, parallelism=4)
    assert hash_password("correct horse battery").startswith(STRONG_PREFIX)
    assert hash_password("correct horse battery", cost).startswith(STRONG_PREFIX)


def test_settings_set_the_cost_of_new_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RP_PASSWORD_TIME_COST", "2")
    monkeypatch.setenv("RP_PASSWORD_MEMORY_KIB", "1024")
    cheap = hash_password("geheim-123", PasswordCost.from_settings(Settings()))
    assert cheap.startswith("$argon2id$v=19$m=1024,t=2,p=4$")
    # A stored hash carries its own factors: it verifies whatever the current settings are.
    assert verify_password(cheap, "geheim-123")
    assert not verify_password(cheap, "geheim-124")
    assert verify_password(hash_password("x" * 8), "x" * 8)


def test_unknown_user_is_checked_against_a_hash_of_the_given_cost(store: Store) -> None:
    assert authenticate(store, "nobody", "whatever", TEST_PASSWORD_COST) is None
    assert authenticate(store, "nobody", "whatever") is None


def test_web_hashes_new_passwords_with_the_settings_cost(client: TestClient, store: Store) -> None:
    form = {"username": "neu", "role": "manager", "password": "neues-pass", "confirm": "neues-pass"}
    assert client.post("/users", data=form, follow_redirects=False).status_code == 303
    user = store.users.find("neu")
    assert user is not None
    expected = f"m={TEST_PASSWORD_COST.memory_kib},t={TEST_PASSWORD_COST.time_cost},p=4$"
    assert user.password_hash.startswith(f"$argon2id$v=19${expected}")
