"""The queue of repairs that visit reports start: one rep's repairs coalesce, different reps'
run side by side, and the whole is bounded.

Per rep there is at most one repair running and one waiting. A report while the rep's repair
waits joins it (the waiting repair reads every stored report when it starts); a report while
it runs queues one more, so no report is left unrepaired. A repair may be held back for a
delay after its latest report (the time a rep has to undo it), and a waiting repair whose
reports were all undone is discarded. Starting a new repair is limited per
rep and minute (:class:`~routeplanner.errors.RateLimitedError`), and the repairs waiting or
running at once are bounded (:class:`~routeplanner.errors.QueueFullError`): a phone tapping
"missed" in a loop cannot pile up work.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from routeplanner.errors import QueueFullError, RateLimitedError

T = TypeVar("T")

_LOG = logging.getLogger(__name__)
RATE_WINDOW_S: Final = 60.0
"""The window of the per-rep limit on new repairs."""


@dataclass(slots=True)
class _Waiting(Generic[T]):
    rep_id: str
    task: T
    run: Callable[[T], None]
    not_before: float = 0.0
    """The clock time before which the repair does not start."""


class RepairQueue(Generic[T]):
    """Runs each rep's repairs in turn on ``workers`` threads.

    Parameters
    ----------
    workers
        Repairs of different reps running at once.
    max_queued
        Repairs waiting or running at once; beyond, new repairs are refused.
    per_rep_per_minute
        New repairs one rep may start within a minute (joining a waiting one is free).
    clock
        Monotonic seconds; tests pass their own.
    """

    def __init__(
        self,
        *,
        workers: int = 2,
        max_queued: int = 32,
        per_rep_per_minute: int = 6,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min(workers, max_queued, per_rep_per_minute) < 1:
            msg = "a repair queue needs at least one worker, place and repair per minute"
            raise ValueError(msg)
        self._workers = workers
        self._max_queued = max_queued
        self._per_minute = per_rep_per_minute
        self._clock = clock
        self._changed = threading.Condition()
        self._waiting: OrderedDict[str, _Waiting[T]] = OrderedDict()
        self._running: set[str] = set()
        self._starts: dict[str, deque[float]] = {}
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(
        self,
        rep_id: str,
        make: Callable[[], T],
        run: Callable[[T], None],
        *,
        admitted: Callable[[], object] | None = None,
        delay_s: float = 0.0,
    ) -> T:
        """The repair of ``rep_id`` that will cover a report: the rep's waiting one, else a
        new one made by ``make`` and later passed to ``run``. ``admitted`` (storing the
        report) runs once the repair is taken and before it can start; if it raises, no new
        repair is queued and the error propagates. The repair starts no sooner than
        ``delay_s`` seconds from now (a joined one is held back that long again).

        Raises
        ------
        RateLimitedError
            The rep started too many repairs within the last minute.
        QueueFullError
            Too many repairs wait or run, or the queue is closed.
        """
        with self._changed:
            waiting = self._waiting.get(rep_id)
            if waiting is not None:
                if admitted is not None:
                    admitted()
                waiting.not_before = max(waiting.not_before, self._clock() + delay_s)
                return waiting.task
            if self._closed:
                msg = "repairs are not accepted while the server shuts down"
                raise QueueFullError(msg, retry_after_s=30.0)
            now = self._clock()
            self._check_rate(rep_id, now)
            if len(self._waiting) + len(self._running) >= self._max_queued:
                msg = f"{self._max_queued} repairs are waiting or running; try again shortly"
                raise QueueFullError(msg, retry_after_s=10.0)
            if admitted is not None:
                admitted()
            task = make()
            self._waiting[rep_id] = _Waiting(rep_id, task, run, now + delay_s)
            self._starts.setdefault(rep_id, deque()).append(now)
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name="repair", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._changed.notify_all()
            return task

    def _check_rate(self, rep_id: str, now: float) -> None:
        starts = self._starts.get(rep_id, deque())
        while starts and now - starts[0] >= RATE_WINDOW_S:
            starts.popleft()
        if len(starts) >= self._per_minute:
            wait = RATE_WINDOW_S - (now - starts[0])
            msg = (
                f"rep {rep_id} started {len(starts)} repairs within a minute; "
                f"try again in {max(1, round(wait))} s"
            )
            raise RateLimitedError(msg, retry_after_s=wait)

    def discard(self, rep_id: str, task: T) -> bool:
        """Drop ``task`` if it is still the rep's waiting repair (its reports were undone);
        whether it was."""
        with self._changed:
            waiting = self._waiting.get(rep_id)
            if waiting is None or waiting.task is not task:
                return False
            del self._waiting[rep_id]
            self._changed.notify_all()
            return True

    def queued(self) -> int:
        """Repairs waiting or running (a rep may have one of each)."""
        with self._changed:
            return len(self._waiting) + len(self._running)

    def _next(self) -> _Waiting[T] | None:
        """The longest waiting repair due now of a rep who has none running (under the
        lock); a closing queue runs the held-back ones at once."""
        now = self._clock()
        item = next(
            (
                w
                for w in self._waiting.values()
                if w.rep_id not in self._running and (self._closed or w.not_before <= now)
            ),
            None,
        )
        if item is not None:
            del self._waiting[item.rep_id]
            self._running.add(item.rep_id)
        return item

    def _pause(self) -> float | None:
        """Seconds to wait for the next held-back repair (``None``: wait for a change); at
        most a second, so the queue's clock is read again soon (a test's clock too)."""
        due = [w.not_before for w in self._waiting.values() if w.rep_id not in self._running]
        return min(1.0, max(0.01, min(due) - self._clock())) if due else None

    def _work(self) -> None:
        while True:
            with self._changed:
                item = self._next()
                while item is None:
                    if self._closed and not self._waiting:
                        return
                    self._changed.wait(self._pause())
                    item = self._next()
            try:
                item.run(item.task)
            except Exception:  # run reports its own failures; a bug must not stop the worker
                _LOG.exception("repair of rep %s failed", item.rep_id)
            finally:
                with self._changed:
                    self._running.discard(item.rep_id)
                    self._changed.notify_all()

    def close(self, timeout_s: float = 10.0) -> None:
        """Refuse new repairs, let the workers finish what waits (a cancelled job stops at
        once), and wait for them up to ``timeout_s``."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
