"""Background jobs of the web app: a thread per job, progress, cooperative cancel, one registry
per kind of job.

The work of a job is one use case of :mod:`routeplanner.services`; a registry only runs it,
remembers its state for the pages and the API, and cancels it: its ``cancel`` event makes the
job's progress callback raise :class:`~routeplanner.errors.JobCancelledError`. Registries are
built in ``create_app`` (never global) and held by :class:`~routeplanner.web.state.AppState`.
Jobs of one registry run one at a time (a lock), as each replaces stored state.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from routeplanner.errors import ConflictError, JobCancelledError, NotFoundError
from routeplanner.model.history import VisitRecord
from routeplanner.services.assignment import DryRun
from routeplanner.services.planning import PlanningResult
from routeplanner.services.repair import RepairSummary
from routeplanner.services.repair_queue import RepairQueue
from routeplanner.services.scope import Scope
from routeplanner.services.territories import DesignParams, Proposal

T = TypeVar("T")


CANCELLED = "cancelled"
ACTIVE = ("waiting", "running")
"""States of a job that has not ended."""


@dataclass
class Job(Generic[T]):
    job_id: int
    rep_id: str  # whose job (a rep id for repairs, the user for planning runs)
    state: str = "running"  # waiting | running | done | failed | cancelled | undone
    summary: T | None = None
    error: str = ""
    progress: float = 0.0
    message: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    plan_id: int | None = None  # the stored plan version the job fills, when known at start
    record_ids: set[int] = field(default_factory=set)  # the reports a repair covers
    starts_at: float = 0.0  # time.time() when a waiting repair is due to start

    def report(self, message: str, fraction: float) -> None:
        """A progress callback for the work: records progress, raises once cancelled (a
        planning run then marks its stored version "cancelled by the user")."""
        if self.cancel.is_set():
            raise JobCancelledError(CANCELLED)
        self.message, self.progress = message, max(0.0, min(1.0, fraction))


class Jobs(Generic[T]):
    """In-memory job registry; jobs are lost on restart (the stored plan versions are not)."""

    what = "job"
    """What a job is called in messages (``territory job 3 not found``)."""

    def __init__(self, max_jobs: int = 200) -> None:
        self._jobs: dict[int, Job[T]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # _start registers under it
        self._run_lock = threading.Lock()
        self._max_jobs = max_jobs

    def start(self, rep_id: str, work: Callable[[Job[T]], T]) -> Job[T]:
        """Run ``work`` in a thread (after any job of this registry still running)."""
        job = self._start(rep_id, work, exclusive=False)
        assert job is not None
        return job

    def start_exclusive(
        self,
        rep_id: str,
        work: Callable[[Job[T]], T],
        *,
        prepare: Callable[[], int] | None = None,
    ) -> Job[T] | None:
        """Like :meth:`start`, but ``None`` (nothing started) while another job runs.

        ``prepare`` runs only when the job will start (under the registry's lock, so two
        requests cannot both pass the check) and returns the job's ``plan_id``.
        """
        return self._start(rep_id, work, exclusive=True, prepare=prepare)

    def _start(
        self,
        rep_id: str,
        work: Callable[[Job[T]], T],
        *,
        exclusive: bool,
        prepare: Callable[[], int] | None = None,
    ) -> Job[T] | None:
        with self._lock:
            if exclusive and any(j.state in ACTIVE for j in self._jobs.values()):
                return None
            job = self._register(rep_id, prepare() if prepare is not None else None)
        thread = threading.Thread(target=self._run, args=(job, work), daemon=True)
        thread.start()
        return job

    def _register(self, rep_id: str, plan_id: int | None = None) -> Job[T]:
        """A new running job, remembered (the oldest beyond ``max_jobs`` are forgotten)."""
        with self._lock:
            job: Job[T] = Job(job_id=next(self._ids), rep_id=rep_id, plan_id=plan_id)
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._max_jobs:
                del self._jobs[min(self._jobs)]
            return job

    def _run(self, job: Job[T], work: Callable[[Job[T]], T]) -> None:
        with self._run_lock:
            self._execute(job, work)

    def _execute(self, job: Job[T], work: Callable[[Job[T]], T]) -> None:
        try:
            # A job filling a stored plan version runs its work even when cancelled
            # already: the work's first progress report stops it and marks the version.
            if job.cancel.is_set() and job.plan_id is None:
                raise JobCancelledError(CANCELLED)
            summary = work(job)
        except JobCancelledError:
            with self._lock:
                job.state, job.error = "cancelled", "cancelled by the user"
            return
        except Exception as exc:  # shown on the page instead of lost in a thread
            with self._lock:
                job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            job.summary, job.state = summary, "done"

    def get(self, job_id: int) -> Job[T] | None:
        with self._lock:
            return self._jobs.get(job_id)

    def find(self, job_id: int) -> Job[T]:
        """Job ``job_id``, or a NotFoundError (also for a job forgotten since)."""
        job = self.get(job_id)
        if job is None:
            msg = f"{self.what} {job_id} not found"
            raise NotFoundError(msg)
        return job

    def start_one(
        self,
        owner: str,
        work: Callable[[Job[T]], T],
        *,
        prepare: Callable[[], int] | None = None,
        busy: str,
    ) -> Job[T]:
        """:meth:`start_exclusive`, or a ConflictError saying ``busy`` while a job runs."""
        job = self.start_exclusive(owner, work, prepare=prepare)
        if job is None:
            raise ConflictError(busy)
        return job

    def finished(self, job_id: int) -> T:
        """The result of job ``job_id``; NotFoundError for an unknown job, ConflictError for
        one that is running, failed or was cancelled."""
        job = self.find(job_id)
        if job.state != "done" or job.summary is None:
            msg = f"{self.what} {job_id} is {job.state}"
            raise ConflictError(msg)
        return job.summary

    def running(self) -> Job[T] | None:
        """The oldest job still running, if any."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.state in ACTIVE), None)

    def for_plan(self, plan_id: int) -> Job[T] | None:
        """The job filling stored plan version ``plan_id``, if this process runs it."""
        with self._lock:
            return next((j for j in self._jobs.values() if j.plan_id == plan_id), None)

    def cancel_all(self, timeout_s: float = 10.0) -> None:
        """Ask every running job to stop and wait for them (server shutdown): a cancelled
        planning run marks its version failed instead of leaving it "running"."""
        with self._lock:
            for job in self._jobs.values():
                if job.state in ACTIVE:
                    job.cancel.set()
        self.wait(timeout_s)

    def latest(self) -> Job[T] | None:
        with self._lock:
            return self._jobs[max(self._jobs)] if self._jobs else None

    def all(self) -> list[Job[T]]:
        """Jobs still remembered, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: -j.job_id)

    def wait(self, timeout_s: float = 60.0) -> None:
        """Block until no job is running (tests, shutdown)."""
        pause = threading.Event()
        for _ in range(int(timeout_s * 20)):
            with self._lock:
                if all(j.state not in ACTIVE for j in self._jobs.values()):
                    return
            pause.wait(0.05)


RepairJob = Job[RepairSummary]


class RepairJobs(Jobs[RepairSummary]):
    """Plan repairs after a missed or cancelled visit (the rep's phone gets the redirect at
    once and the day page shows "re-planning…" until the job is done, then what changed).

    Unlike other registries, jobs of different reps run side by side: the
    :class:`~routeplanner.services.repair_queue.RepairQueue` decides when, coalesces one rep's
    reports into one job and refuses new jobs beyond its limits."""

    what = "repair job"

    def __init__(self, queue: RepairQueue[RepairJob] | None = None, max_jobs: int = 200) -> None:
        super().__init__(max_jobs)
        self._queue: RepairQueue[RepairJob] = queue or RepairQueue()

    def start(
        self,
        rep_id: str,
        work: Callable[[RepairJob], RepairSummary],
        *,
        admitted: Callable[[], VisitRecord] | None = None,
        delay_s: float = 0.0,
    ) -> RepairJob:
        """The job repairing ``rep_id``'s territory: the rep's waiting job, else a new one.
        ``admitted`` (storing the report, answering the stored record) runs once the queue
        has taken the repair and before it can start, so a refused report is not stored. The
        repair waits ``delay_s`` seconds after this report (state "waiting"), in which
        :meth:`undo` can take the report back.

        Raises
        ------
        RateLimitedError, QueueFullError
            Beyond the queue's limits; nothing started and ``admitted`` not run.
        """

        def make() -> RepairJob:
            job = self._register(rep_id)
            job.state = "waiting" if delay_s > 0 else "running"
            return job

        stored: list[VisitRecord] = []

        def admit() -> None:
            if admitted is not None:
                stored.append(admitted())

        job = self._queue.submit(
            rep_id, make, lambda found: self._begin(found, work), admitted=admit, delay_s=delay_s
        )
        with self._lock:
            job.record_ids.update(r.record_id for r in stored)
            job.starts_at = max(job.starts_at, time.time() + delay_s)
        return job

    def _begin(self, job: RepairJob, work: Callable[[RepairJob], RepairSummary]) -> None:
        """Run a due repair unless all its reports were undone meanwhile (checked under the
        lock :meth:`undo` takes: a repair either starts or is undone, never both)."""
        with self._lock:
            if job.state != "waiting" and job.state != "running":
                return
            job.state = "running"
        self._execute(job, work)

    def undo(self, job_id: int, record_id: int, withdraw: Callable[[], object]) -> RepairJob:
        """Take report ``record_id`` out of waiting repair ``job_id`` after ``withdraw()``
        (which marks it withdrawn in storage) succeeds; a repair left with no report is
        dropped ("undone"). The report must be one the job covers.

        Raises
        ------
        NotFoundError
            No such job, or the report is not one of its.
        ConflictError
            The repair has started (or ended) already; nothing is withdrawn.
        """
        job = self.find(job_id)
        with self._lock:
            if job.state != "waiting":
                msg = f"too late to undo: the re-planning is {job.state} already"
                raise ConflictError(msg)
            if record_id not in job.record_ids:
                msg = f"report {record_id} is not part of {self.what} {job_id}"
                raise NotFoundError(msg)
            withdraw()
            job.record_ids.discard(record_id)
            if not job.record_ids and self._queue.discard(job.rep_id, job):
                job.state, job.error = "undone", "undone by the rep"
        return job

    def close(self, timeout_s: float = 10.0) -> None:
        """Refuse new repairs and let the started ones finish (server shutdown)."""
        self._queue.close(timeout_s)


PlanningJob = Job[PlanningResult]


class PlanningJobs(Jobs[PlanningResult]):
    """Full planning runs started from the plan page or the API (one at a time per app)."""

    what = "planning job"


TerritoryJob = Job[Proposal]


class TerritoryJobs(Jobs[Proposal]):
    """Design and realignment runs (one at a time); their parameters by job id, since a
    job's options only mean something next to what was asked."""

    what = "territory job"

    def __init__(self, max_jobs: int = 50) -> None:
        super().__init__(max_jobs)
        self._params: dict[int, DesignParams] = {}
        self._scopes: dict[int, Scope] = {}

    def start_proposal(
        self,
        owner: str,
        params: DesignParams,
        work: Callable[[Job[Proposal]], Proposal],
        scope: Scope,
    ) -> TerritoryJob:
        """Start ``work`` unless a job runs (ConflictError) and remember its parameters and
        the scope it runs in."""
        job = self.start_one(owner, work, busy="a territory job is already running")
        with self._lock:
            self._params[job.job_id] = params
            self._scopes[job.job_id] = scope
            for stale in [k for k in self._params if k not in self._jobs]:
                del self._params[stale]  # forgotten by the registry (it keeps the newest only)
                self._scopes.pop(stale, None)
        return job

    def seen_by(self, job_id: int, scope: Scope) -> bool:
        """Whether a user with ``scope`` may see job ``job_id`` (one run in their scope)."""
        with self._lock:
            made_in = self._scopes.get(job_id)
        return made_in is not None and scope.covers(made_in)

    def find_in(self, job_id: int, scope: Scope) -> TerritoryJob:
        """:meth:`find` for a user with ``scope``: another region's job is not found."""
        job = self.find(job_id)
        if not self.seen_by(job_id, scope):
            msg = f"{self.what} {job_id} not found"
            raise NotFoundError(msg)
        return job

    def finished_in(self, job_id: int, scope: Scope) -> Proposal:
        """:meth:`finished` for a user with ``scope``."""
        self.find_in(job_id, scope)
        return self.finished(job_id)

    def latest_in(self, scope: Scope) -> TerritoryJob | None:
        """The newest job a user with ``scope`` may see."""
        return next((j for j in self.all() if self.seen_by(j.job_id, scope)), None)

    def params(self, job_id: int) -> DesignParams | None:
        with self._lock:
            return self._params.get(job_id)


class DryRuns:
    """The newest assignment dry runs of one app (in memory; a restart forgets them)."""

    def __init__(self, keep: int = 20) -> None:
        self._runs: OrderedDict[str, DryRun] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()
        self.apply_lock = threading.Lock()
        """Held while a dry run is applied: one apply at a time, so the second sees the first."""

    def add(self, run: DryRun) -> DryRun:
        with self._lock:
            self._runs[run.token] = run
            self._runs.move_to_end(run.token)
            while len(self._runs) > self._keep:
                self._runs.popitem(last=False)
        return run

    def get(self, token: str) -> DryRun | None:
        with self._lock:
            return self._runs.get(token)

    def find(self, token: str) -> DryRun:
        run = self.get(token)
        if run is None:
            msg = f"dry run {token!r} is unknown or expired (only the newest are kept); "
            msg += "run it again"
            raise NotFoundError(msg)
        return run
