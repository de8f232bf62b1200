"""Who is asking: session login for pages, bearer tokens for the API, CSRF for every POST form.

The session cookie (Starlette ``SessionMiddleware``) is signed, not encrypted: it holds only a
random session key and the CSRF token. The session itself is a row in the database (found by
the key's hash), so logout, a password reset and disabling a user end it for every copy of the
cookie, and a session unused for ``RP_SESSION_IDLE_TIMEOUT_S`` ends. Roles are checked here;
what a manager's regions or a rep's routes let them see is the service layer's
:class:`~routeplanner.services.scope.Scope`, resolved here once per request (:func:`page_scope`,
:func:`api_scope`) and passed to the use cases.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from routeplanner.auth import SessionRules, api_token_for, start_session, token_touch_due
from routeplanner.errors import PermissionDeniedError
from routeplanner.services import users as user_service
from routeplanner.services.scope import Scope, scope_for
from routeplanner.storage import hash_token
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.web.deps import get_services
from routeplanner.web.services import Services
from routeplanner.web.state import app_state

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SESSION_KEY = "sid"
TOKEN = "token"
SESSION = "session"
_CSRF_KEY = "csrf"


class LoginRequiredError(Exception):
    """Raised for an anonymous request: pages redirect to /login, the API answers 401."""


def session_rules(services: Services) -> SessionRules:
    settings = services.settings
    return SessionRules(
        idle_s=settings.session_idle_timeout_s, max_age_s=settings.session_max_age_s
    )


def session_user(request: Request) -> UserRecord | None:
    """The logged-in, still active user of this request's session (memoised per request).

    A session found idle or too old is forgotten; the database write that records it (or
    that the session was used) is left to :func:`require_user`, which runs it off the event
    loop (``request.state.session_write``)."""
    if "session" not in request.scope:  # outside SessionMiddleware (a 500 page): anonymous
        return None
    if hasattr(request.state, "user"):
        cached: UserRecord | None = request.state.user
        return cached
    user = None
    write: Callable[[], None] | None = None
    key = request.session.get(_SESSION_KEY)
    if isinstance(key, str):
        services = app_state(request.app).services
        store, rules, digest = services.store, session_rules(services), hash_token(key)
        found = services.recent_answer(("session", digest), lambda: store.sessions.find(digest))
        if found is not None and rules.alive(found[0], store):
            user = found[1]
            if rules.touch_due(found[0], store):
                session_id = found[0].session_id
                write = lambda: store.sessions.touch(session_id)  # noqa: E731
        else:
            request.session.pop(_SESSION_KEY, None)
            if found is not None:
                write = lambda: store.sessions.end(digest)  # noqa: E731
    request.state.user = user
    request.state.session_write = write
    return user


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use; forms carry it in a hidden field."""
    token = request.session.get(_CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[_CSRF_KEY] = token
    return token


def existing_csrf_token(request: Request) -> str | None:
    """This session's CSRF token if it has one yet (never makes one: a cache key must not
    change the session)."""
    token = request.session.get(_CSRF_KEY)
    return token if isinstance(token, str) else None


def log_in(request: Request, user: UserRecord) -> None:
    """Start a fresh session (new key, new CSRF token): nothing from before the login carries
    over. Runs on a worker thread (the login handler is a plain ``def``)."""
    services = app_state(request.app).services
    key = start_session(services.store, user, session_rules(services))
    request.session.clear()
    request.session[_SESSION_KEY] = key
    request.state.user = user
    csrf_token(request)


def log_out(request: Request) -> None:
    """End the session in the database, so a copy of the cookie is worth nothing."""
    key = request.session.get(_SESSION_KEY)
    if isinstance(key, str):
        services = app_state(request.app).services
        services.store.sessions.end(hash_token(key))
    request.session.clear()
    request.state.user = None


async def check_csrf(request: Request) -> None:
    """Reject a POST whose form field (or ``X-CSRF-Token`` header) does not match the session."""
    expected = request.session.get(_CSRF_KEY)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or sent is None or not secrets.compare_digest(expected, sent):
        msg = "invalid or missing CSRF token"
        raise PermissionDeniedError(msg)


async def require_user(request: Request) -> UserRecord:
    """The session's user. ``async`` to spare the cached day page a worker-thread hop; the
    session lookup then runs on the event loop, but it is a cached answer (one indexed query
    per session at most every ``RP_DAY_CACHE_TTL_S``); the rare write (the session was used, or
    has expired) goes to a worker thread."""
    user = session_user(request)
    write = getattr(request.state, "session_write", None)
    if write is not None:
        request.state.session_write = None
        await run_in_threadpool(write)
    if user is None:
        raise LoginRequiredError
    return user


_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="api_token",
    description="API token from /users or `routeplanner user token` (or a login session).",
)


async def require_api_user(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> UserRecord:
    """A valid ``Authorization: Bearer`` API token, or else a logged-in session; which of the
    two it was is kept in ``request.state.authenticated_by`` (see :func:`check_api_csrf`)."""
    if credentials is not None and credentials.credentials.strip():
        token = credentials.credentials.strip()
        store = services.store
        found = services.recent_answer(
            ("api token", hash_token(token)), lambda: api_token_for(store, token)
        )
        if found is None or not found[0].usable(store.clock()):
            raise LoginRequiredError
        if token_touch_due(found[0], store):
            await run_in_threadpool(store.tokens.touch, found[0].token_id)
        request.state.authenticated_by = TOKEN
        return found[1]
    user = await require_user(request)
    request.state.authenticated_by = SESSION
    return user


async def check_api_csrf(request: Request) -> None:
    """A caller who authenticated with an API token sends no cookie a browser could attach on
    its own, so needs no CSRF token; anyone else (a session) must send it. Decided by how
    :func:`require_api_user` authenticated, never by the text of a header."""
    if getattr(request.state, "authenticated_by", None) != TOKEN:
        await check_csrf(request)


def require_manager(user: Annotated[UserRecord, Depends(require_user)]) -> UserRecord:
    return user_service.require_manager(user)


def require_api_manager(user: Annotated[UserRecord, Depends(require_api_user)]) -> UserRecord:
    return user_service.require_manager(user)


def require_admin(user: Annotated[UserRecord, Depends(require_user)]) -> UserRecord:
    return user_service.require_admin(user)


def require_api_admin(user: Annotated[UserRecord, Depends(require_api_user)]) -> UserRecord:
    return user_service.require_admin(user)


allowed_rep = user_service.allowed_rep


async def _scope(request: Request, services: Services, user: UserRecord) -> Scope:
    """The user's scope, resolved once per request; a manager's is cached like the user
    (:meth:`Services.recent_answer`), an admin's or a rep's needs no query."""
    found: Scope | None = getattr(request.state, "scope", None)
    if found is not None:
        return found
    if user.role is UserRole.MANAGER:
        store = services.store
        found = await run_in_threadpool(
            services.recent_answer, ("scope", user.user_id), lambda: scope_for(store, user)
        )
    else:
        found = scope_for(services.store, user)
    request.state.scope = found
    return found


async def page_scope(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    user: Annotated[UserRecord, Depends(require_user)],
) -> Scope:
    return await _scope(request, services, user)


async def api_scope(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    user: Annotated[UserRecord, Depends(require_api_user)],
) -> Scope:
    return await _scope(request, services, user)


def visible_account_ids(services: Services, user: UserRecord, scope: Scope) -> set[str] | None:
    """:func:`routeplanner.services.users.visible_accounts` on the cached current plan."""
    current = services.snapshot().current
    plan = current[1] if current is not None else None
    return user_service.visible_accounts(services.store, user, plan, scope)


async def api_csrf(
    request: Request, _user: Annotated[UserRecord, Depends(require_api_user)]
) -> None:
    """A session (cookie) caller must send the CSRF header; a bearer-token caller need not.
    Who is asking is settled first, so an anonymous caller gets 401, not a CSRF 403."""
    await check_api_csrf(request)


UserDep = Annotated[UserRecord, Depends(require_user)]
ApiUserDep = Annotated[UserRecord, Depends(require_api_user)]
ManagerDep = Annotated[UserRecord, Depends(require_manager)]
ManagerApiDep = Annotated[UserRecord, Depends(require_api_manager)]
AdminDep = Annotated[UserRecord, Depends(require_admin)]
AdminApiDep = Annotated[UserRecord, Depends(require_api_admin)]
ScopeDep = Annotated[Scope, Depends(page_scope)]
ApiScopeDep = Annotated[Scope, Depends(api_scope)]
CsrfDep = Depends(check_csrf)
MANAGER_THEN_CSRF = [Depends(require_api_manager), Depends(api_csrf)]
"""Who first, then CSRF: an anonymous caller gets 401 and a rep 403, not a CSRF complaint."""
ADMIN_THEN_CSRF = [Depends(require_api_admin), Depends(api_csrf)]
"""As :data:`MANAGER_THEN_CSRF` for what only an admin may do."""
