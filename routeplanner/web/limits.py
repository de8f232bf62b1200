"""Request body limits, enforced before a handler (or a form parser) reads the body.

A body whose ``Content-Length`` is over the limit is answered 413 at once, without reading a
byte of it; a body without one (chunked) is counted as it arrives and refused at the chunk that
crosses the limit. File uploads (``multipart/form-data``) get ``RP_MAX_UPLOAD_BYTES``, every
other body ``RP_MAX_REQUEST_BYTES``. Both answers use the one error format of
:mod:`routeplanner.web.errors`.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from routeplanner.web.errors import BodyTooLargeError, respond_error, too_large_message


class BodyLimitMiddleware:
    """ASGI middleware; the outermost of the app's own, so nothing reads a body before it."""

    def __init__(self, app: ASGIApp, *, max_request_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, headers: Headers) -> int:
        kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return self.max_upload_bytes if kind == "multipart/form-data" else self.max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self._limit(headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            response = respond_error(Request(scope), 413, too_large_message(limit), [])
            # the unread body would be taken for the next request: close the connection
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, limited_receive, send)
