"""Web users and their API and calendar tokens (only token hashes are stored)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum

from sqlalchemy import delete, select

from routeplanner.errors import StorageError
from routeplanner.storage.common import AreaRepository, existing_row
from routeplanner.storage.records import (
    SessionRecord,
    TokenKind,
    TokenRecord,
    UserRecord,
    UserRole,
)
from routeplanner.storage.tables import ID_LENGTH, SessionRow, TokenRow, UserRegionRow, UserRow


class _Keep(Enum):
    """Marker for "leave this field as it is" where ``None`` is a real value."""

    KEEP = 0


KEEP = _Keep.KEEP


def hash_token(token: str) -> str:
    """SHA-256 hex of an API or calendar token: tokens are random, so no salt or slow hash is
    needed, and an equal hash can be looked up with an index."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserRepository(AreaRepository):
    """Web users (``tx.users``)."""

    def create(
        self,
        username: str,
        password_hash: str,
        *,
        role: UserRole | str,
        rep_id: str | None = None,
        active: bool = True,
    ) -> UserRecord:
        """Add a web user. ``password_hash`` comes hashed from the caller; a rep needs a rep_id.

        Raises
        ------
        StorageError
            The username is empty or taken, the role is unknown or a rep has no rep_id.
        """
        what = self._what(f"creating user {username!r}")
        role = _user_role(what, role)
        _check_user(what, username, role, rep_id)
        with self._session(what, write=True) as session:
            taken = select(UserRow.id).where(UserRow.username == username)
            if session.scalars(taken).first() is not None:
                msg = f"{what}: the username is already taken"
                raise StorageError(msg)
            row = UserRow(
                username=username,
                password_hash=password_hash,
                role=role.value,
                rep_id=rep_id,
                active=active,
                created_at=self._now(),
            )
            session.add(row)
            session.flush()
            return _user_from_row(row)

    def get(self, user_id: int) -> UserRecord | None:
        with self._session(f"reading user {user_id}") as session:
            row = session.get(UserRow, user_id)
            return None if row is None else _user_from_row(row)

    def find(self, username: str) -> UserRecord | None:
        """The user with this username, else ``None``."""
        with self._session(f"reading user {username!r}") as session:
            row = session.scalars(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _user_from_row(row)

    def all(self) -> list[UserRecord]:
        """Every user, by username."""
        with self._session("listing users") as session:
            rows = session.scalars(select(UserRow).order_by(UserRow.username))
            return [_user_from_row(row) for row in rows]

    def update(
        self,
        user_id: int,
        *,
        password_hash: str | None = None,
        role: UserRole | str | None = None,
        rep_id: str | _Keep | None = KEEP,
        active: bool | None = None,
    ) -> UserRecord:
        """Change the given fields (``None`` or ``KEEP`` leaves a field alone). A new password
        or disabling the user ends every session of the user, in the same transaction."""
        what = self._what(f"updating user {user_id}")
        with self._session(what, write=True) as session:
            row = existing_row(session, UserRow, user_id, what, "user")
            new_role = UserRole(row.role) if role is None else _user_role(what, role)
            new_rep = row.rep_id if isinstance(rep_id, _Keep) else rep_id
            _check_user(what, row.username, new_role, new_rep)
            row.role = new_role.value
            row.rep_id = new_rep
            ends_sessions = (password_hash is not None and password_hash != row.password_hash) or (
                active is False and row.active
            )
            if password_hash is not None:
                row.password_hash = password_hash
            if active is not None:
                row.active = active
            if ends_sessions:
                session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
            session.flush()
            return _user_from_row(row)

    def delete(self, user_id: int) -> None:
        """Delete a user, their tokens and their sessions."""
        what = self._what(f"deleting user {user_id}")
        with self._session(what, write=True) as session:
            row = existing_row(session, UserRow, user_id, what, "user")
            session.execute(delete(TokenRow).where(TokenRow.user_id == user_id))
            session.execute(delete(SessionRow).where(SessionRow.user_id == user_id))
            session.execute(delete(UserRegionRow).where(UserRegionRow.user_id == user_id))
            session.delete(row)


class TokenRepository(AreaRepository):
    """API and calendar tokens of users (``tx.tokens``)."""

    def create(
        self,
        user_id: int,
        kind: TokenKind | str,
        token_hash: str,
        *,
        label: str = "",
        expires_at: datetime | None = None,
    ) -> TokenRecord:
        """Store the hash (see :func:`hash_token`) of a new token for a user; ``expires_at``:
        the token stops working then (``None``: when revoked)."""
        what = self._what(f"creating a token for user {user_id}")
        try:
            kind = TokenKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in TokenKind)
            msg = f"{what}: unknown token kind {kind!r} (use {known})"
            raise StorageError(msg) from None
        with self._session(what, write=True) as session:
            existing_row(session, UserRow, user_id, what, "user")
            row = TokenRow(
                kind=kind.value,
                token_hash=token_hash,
                user_id=user_id,
                label=label,
                created_at=self._now(),
                revoked_at=None,
                expires_at=expires_at,
                last_used_at=None,
            )
            session.add(row)
            session.flush()
            return _token_from_row(row)

    def find(self, token_hash: str, kind: TokenKind | str) -> tuple[TokenRecord, UserRecord] | None:
        """The token with this hash and kind, not revoked nor expired, and its active user;
        else ``None``."""
        with self._session("checking a token") as session:
            found = session.execute(
                select(TokenRow, UserRow)
                .join(UserRow, UserRow.id == TokenRow.user_id)
                .where(
                    TokenRow.token_hash == token_hash,
                    TokenRow.kind == TokenKind(kind).value,
                    TokenRow.revoked_at.is_(None),
                    TokenRow.expires_at.is_(None) | (TokenRow.expires_at > self._now()),
                    UserRow.active.is_(True),
                )
            ).first()
            if found is None:
                return None
            token, user = found.tuple()
            return _token_from_row(token), _user_from_row(user)

    def of_user(self, user_id: int) -> list[TokenRecord]:
        """Every token of the user, revoked ones too, oldest first."""
        with self._session(f"listing tokens of user {user_id}") as session:
            rows = session.scalars(
                select(TokenRow).where(TokenRow.user_id == user_id).order_by(TokenRow.id)
            )
            return [_token_from_row(row) for row in rows]

    def revoke(self, token_id: int) -> None:
        """Revoke a token; revoking twice keeps the first revocation time."""
        what = self._what(f"revoking token {token_id}")
        with self._session(what, write=True) as session:
            row = existing_row(session, TokenRow, token_id, what, "token")
            if row.revoked_at is None:
                row.revoked_at = self._now()

    def revoke_all(self, user_id: int, kind: TokenKind | str) -> int:
        """Revoke every active token of this kind of the user; returns how many."""
        what = self._what(f"revoking the {TokenKind(kind).value} tokens of user {user_id}")
        with self._session(what, write=True) as session:
            rows = session.scalars(
                select(TokenRow).where(
                    TokenRow.user_id == user_id,
                    TokenRow.kind == TokenKind(kind).value,
                    TokenRow.revoked_at.is_(None),
                )
            ).all()
            for row in rows:
                row.revoked_at = self._now()
            return len(rows)

    def touch(self, token_id: int) -> None:
        """Record that the token was used now."""
        with self._session(f"using token {token_id}", write=True) as session:
            row = session.get(TokenRow, token_id)
            if row is not None:
                row.last_used_at = self._now()


class SessionRepository(AreaRepository):
    """Login sessions (``tx.sessions``), found by the hash of the key in the cookie."""

    def start(self, user_id: int, session_hash: str) -> SessionRecord:
        """A new session of the user, seen now."""
        what = self._what(f"starting a session of user {user_id}")
        with self._session(what, write=True) as session:
            existing_row(session, UserRow, user_id, what, "user")
            now = self._now()
            row = SessionRow(
                session_hash=session_hash, user_id=user_id, created_at=now, last_seen_at=now
            )
            session.add(row)
            session.flush()
            return _session_from_row(row)

    def find(self, session_hash: str) -> tuple[SessionRecord, UserRecord] | None:
        """The session with this hash and its user, if the user is active; else ``None``."""
        with self._session("checking a session") as session:
            found = session.execute(
                select(SessionRow, UserRow)
                .join(UserRow, UserRow.id == SessionRow.user_id)
                .where(SessionRow.session_hash == session_hash, UserRow.active.is_(True))
            ).first()
            if found is None:
                return None
            row, user = found.tuple()
            return _session_from_row(row), _user_from_row(user)

    def of_user(self, user_id: int) -> list[SessionRecord]:
        """The user's sessions, oldest first."""
        with self._session(f"listing sessions of user {user_id}") as session:
            rows = session.scalars(
                select(SessionRow).where(SessionRow.user_id == user_id).order_by(SessionRow.id)
            )
            return [_session_from_row(row) for row in rows]

    def touch(self, session_id: int) -> None:
        """Mark the session as seen now (a session that is gone stays gone)."""
        with self._session(f"using session {session_id}", write=True) as session:
            row = session.get(SessionRow, session_id)
            if row is not None:
                row.last_seen_at = self._now()

    def end(self, session_hash: str) -> None:
        """End one session (logout); ending one that is gone is not an error."""
        with self._session("ending a session", write=True) as session:
            session.execute(delete(SessionRow).where(SessionRow.session_hash == session_hash))

    def end_expired(self, *, seen_before: datetime, started_before: datetime) -> int:
        """Delete sessions idle since ``seen_before`` or older than ``started_before``."""
        with self._session("ending expired sessions", write=True) as session:
            result = session.execute(
                delete(SessionRow).where(
                    (SessionRow.last_seen_at < seen_before)
                    | (SessionRow.created_at < started_before)
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)


def _session_from_row(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        session_id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )


def _user_role(what: str, role: UserRole | str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        known = ", ".join(r.value for r in UserRole)
        msg = f"{what}: unknown role {role!r} (use {known})"
        raise StorageError(msg) from None


def _check_user(what: str, username: str, role: UserRole, rep_id: str | None) -> None:
    if not username.strip():
        msg = f"{what}: the username must not be empty"
        raise StorageError(msg)
    if len(username) > ID_LENGTH:
        msg = f"{what}: the username is longer than {ID_LENGTH} characters"
        raise StorageError(msg)
    if role is UserRole.REP and not rep_id:
        msg = f"{what}: a user with role rep needs a rep_id"
        raise StorageError(msg)


def _user_from_row(row: UserRow) -> UserRecord:
    return UserRecord(
        user_id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        role=UserRole(row.role),
        rep_id=row.rep_id,
        active=row.active,
        created_at=row.created_at,
    )


def _token_from_row(row: TokenRow) -> TokenRecord:
    return TokenRecord(
        token_id=row.id,
        user_id=row.user_id,
        kind=TokenKind(row.kind),
        token_hash=row.token_hash,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )
