"""Failed-login limits per username and client, and per client address, in memory.

Argon2 makes each guess slow, but not slow enough against a patient script. Failures are
counted per (username, client address) and per client address over all usernames, within
``window_s`` seconds. Up to ``max_failures`` (``max_failures_per_ip`` for an address) cost
nothing; after that each further attempt must wait 1 s, then 2 s, 4 s, ... after the last
failure, never more than the window. Refused attempts are not checked and not counted.

Because the username's count belongs to one client, failures from an attacker never lock the
real user out: the right password from their own phone or office still works at once.

The counters live in the process: they reset on restart and are not shared between several
server processes (each allows the full budget). That is enough for the single-process server
routeplanner runs; a multi-process deployment should rate-limit at its reverse proxy too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

MAX_NAME = 200  # longer usernames share a counter: no user has one, and keys stay small


class LoginLimiter:
    """Sliding-window failure counters keyed ``user:<name>@<address>`` and ``ip:<address>``."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        max_failures_per_ip: int = 20,
        window_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_ip = max_failures_per_ip
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, address: str) -> tuple[str, str]:
        """Usernames are compared case-insensitively, so ``Boss`` and ``boss`` share a budget."""
        return f"user:{username.strip().casefold()[:MAX_NAME]}@{address}", f"ip:{address}"

    def _limit(self, key: str) -> int:
        return self.max_failures_per_ip if key.startswith("ip:") else self.max_failures

    def _delay(self, failures: int, limit: int) -> float:
        """Seconds to wait after the last of ``failures``: none within the limit, then 1, 2,
        4, ... at most the window."""
        if failures < limit:
            return 0.0
        return min(self.window_s, 2.0 ** min(failures - limit, 62))

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.get(key)
        if found is None:
            return deque()
        while found and found[0] <= now - self.window_s:
            found.popleft()
        if not found:
            del self._failures[key]
        return found

    def retry_after(self, username: str, address: str) -> int:
        """Whole seconds until an attempt is allowed again; 0 when it is allowed now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in self.keys(username, address):
                recent = self._recent(key, now)
                if recent:
                    ready = recent[-1] + self._delay(len(recent), self._limit(key))
                    wait = max(wait, ready - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._prune(now)
            for key in self.keys(username, address):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str, address: str) -> None:
        """Forget the username's failures from this client (not the address's: an attacker
        logging in to their own account must not reset the budget they spray others with)."""
        with self._lock:
            self._failures.pop(self.keys(username, address)[0], None)

    def _prune(self, now: float) -> None:
        """Drop expired counters; if that is not enough, the oldest half (memory bound under a
        flood of made-up usernames from many addresses)."""
        for key in list(self._failures):
            self._recent(key, now)
        if len(self._failures) >= self._max_keys:
            by_age = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in by_age[: len(by_age) // 2]:
                del self._failures[key]
