"""Re-planning after a missed or cancelled visit, in a background thread per request.

One :class:`ReplanJobs` per app (never global): the rep's phone gets the redirect at once and
the day page shows "re-planning…" until the job is done, then what changed. Repairs run one at
a time (a lock), as each one replaces the current plan version.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

from routeplanner.workflows import RepairSummary


@dataclass
class ReplanJob:
    job_id: int
    rep_id: str
    state: str = "running"  # running | done | failed
    summary: RepairSummary | None = None
    error: str = ""


class ReplanJobs:
    """In-memory job registry; jobs are lost on restart (the stored plan versions are not)."""

    def __init__(self, max_jobs: int = 200) -> None:
        self._jobs: dict[int, ReplanJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._max_jobs = max_jobs

    def start(self, rep_id: str, work: Callable[[], RepairSummary]) -> ReplanJob:
        with self._lock:
            job = ReplanJob(job_id=next(self._ids), rep_id=rep_id)
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._max_jobs:
                del self._jobs[min(self._jobs)]
        thread = threading.Thread(target=self._run, args=(job, work), daemon=True)
        thread.start()
        return job

    def _run(self, job: ReplanJob, work: Callable[[], RepairSummary]) -> None:
        try:
            with self._run_lock:
                summary = work()
        except Exception as exc:  # shown on the page instead of lost in a thread
            with self._lock:
                job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            job.summary, job.state = summary, "done"

    def get(self, job_id: int) -> ReplanJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, timeout_s: float = 60.0) -> None:
        """Block until no job is running (tests, shutdown)."""
        pause = threading.Event()
        for _ in range(int(timeout_s * 20)):
            with self._lock:
                if all(j.state != "running" for j in self._jobs.values()):
                    return
            pause.wait(0.05)
