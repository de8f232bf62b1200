"""One wall-clock limit for a whole territory job, shared out among its phases.

A design or realignment runs many solver calls and search loops; giving each its own limit
lets their sum exceed what the caller asked for. Every phase instead takes a share of what is
left of one deadline, so the job ends near its limit however the time is spent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds on a clock that never goes back (``time.monotonic`` unless a test gives another)."""


class Deadline:
    """A moment on the monotonic clock; phases ask how much is left and take shares of it."""

    __slots__ = ("_clock", "_end")

    def __init__(self, end: float, clock: Clock = time.monotonic) -> None:
        self._end = end
        self._clock = clock

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> Deadline:
        """The deadline ``seconds`` from now (``inf``: no limit)."""
        if math.isnan(seconds) or seconds < 0:
            msg = f"a time limit must be 0 or more seconds, got {seconds}"
            raise ValueError(msg)
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left, 0 once it has passed."""
        return max(self._end - self._clock(), 0.0)

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def share(self, fraction: float) -> Deadline:
        """A sub-deadline at ``fraction`` (0..1) of what is left now, never later than this one."""
        if not 0.0 <= fraction <= 1.0:
            msg = f"a share must be between 0 and 1, got {fraction}"
            raise ValueError(msg)
        now = self._clock()
        return Deadline(now + fraction * max(self._end - now, 0.0), self._clock)

    def limit(self, cap: float, *, floor: float = 0.0) -> float:
        """Seconds for one solver call: at most ``cap`` and what is left, at least ``floor``.

        The floor is for a call whose answer the job cannot do without (the first balanced
        split): it may overrun the deadline by that much rather than return nothing.
        """
        return max(min(cap, self.remaining()), floor)
