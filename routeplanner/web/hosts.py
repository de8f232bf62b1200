"""Answer only for the hosts a deployment serves (``RP_TRUSTED_HOSTS``).

Feed URLs and links fall back to the request's address when ``RP_PUBLIC_URL`` is unset; a
forged ``Host`` header could otherwise put any address into them (and into cached pages). A
request for another host gets 400 in the one error format, before any handler runs.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from routeplanner.web.errors import respond_error


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port; IPv6 without the brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """``*`` allows any host, ``*.example.org`` its subdomains (not itself), else exact."""
    for pattern in patterns:
        if pattern == "*" or host == pattern:
            return True
        if pattern.startswith("*.") and host.endswith(pattern[1:]) and host != pattern[2:]:
            return True
    return False


class TrustedHostMiddleware:
    def __init__(self, app: ASGIApp, *, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = host_name(Headers(scope=scope).get("host", ""))
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        message = f"host {host!r} is not served here; add it to RP_TRUSTED_HOSTS"
        response = respond_error(Request(scope), 400, message, [])
        await response(scope, receive, send)
