"""User use cases: logins (manager or rep), passwords, API tokens, and who may see which rep.

The CLI (``routeplanner user ...``) and the users page run the same checks: a user name is
unique, at most 64 characters and without spaces; a rep user names a stored rep; a password
has at least :data:`~routeplanner.auth.MIN_PASSWORD` characters. Only hashes of passwords and
tokens are stored, so a new API token is shown once, by whoever asked for it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from routeplanner.auth import (
    DEFAULT_PASSWORD_COST,
    MAX_TOKEN_DAYS,
    MIN_PASSWORD,
    PasswordCost,
    hash_password,
    new_api_token,
)
from routeplanner.errors import InputError, NotFoundError, PermissionDeniedError, Problem
from routeplanner.model import Plan
from routeplanner.services.params import Params
from routeplanner.services.scope import Scope
from routeplanner.storage import Store
from routeplanner.storage.records import TokenKind, TokenRecord, UserRecord, UserRole

MAX_USERNAME = 64
MAX_LABEL = 100
NO_LOGIN = "!calendar-only"
"""Password hash of users created for calendar feeds: no hasher ever produces it, so no
login matches."""
DEMO_USER = "manager"
DEMO_PASSWORD_ENV = "RP_DEMO_PASSWORD"


def allowed_rep(user: UserRecord, rep: str | None, scope: Scope) -> str | None:
    """The rep a user may look at: managers any rep of their ``scope`` (``rep`` as asked),
    reps only their own.

    Raises
    ------
    NotFoundError
        A manager asking for a rep outside their scope (as if there were no such rep).
    PermissionDeniedError
        A rep asking for another rep, or a rep user without a rep.
    """
    if user.is_manager:
        return rep if rep is None else scope.rep(rep)
    if user.rep_id is None or (rep is not None and rep != user.rep_id):
        msg = "you may only see your own routes"
        raise PermissionDeniedError(msg)
    return user.rep_id


def require_manager(user: UserRecord) -> UserRecord:
    """``user`` when an admin or manager; a PermissionDeniedError otherwise."""
    if not user.is_manager:
        msg = "only managers may do this"
        raise PermissionDeniedError(msg)
    return user


def require_admin(user: UserRecord) -> UserRecord:
    """``user`` when an admin (who manages users and the whole organisation); a
    PermissionDeniedError otherwise."""
    if user.role is not UserRole.ADMIN:
        msg = "only admins may do this"
        raise PermissionDeniedError(msg)
    return user


def identity_problems(username: str, role: str, rep: str) -> list[tuple[str, str]]:
    """What is wrong with a new login's name, role and rep, before storage is asked."""
    found = []
    if not username:
        found.append(("username", "must not be empty"))
    elif len(username) > MAX_USERNAME or any(c.isspace() for c in username):
        found.append(("username", f"at most {MAX_USERNAME} characters, no spaces"))
    roles = [r.value for r in UserRole]
    if role not in roles:
        found.append(("role", f"{role!r} is not one of {', '.join(roles)}"))
    elif role == UserRole.REP and not rep:
        found.append(("rep", "a rep user needs a rep"))
    return found


def password_problems(password: str, confirm: str | None = None) -> list[tuple[str, str]]:
    """Too short, or (when typed twice) not the same twice."""
    if len(password) < MIN_PASSWORD:
        return [("password", f"must have at least {MIN_PASSWORD} characters")]
    if confirm is not None and password != confirm:
        return [("confirm", "does not match the password")]
    return []


def visible_accounts(
    store: Store, user: UserRecord, plan: Plan | None, scope: Scope
) -> set[str] | None:
    """Accounts a user may see: ``None`` (all) for admins, a manager's scope's accounts; for
    a rep, the accounts of their current territory plus those on their routes in ``plan`` (the
    current one): a realignment may have moved an account away that stays on their plan until
    the next re-plan."""
    if user.is_manager:
        return None if scope.accounts is None else set(scope.accounts)
    if user.rep_id is None:
        return set()
    return rep_account_ids(store, user.rep_id, plan)


def rep_account_ids(store: Store, rep_id: str, plan: Plan | None) -> set[str]:
    """A rep's accounts: their current territory's, plus those on their routes in ``plan``."""
    own = {
        account_id
        for t in store.territories.all()
        if t.rep_id == rep_id
        for account_id in t.account_ids
    }
    if plan is not None:
        own |= {s.account_id for r in plan.routes_of(rep_id) for s in r.stops}
    return own


@dataclass(frozen=True, slots=True, kw_only=True)
class NewUser(Params):
    """A login to create; ``rep`` only counts for a rep user (it is what they see)."""

    username: str = ""
    role: str = ""
    rep: str = ""
    password: str = ""
    confirm: str | None = None
    """The password typed again (forms); ``None`` when the entry point checked it already."""

    @classmethod
    def rules(cls, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = identity_problems(values["username"], values["role"], values["rep"])
        return found + password_problems(values["password"], values["confirm"])


def _stored_problems(store: Store, username: str, rep: str) -> list[tuple[str, str]]:
    found = []
    if username and store.users.find(username) is not None:
        found.append(("username", f"user {username!r} already exists"))
    if rep and store.reps.get(rep) is None:
        found.append(("rep", f"no rep {rep!r}"))
    return found


def check_identity(store: Store, username: str, role: str, rep: str, *, source: str) -> None:
    """Every problem of a new login's name, role and rep, storage's included (the command
    line asks this before it prompts for a password).

    Raises
    ------
    InputError
        Listing every problem, named by ``source`` and the field.
    """
    found = identity_problems(username, role, rep) + _stored_problems(store, username, rep)
    if found:
        raise InputError([Problem(source, None, f, m) for f, m in found])


def create_user(
    store: Store,
    fields: Mapping[str, str | None],
    *,
    source: str,
    cost: PasswordCost = DEFAULT_PASSWORD_COST,
) -> UserRecord:
    """Store a new login from ``username``, ``role``, ``rep``, ``password`` (and, from a form,
    ``confirm``) given as text; the password is stored hashed with ``cost``.

    Raises
    ------
    InputError
        Every problem at once: a bad or taken name, an unknown role or rep, a short password.
    """
    problems: list[Problem] = []
    new = None
    try:
        new = NewUser.from_text(fields, source=source)
    except InputError as exc:
        problems += exc.problems
    stored = _stored_problems(store, fields.get("username") or "", fields.get("rep") or "")
    problems += [Problem(source, None, f, m) for f, m in stored]
    if problems or new is None:
        raise InputError(problems)
    rep_id = (new.rep or None) if new.role == UserRole.REP else None
    return store.users.create(
        new.username, hash_password(new.password, cost), role=new.role, rep_id=rep_id
    )


def get_user(store: Store, user_id: int) -> UserRecord:
    found = store.users.get(user_id)
    if found is None:
        msg = f"user {user_id} not found"
        raise NotFoundError(msg)
    return found


def reset_password(
    store: Store,
    user_id: int,
    password: str,
    confirm: str | None,
    cost: PasswordCost = DEFAULT_PASSWORD_COST,
    *,
    revoke_tokens: bool = False,
) -> tuple[UserRecord, int]:
    """Set a new password (hashed with ``cost``; the user's open sessions end) and, with
    ``revoke_tokens``, revoke their API tokens in the same transaction (a reset after a leak);
    returns the user and how many tokens were revoked. Calendar feed tokens stay: a feed URL is
    revoked on its own.

    Raises
    ------
    NotFoundError
        No such user.
    InputError
        The password is too short or not the same twice (field ``password``/``confirm``).
    """
    target = get_user(store, user_id)
    problems = password_problems(password, confirm)
    if problems:
        raise InputError([Problem("user form", None, f, m) for f, m in problems])
    with store.transaction(f"resetting the password of {target.username}") as tx:
        tx.users.update(target.user_id, password_hash=hash_password(password, cost))
        revoked = tx.tokens.revoke_all(target.user_id, TokenKind.API) if revoke_tokens else 0
    return target, revoked


def set_active(store: Store, user_id: int, active: bool, *, by: UserRecord) -> UserRecord:
    """Disable (sessions and tokens stop working at once) or enable a user again.

    Raises
    ------
    NotFoundError
        No such user.
    InputError
        A manager disabling themselves (nobody could enable them again from the page).
    """
    target = get_user(store, user_id)
    if target.user_id == by.user_id and not active:
        raise InputError(Problem("user form", None, "active", "you cannot disable yourself"))
    store.users.update(target.user_id, active=active)
    return target


def token_fields(
    label: str, expires_days: int | str | None, *, source: str = "user form"
) -> tuple[str, int | None]:
    """A new token's label and days until it expires (``None``: never); ``expires_days`` is a
    number or the text of a form, where blank means never.

    Raises
    ------
    InputError
        A label longer than :data:`MAX_LABEL`, an expiry outside 1 to ``MAX_TOKEN_DAYS`` days
        (both listed).
    """
    label = label.strip()
    problems = []
    if len(label) > MAX_LABEL:
        problems.append(Problem(source, None, "label", f"at most {MAX_LABEL} characters"))
    days = expires_days
    if isinstance(days, str):
        text = days.strip()
        days = (int(text) if text.isdigit() else 0) if text else None
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        message = f"1 to {MAX_TOKEN_DAYS} days, or never"
        problems.append(Problem(source, None, "expires_days", message))
    if problems:
        raise InputError(problems)
    return label, days


def issue_own_api_token(
    store: Store, user: UserRecord, label: str = "", expires_days: int | str | None = None
) -> str:
    """A new API token for ``user`` (a user making their own), returned once: only its hash is
    stored. Raises InputError as :func:`token_fields` does."""
    label, days = token_fields(label, expires_days)
    return new_api_token(store, user, label=label, expires_days=days)


def issue_api_token(
    store: Store, user_id: int, label: str = "", expires_days: int | str | None = None
) -> tuple[UserRecord, str]:
    """A new API token for the user, returned once (only its hash is stored).

    Raises
    ------
    NotFoundError
        No such user.
    InputError
        A label longer than :data:`MAX_LABEL` or an expiry out of range.
    """
    target = get_user(store, user_id)
    return target, issue_own_api_token(store, target, label, expires_days)


def issue_api_token_for(
    store: Store, username: str, label: str = "", expires_days: int | None = None
) -> str:
    """:func:`issue_api_token` by user name (the command line's way of naming a user)."""
    user = store.users.find(username)
    if user is None:
        raise InputError(Problem("command line", None, "USERNAME", f"no user {username!r}"))
    label, days = token_fields(label, expires_days, source="command line")
    return new_api_token(store, user, label=label, expires_days=days)


def api_tokens_of(store: Store, user: UserRecord) -> list[TokenRecord]:
    """The user's API tokens (revoked and expired ones included, to show when they ended)."""
    return [t for t in store.tokens.of_user(user.user_id) if t.kind is TokenKind.API]


def revoke_api_token(store: Store, user_id: int, token_id: int) -> None:
    """Revoke one of the user's API tokens (calendar feed URLs are revoked with the feeds).

    Raises
    ------
    NotFoundError
        No such user, or no API token ``token_id`` of theirs.
    """
    target = get_user(store, user_id)
    tokens = store.tokens.of_user(target.user_id)
    if not any(t.token_id == token_id and t.kind is TokenKind.API for t in tokens):
        msg = f"token {token_id} not found"
        raise NotFoundError(msg)
    store.tokens.revoke(token_id)


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as the users page and ``user list`` show them."""

    user: UserRecord
    calendar_only: bool
    tokens: list[TokenRecord]
    regions: frozenset[str] = frozenset()
    """The regions a manager is scoped to."""


def users(store: Store) -> list[UserRow]:
    """Every user with their API tokens and regions; calendar-only users cannot log in."""
    with store.read("reading users") as tx:
        scoped = tx.regions.of_users()
        return [
            UserRow(
                user=u,
                calendar_only=u.password_hash == NO_LOGIN,
                tokens=[t for t in tx.tokens.of_user(u.user_id) if t.kind is TokenKind.API],
                regions=scoped.get(u.user_id, frozenset()),
            )
            for u in tx.users.all()
        ]


def ensure_demo_login(
    store: Store, password: str | None = None, *, cost: PasswordCost = DEFAULT_PASSWORD_COST
) -> str:
    """Make sure the demo can be logged into; returns the hint to print next to the URL.

    The first run creates user ``manager`` with ``RP_DEMO_PASSWORD`` or a random password,
    printed once (only its hash is stored); with ``RP_DEMO_PASSWORD`` set, later runs reset the
    password to it, so a forgotten random password is never a dead end.
    """
    password = password if password is not None else os.environ.get(DEMO_PASSWORD_ENV) or None
    user = store.users.find(DEMO_USER)
    if user is None:
        chosen = password or secrets.token_urlsafe(12)
        store.users.create(DEMO_USER, hash_password(chosen, cost), role=UserRole.ADMIN)
        return f"log in as {DEMO_USER!r} with password {chosen!r} (shown once)"
    if password:
        store.users.update(user.user_id, password_hash=hash_password(password, cost), active=True)
        return f"log in as {DEMO_USER!r} with the password from {DEMO_PASSWORD_ENV}"
    return (
        f"log in as {DEMO_USER!r} (password printed on the first run; set {DEMO_PASSWORD_ENV} "
        "to reset it, or use: routeplanner user create)"
    )
