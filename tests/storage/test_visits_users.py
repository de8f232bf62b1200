"""Visit records, users and tokens: what plan repair and the web app store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from routeplanner.errors import StorageError
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.storage import KEEP, Store, TokenKind, UserRole, hash_token

from .conftest import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")


def test_visit_records_round_trip_and_filter(store: Store, clock: FakeClock) -> None:
    done = VisitRecord(
        account_id="A1",
        rep_id="R1",
        day=date(2026, 3, 2),
        status=VisitStatus.DONE,
        visit_id="A1#2026-03-02",
        actual_start=datetime(2026, 3, 2, 9, 17, tzinfo=BERLIN),
        note="Bestellung über 12 Kisten; Herr Weiß zufrieden",
        recorded_by="joerg",
        outcome="order",
        order_value=1234.56,
        next_step="Angebot Kühlregal bis Freitag",
    )
    missed = VisitRecord(
        account_id="A2", rep_id="R1", day=date(2026, 3, 3), status=VisitStatus.MISSED, note="zu"
    )
    cancelled = VisitRecord(
        account_id="A1",
        rep_id="R2",
        day=date(2026, 3, 9),
        status=VisitStatus.CANCELLED,
        recorded_at=datetime(2026, 3, 8, 20, 0, tzinfo=UTC),
    )
    ids = [store.visits.record(r) for r in (done, missed, cancelled)]
    assert len(set(ids)) == 3
    stored = store.visits.find()
    assert [r.status for r in stored] == [
        VisitStatus.DONE,
        VisitStatus.MISSED,
        VisitStatus.CANCELLED,
    ]
    # recorded_at defaults to the clock; aware datetimes come back as the same instant in UTC.
    assert stored[0] == VisitRecord(**{**_fields(done), "recorded_at": clock.now})
    assert stored[0].actual_start == datetime(2026, 3, 2, 8, 17, tzinfo=UTC)
    assert stored[2] == cancelled
    assert store.visits.find(account_id="A1") == [stored[0], stored[2]]
    assert store.visits.find(rep_id="R1", start=date(2026, 3, 3)) == [stored[1]]
    assert store.visits.find(end=date(2026, 3, 2)) == [stored[0]]
    assert store.visits.find(account_id="A3") == []
    assert store.visits.accounts_since(None) == ["A1", "A2", "A1"]
    assert store.visits.accounts_since(ids[0]) == ["A2", "A1"]
    assert store.visits.accounts_since(ids[2]) == []


def _fields(record: VisitRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in VisitRecord.__dataclass_fields__}


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="actual_start must be timezone-aware"):
        VisitRecord(
            account_id="A1",
            rep_id="R1",
            day=date(2026, 3, 2),
            status=VisitStatus.DONE,
            actual_start=datetime(2026, 3, 2, 9, 0),
        )


def test_users_crud(store: Store, clock: FakeClock) -> None:
    anna = store.users.create("anna", "$argon2id$v=19$hash-a", role=UserRole.MANAGER)
    joerg = store.users.create("jörg", "$argon2id$v=19$hash-j", role="rep", rep_id="R1")
    assert (anna.role, anna.rep_id, anna.active, anna.created_at) == (
        UserRole.MANAGER,
        None,
        True,
        clock.now,
    )
    assert store.users.get(joerg.user_id) == joerg
    assert store.users.find("jörg") == joerg
    assert store.users.find("nobody") is None
    assert store.users.all() == [anna, joerg]
    updated = store.users.update(joerg.user_id, password_hash="new", active=False)
    assert (updated.password_hash, updated.active, updated.rep_id) == ("new", False, "R1")
    promoted = store.users.update(joerg.user_id, role="manager", rep_id=None)
    assert (promoted.role, promoted.rep_id) == (UserRole.MANAGER, None)
    assert store.users.update(joerg.user_id, rep_id=KEEP) == promoted
    store.users.delete(anna.user_id)
    assert store.users.all() == [promoted]


@pytest.mark.parametrize(
    ("username", "role", "rep_id", "message"),
    [
        ("anna", "manager", None, r"^creating user 'anna': the username is already taken$"),
        ("  ", "manager", None, r"the username must not be empty$"),
        ("ben", "rep", None, r"^creating user 'ben': a user with role rep needs a rep_id$"),
        ("ben", "boss", None, r"unknown role 'boss' \(use admin, manager, rep\)$"),
    ],
)
def test_invalid_users_are_refused(
    store: Store, username: str, role: str, rep_id: str | None, message: str
) -> None:
    store.users.create("anna", "h", role="manager")
    with pytest.raises(StorageError, match=message):
        store.users.create(username, "h", role=role, rep_id=rep_id)
    assert [u.username for u in store.users.all()] == ["anna"]


def test_tokens_are_found_by_hash_until_revoked(store: Store, clock: FakeClock) -> None:
    user = store.users.create("jörg", "h", role="rep", rep_id="R1")
    raw = "rp_cal_4f8e0c2b9d"
    # SHA-256 test vector from FIPS 180-2: the hash is the standard one, not something local.
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = store.tokens.create(user.user_id, TokenKind.CALENDAR, hash_token(raw), label="Handy")
    assert store.tokens.find(hash_token(raw), "calendar") == (token, user)
    # A calendar token is no API key.
    assert store.tokens.find(hash_token(raw), TokenKind.API) is None
    assert store.tokens.find(hash_token("guess"), "calendar") is None
    assert store.tokens.of_user(user.user_id) == [token]
    clock.advance(days=1)
    store.tokens.revoke(token.token_id)
    assert store.tokens.find(hash_token(raw), "calendar") is None
    [revoked] = store.tokens.of_user(user.user_id)
    assert (revoked.revoked_at, revoked.active) == (clock.now, False)
    clock.advance(days=1)
    store.tokens.revoke(token.token_id)  # keeps the first revocation time
    assert store.tokens.of_user(user.user_id)[0].revoked_at == revoked.revoked_at


def test_tokens_of_inactive_or_deleted_users_do_not_work(store: Store) -> None:
    user = store.users.create("anna", "h", role="manager")
    store.tokens.create(user.user_id, "api", hash_token("k1"))
    store.users.update(user.user_id, active=False)
    assert store.tokens.find(hash_token("k1"), "api") is None
    store.users.update(user.user_id, active=True)
    assert store.tokens.find(hash_token("k1"), "api") is not None
    store.users.delete(user.user_id)
    assert store.tokens.find(hash_token("k1"), "api") is None
    with pytest.raises(
        StorageError, match=rf"^creating a token for user {user.user_id}: no such user$"
    ):
        store.tokens.create(user.user_id, "api", hash_token("k2"))


def test_a_token_hash_is_unique(store: Store) -> None:
    user = store.users.create("anna", "h", role="manager")
    store.tokens.create(user.user_id, "api", hash_token("same"))
    with pytest.raises(
        StorageError,
        match=(
            rf"^creating a token for user {user.user_id}: "
            r"the database refused the change: .*token_hash"
        ),
    ):
        store.tokens.create(user.user_id, "calendar", hash_token("same"))
    assert len(store.tokens.of_user(user.user_id)) == 1
