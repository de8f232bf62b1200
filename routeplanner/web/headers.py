"""Security headers on every answer, and the API docs page with its own, narrower exception.

The pages use no third-party script and no inline code (``static/app.js`` is their one
script), so the Content-Security-Policy allows scripts, styles, fonts and fetches from this
origin only, forms that post here only, no framing and no ``<base>``; images may also be
``data:`` URLs and, with ``RP_TILE_URL``, the tile server's. ``/api/docs`` (Swagger UI from its
CDN) sets its own policy naming that CDN and the hash of the page's one inline script.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SWAGGER_CDN = "https://cdn.jsdelivr.net"
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(tile_url: str = "") -> str:
    """The policy of every page; ``tile_url`` adds its origin to ``img-src``."""
    images = ["'self'", "data:"]
    if tile_url:
        parts = urlsplit(tile_url)
        if parts.scheme in ("http", "https") and parts.netloc:
            images.append(f"{parts.scheme}://{parts.netloc}")
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "font-src": "'self'",
        "connect-src": "'self'",
        "manifest-src": "'self'",
        "worker-src": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeadersMiddleware:
    """Adds the headers to every response that does not set its own (the docs page does)."""

    def __init__(self, app: ASGIApp, *, tile_url: str, https_only: bool) -> None:
        self.app = app
        self.headers = {
            "Content-Security-Policy": content_security_policy(tile_url),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
            "Permissions-Policy": "camera=(), microphone=(), payment=(), usb=()",
        }
        if https_only:
            self.headers["Strict-Transport-Security"] = HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _script_hashes(html: str) -> list[str]:
    """CSP hash sources of the page's inline scripts."""
    found = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in found
    ]


def add_api_docs(app: FastAPI, *, docs_url: str, openapi_url: str) -> None:
    """Swagger UI at ``docs_url`` with a policy that allows its CDN and its one inline script
    (by hash), and nothing else that the pages' policy forbids."""

    @app.get(docs_url, include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - API")
        html = bytes(page.body).decode()
        policy = content_security_policy().replace(
            "script-src 'self'", " ".join(["script-src 'self'", SWAGGER_CDN, *_script_hashes(html)])
        )
        # Swagger UI styles its widgets inline; its styles come from the CDN too.
        policy = policy.replace(
            "style-src 'self'", f"style-src 'self' {SWAGGER_CDN} 'unsafe-inline'"
        ).replace("img-src 'self' data:", "img-src 'self' data: https://fastapi.tiangolo.com")
        page.headers["Content-Security-Policy"] = policy
        return page
