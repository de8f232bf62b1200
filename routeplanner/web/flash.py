"""Short-lived server-side flashes: what a POST wants the page it redirects to to show.

A POST that makes something shown only once (a new calendar feed URL) stores it here and
redirects (POST-redirect-GET), so reloading the page shows the same thing again instead of
repeating the POST. The session cookie carries only a random flash id; the content stays in
this process's memory, expires after ``ttl_s`` and is readable only by the session that made it.
One web process holds every session's flashes (the app runs as one process; a restart drops
them, which costs only a hidden URL the user can issue again).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from starlette.requests import Request

_SESSION_KEY = "flash"


class Flashes:
    """Bounded, expiring flashes keyed by a random id kept in the session."""

    def __init__(
        self,
        *,
        ttl_s: float = 600.0,
        max_items: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, dict[str, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, request: Request, values: Mapping[str, str]) -> None:
        """Replace this session's flash with ``values``."""
        flash_id = secrets.token_urlsafe(16)
        with self._lock:
            self._drop_expired()
            old = request.session.get(_SESSION_KEY)
            if isinstance(old, str):
                self._items.pop(old, None)
            self._items[flash_id] = (self._clock() + self.ttl_s, dict(values))
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        request.session[_SESSION_KEY] = flash_id

    def get(self, request: Request) -> dict[str, str]:
        """This session's flash while it lives (read as often as the page is reloaded)."""
        flash_id = request.session.get(_SESSION_KEY)
        if not isinstance(flash_id, str):
            return {}
        with self._lock:
            self._drop_expired()
            found = self._items.get(flash_id)
        if found is None:
            request.session.pop(_SESSION_KEY, None)
            return {}
        return dict(found[1])

    def _drop_expired(self) -> None:
        now = self._clock()
        expired = [key for key, (until, _) in self._items.items() if until <= now]
        for key in expired:
            del self._items[key]
