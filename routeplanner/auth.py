"""Passwords, login sessions and API tokens, shared by the web app and the CLI (no web
framework here).

Passwords are hashed with argon2id (memory-hard, salted); API tokens and session keys are 256
random bits, so storing their SHA-256 (:func:`routeplanner.storage.hash_token`) is enough and
allows lookups.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from routeplanner.settings import Settings
from routeplanner.storage import Store, hash_token
from routeplanner.storage.records import SessionRecord, TokenKind, TokenRecord, UserRecord

MIN_PASSWORD = 8
"""Shortest password a login may have (CLI and web)."""


@dataclass(frozen=True)
class PasswordCost:
    """argon2id work factors for new hashes; the defaults are RFC 9106's low-memory profile.

    A stored hash carries its own factors, so verifying never depends on these; cheaper ones
    are for test suites, which hash and verify thousands of times.
    """

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordCost:
        return cls(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib)


DEFAULT_PASSWORD_COST = PasswordCost()


@cache
def _hasher(cost: PasswordCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
    )


@cache
def _dummy_hash(cost: PasswordCost) -> str:
    """Verified against when the user does not exist, so unknown users cost as much time as
    wrong passwords and the response time does not reveal which usernames exist."""
    return _hasher(cost).hash("not-a-password")


def hash_password(password: str, cost: PasswordCost = DEFAULT_PASSWORD_COST) -> str:
    return _hasher(cost).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """False for a wrong password and for hashes no login can match (calendar-only users)."""
    try:
        return _hasher(DEFAULT_PASSWORD_COST).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(
    store: Store, username: str, password: str, cost: PasswordCost = DEFAULT_PASSWORD_COST
) -> UserRecord | None:
    """The active user with this name and password, else ``None`` (never says which was wrong).

    ``cost`` is what new hashes use, so an unknown user is checked against a hash as costly.
    """
    user = store.users.find(username)
    if user is None:
        verify_password(_dummy_hash(cost), password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    return user


MAX_TOKEN_DAYS = 3650
"""Longest expiry an API token can be given (ten years; no expiry at all is also possible)."""
TOUCH_EVERY = timedelta(minutes=1)
"""A token's or session's last use is written at most this often: a busy client costs one
small write a minute, not one per request."""


def new_api_token(
    store: Store, user: UserRecord, *, label: str = "", expires_days: int | None = None
) -> str:
    """A new API token for ``user``, valid for ``expires_days`` (``None``: until revoked);
    shown once: only its hash is stored."""
    expires_at = None
    if expires_days is not None:
        if not 1 <= expires_days <= MAX_TOKEN_DAYS:
            msg = f"a token expires after 1 to {MAX_TOKEN_DAYS} days, not {expires_days}"
            raise ValueError(msg)
        expires_at = store.clock() + timedelta(days=expires_days)
    token = secrets.token_urlsafe(32)
    store.tokens.create(
        user.user_id, TokenKind.API, hash_token(token), label=label, expires_at=expires_at
    )
    return token


def api_token_for(store: Store, token: str) -> tuple[TokenRecord, UserRecord] | None:
    """The usable API token ``token`` and its active user, else ``None``."""
    return store.tokens.find(hash_token(token), TokenKind.API)


def user_for_api_token(store: Store, token: str) -> UserRecord | None:
    found = api_token_for(store, token)
    return None if found is None else found[1]


def token_touch_due(token: TokenRecord, store: Store) -> bool:
    """Whether to record a use of ``token`` now (see :data:`TOUCH_EVERY`)."""
    last = token.last_used_at
    return last is None or store.clock() - last >= TOUCH_EVERY


@dataclass(frozen=True, slots=True)
class SessionRules:
    """How long a login lasts: ``idle_s`` without a request, ``max_age_s`` in all."""

    idle_s: float
    max_age_s: float

    def alive(self, found: SessionRecord, store: Store) -> bool:
        now = store.clock()
        return now - found.last_seen_at < timedelta(seconds=self.idle_s) and (
            now - found.created_at < timedelta(seconds=self.max_age_s)
        )

    def touch_due(self, found: SessionRecord, store: Store) -> bool:
        """Whether to record a request: see :data:`TOUCH_EVERY` (or a tenth of a short idle
        timeout)."""
        every = min(TOUCH_EVERY, timedelta(seconds=self.idle_s / 10))
        return store.clock() - found.last_seen_at >= every


def start_session(store: Store, user: UserRecord, rules: SessionRules) -> str:
    """A new session of ``user``; returns its key (for the cookie: only its hash is stored).
    Sessions that expired meanwhile are deleted in the same transaction."""
    key = secrets.token_urlsafe(32)
    now = store.clock()
    with store.transaction("starting a session") as tx:
        tx.sessions.end_expired(
            seen_before=now - timedelta(seconds=rules.idle_s),
            started_before=now - timedelta(seconds=rules.max_age_s),
        )
        tx.sessions.start(user.user_id, hash_token(key))
    return key
