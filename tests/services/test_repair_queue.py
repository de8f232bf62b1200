"""The repair queue: one rep's reports coalesce, different reps run side by side, new repairs
are rate-limited per rep and the queue is bounded (real threads, a hand-driven clock)."""

from __future__ import annotations

import threading

import pytest

from routeplanner.errors import QueueFullError, RateLimitedError
from routeplanner.services.repair_queue import RepairQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Blocking:
    """Repairs that wait until released, recording which task ran for which rep."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[str] = []
        self.running = threading.Semaphore(0)
        self.lock = threading.Lock()

    def run(self, task: str) -> None:
        with self.lock:
            self.started.append(task)
        self.running.release()
        assert self.release.wait(10)


def test_reports_of_one_rep_coalesce_while_its_repair_waits() -> None:
    work = Blocking()
    queue: RepairQueue[str] = RepairQueue(workers=2, clock=Clock())
    names = iter(["first", "second", "third"])
    stored: list[str] = []
    first = queue.submit("R1", lambda: next(names), work.run, admitted=lambda: stored.append("a"))
    assert work.running.acquire(timeout=10)  # R1's first repair runs
    # Reports while it runs queue one more repair; every later one joins it.
    second = queue.submit("R1", lambda: next(names), work.run, admitted=lambda: stored.append("b"))
    joined = queue.submit("R1", lambda: next(names), work.run, admitted=lambda: stored.append("c"))
    assert (first, second, joined) == ("first", "second", "second")
    assert stored == ["a", "b", "c"]  # every report stored, before its repair can start
    assert queue.queued() == 2  # one running, one waiting
    work.release.set()
    queue.close()
    assert work.started == ["first", "second"]  # two repairs for three reports, in turn


def test_different_reps_are_repaired_side_by_side() -> None:
    work = Blocking()
    queue: RepairQueue[str] = RepairQueue(workers=2, clock=Clock())
    queue.submit("R1", lambda: "r1", work.run)
    queue.submit("R2", lambda: "r2", work.run)
    # Both run at once: neither waits for the other to be released.
    assert work.running.acquire(timeout=10)
    assert work.running.acquire(timeout=10)
    assert sorted(work.started) == ["r1", "r2"]
    work.release.set()
    queue.close()


def test_new_repairs_of_one_rep_are_limited_per_minute() -> None:
    clock = Clock()
    queue: RepairQueue[int] = RepairQueue(workers=1, per_rep_per_minute=2, clock=clock)
    done = threading.Event()
    count = iter(range(10))
    queue.submit("R1", lambda: next(count), lambda _t: None)
    queue.close(5)  # let it finish, then measure the limit on a fresh queue with its history
    queue = RepairQueue(workers=1, per_rep_per_minute=2, clock=clock)
    queue.submit("R1", lambda: next(count), lambda _t: done.set())
    assert done.wait(10)
    queue.submit("R1", lambda: next(count), lambda _t: None)
    while queue.queued():
        threading.Event().wait(0.01)
    clock.now += 20
    stored: list[str] = []
    with pytest.raises(RateLimitedError, match=r"^rep R1 started 2 repairs within a minute; ") as e:
        queue.submit(
            "R1", lambda: next(count), lambda _t: None, admitted=lambda: stored.append("x")
        )
    assert stored == []  # a refused report is not stored
    assert 39 <= e.value.retry_after_s <= 41
    queue.submit("R2", lambda: next(count), lambda _t: None)  # other reps are not limited
    clock.now += 41
    queue.submit("R1", lambda: next(count), lambda _t: None)  # the window has passed
    queue.close()


def test_the_queue_is_bounded_and_refuses_after_close() -> None:
    work = Blocking()
    queue: RepairQueue[str] = RepairQueue(workers=1, max_queued=2, clock=Clock())
    queue.submit("R1", lambda: "r1", work.run)
    queue.submit("R2", lambda: "r2", work.run)
    with pytest.raises(QueueFullError, match="2 repairs are waiting or running") as e:
        queue.submit("R3", lambda: "r3", work.run)
    assert e.value.retry_after_s >= 1
    assert queue.submit("R2", lambda: "x", work.run) == "r2"  # joining a waiting one is free
    work.release.set()
    queue.close()
    assert work.started == ["r1", "r2"]
    with pytest.raises(QueueFullError, match="shuts down"):
        queue.submit("R3", lambda: "r3", work.run)


def test_a_failing_repair_does_not_stop_the_worker() -> None:
    queue: RepairQueue[str] = RepairQueue(workers=1, clock=Clock())
    ran: list[str] = []

    def run(task: str) -> None:
        ran.append(task)
        if task == "bad":
            raise RuntimeError("bug")

    queue.submit("R1", lambda: "bad", run)
    queue.submit("R2", lambda: "good", run)
    queue.close()
    assert ran == ["bad", "good"]


def test_a_held_back_repair_waits_for_its_delay_and_an_undone_one_is_dropped() -> None:
    work = Blocking()
    work.release.set()
    clock = Clock()
    queue: RepairQueue[str] = RepairQueue(workers=1, clock=clock)
    queue.submit("R1", lambda: "r1", work.run, delay_s=30)
    queue.submit("R2", lambda: "r2", work.run, delay_s=30)
    assert not work.running.acquire(timeout=0.3)  # nothing due yet
    clock.now += 20
    assert queue.submit("R1", lambda: "other", work.run, delay_s=30) == "r1"  # held back again
    assert queue.discard("R2", "r2")  # R2's only report was undone
    assert not queue.discard("R2", "r2")
    clock.now += 15  # R1's first delay is over, not its second
    assert not work.running.acquire(timeout=0.3)
    clock.now += 20
    assert work.running.acquire(timeout=10)
    queue.close()
    assert work.started == ["r1"]
