"""Territory jobs fanned out on Ray: one task per territory, on this machine or a cluster.

With no cluster address, Ray is started inside this process on ``workers`` cores the first time
a run is big enough to gain from it; with an address (``auto``, ``ray://head:10001``) the
mapper joins that cluster. The road graph is put in Ray's object store once per mapper (its
arrays reach every worker without a copy per task) and each worker process builds its router
from it once; travel-time matrices are built inside each task, for that territory only.

A task that raises or whose worker dies is retried once; a territory that fails again comes
back as a :class:`~routeplanner.planner.TerritoryFailure` naming it, and the other territories'
plans are kept. A progress callback that raises (a cancelled run) cancels every task.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from routeplanner.planner import (
    JobContext,
    JobOutcome,
    TerritoryDone,
    TerritoryFailure,
    TerritoryJob,
    in_process,
    timed_job,
)
from routeplanner.roads.graph import RoadGraph
from routeplanner.scheduling.day_router import DayRouter
from routeplanner.scheduling.scheduler import DaySearch, Progress
from routeplanner.territories.org_realign import (
    RealignJob,
    RealignResult,
    kept_region,
    realign_region,
)
from routeplanner.territories.organisation import cut_region, design_region
from routeplanner.territories.regions import (
    JobT,
    RegionJob,
    RegionMapper,
    RegionResult,
    RegionSettings,
)
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.road import RoadTravel
from routeplanner.travel.scaled import ScaledTravel
from routeplanner.travel.timeofday import TimeOfDayProfile

if TYPE_CHECKING:
    import ray

_ResultT = TypeVar("_ResultT")

ATTEMPTS = 2
"""A task runs at most twice: one retry covers a worker lost to the machine (killed, out of
memory); a job that fails twice the same way would fail a third time too."""
POLL_S = 0.25
"""How often the driver looks at finished tasks and workers' progress."""
REPORT_EVERY_S = 0.5
"""A worker sends its progress at most this often (each report is a message to the driver)."""


@dataclass(frozen=True, slots=True)
class FanoutConfig:
    """Where territory jobs run: ``workers`` local cores (0 = all) or the cluster at
    ``address``; runs with fewer than ``min_jobs`` territories stay in this process."""

    workers: int = 0
    address: str = ""
    min_jobs: int = 2

    def local_workers(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def uses_ray(self, jobs: int) -> bool:
        """Whether a run of ``jobs`` territories goes to Ray: a cluster, or more than one
        local core, and enough territories to repay starting the workers."""
        if jobs < max(2, self.min_jobs):
            return False
        return bool(self.address) or self.local_workers() > 1


# -- what a task needs, shipped once per run ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SharedRoads:
    """A :class:`RoadTravel` as the object-store reference of its graph and its options."""

    graph: ray.ObjectRef[RoadGraph]
    key: str
    max_snap_m: float
    chunk: int


@dataclass(frozen=True, slots=True)
class _SharedScaled:
    inner: _Shared
    factor: float


@dataclass(frozen=True, slots=True)
class _AsIs:
    """A provider small enough to ship whole (straight-line travel, test providers)."""

    travel: TravelTimeProvider


_Shared = _SharedRoads | _SharedScaled | _AsIs


@dataclass(frozen=True, slots=True)
class _SharedContext:
    """A :class:`JobContext` with its travel provider as shared."""

    travel: _Shared
    rush_hours: TimeOfDayProfile | None
    day_router: DayRouter | None
    search: DaySearch


_WORKER_ROADS: dict[str, RoadTravel] = {}
"""Per worker process: routers built from the shared graph. A worker runs many tasks of one
run and of later runs; building the snapping index and routing graph takes seconds, so it is
done once per worker and graph, not per task."""
_WORKER_ROADS_LOCK = threading.Lock()


def _travel_on_worker(shared: _Shared) -> TravelTimeProvider:
    import ray

    if isinstance(shared, _AsIs):
        return shared.travel
    if isinstance(shared, _SharedScaled):
        return ScaledTravel(_travel_on_worker(shared.inner), shared.factor)
    with _WORKER_ROADS_LOCK:
        known = _WORKER_ROADS.get(shared.key)
        if known is None:
            graph = ray.get(shared.graph)
            known = RoadTravel(graph, max_snap_m=shared.max_snap_m, chunk=shared.chunk)
            _WORKER_ROADS.clear()  # one graph per deployment: keep only the latest
            _WORKER_ROADS[shared.key] = known
    return known


def _territory_task(
    job: TerritoryJob, shared: _SharedContext, board: Any, run: int, index: int
) -> TerritoryDone:
    """One territory's job on a Ray worker, sending its progress to ``board``."""
    context = JobContext(
        _travel_on_worker(shared.travel), shared.rush_hours, shared.day_router, shared.search
    )
    last = [0.0]

    def report(message: str, fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= REPORT_EVERY_S:
            last[0] = now
            board.report.remote(run, index, message, fraction)

    return timed_job(job, context, report)


def _region_task(job: RegionJob | RealignJob, travel: _Shared) -> RegionResult | RealignResult:
    """One region's territory design or realignment on a Ray worker."""
    if isinstance(job, RealignJob):
        return realign_region(job, _travel_on_worker(travel))
    return design_region(job, _travel_on_worker(travel))


class _ProgressBoard:
    """The latest progress of each task, per run (a Ray actor, one per mapper: overlapping
    runs of a server share it)."""

    def __init__(self) -> None:
        self.latest: dict[int, dict[int, tuple[str, float]]] = {}

    def report(self, run: int, index: int, message: str, fraction: float) -> None:
        self.latest.setdefault(run, {})[index] = (message, fraction)

    def take(self, run: int) -> dict[int, tuple[str, float]]:
        return self.latest.pop(run, {})


# -- the mapper ---------------------------------------------------------------------------------


class RayMapper:
    """A :class:`~routeplanner.planner.JobMapper` on Ray; starts (or joins) Ray on first use.

    Thread-safe: runs of a web server's jobs may overlap; they share the Ray runtime.
    """

    def __init__(self, config: FanoutConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._started_here = False
        self._task: Any = None
        self._region_task: Any = None
        self._board: Any = None
        self._runs = itertools.count()
        self._graphs: dict[str, ray.ObjectRef[RoadGraph]] = {}

    def __call__(
        self, jobs: Sequence[TerritoryJob], context: JobContext, progress: Progress | None
    ) -> list[JobOutcome]:
        if not self.config.uses_ray(len(jobs)):
            return in_process(jobs, context, progress)
        self._start()
        import ray

        travel = self._share(context.travel)
        shared = ray.put(
            _SharedContext(travel, context.rush_hours, context.day_router, context.search)
        )
        run = next(self._runs)
        refs = [self._task.remote(job, shared, self._board, run, i) for i, job in enumerate(jobs)]
        try:
            _follow(refs, _Progress(self._board, run, jobs, progress))
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise
        return [_outcome(ref, job) for ref, job in zip(refs, jobs, strict=True)]

    def _start(self) -> None:
        import ray

        with self._lock:
            if not ray.is_initialized():
                options = (
                    {"address": self.config.address}
                    if self.config.address
                    else {"num_cpus": self.config.local_workers()}
                )
                ray.init(**options, **_QUIET)
                self._started_here = True
                self._task = None  # a board of an earlier runtime is gone with it
            if self._task is None:
                self._task = ray.remote(
                    max_retries=ATTEMPTS - 1, retry_exceptions=True, num_cpus=1
                )(_territory_task)
                self._region_task = ray.remote(
                    max_retries=ATTEMPTS - 1, retry_exceptions=True, num_cpus=1
                )(_region_task)
                self._board = ray.remote(num_cpus=0)(_ProgressBoard).remote()

    def regions(self, travel: TravelTimeProvider) -> tuple[RegionSettings, RegionMapper] | None:
        """How an organisation-scale design or realignment runs its region jobs on these
        workers: as many at once as there are workers (each job gets that share of the time),
        one task each with the road graph from the object store; None when they should run in
        turn in this process (one local core, no cluster)."""
        if not self.config.uses_ray(max(2, self.config.min_jobs)):
            return None

        def run(_runner: Callable[[JobT], _ResultT], jobs: Sequence[JobT]) -> list[_ResultT]:
            self._start()
            import ray

            shared = self._share(travel)
            refs = [self._region_task.remote(job, shared) for job in jobs]
            try:
                ray.wait(refs, num_returns=len(refs))
            except BaseException:
                for ref in refs:
                    ray.cancel(ref, force=True)
                raise
            # Each task ran its job's own kind of work, whose result type is the runner's.
            return [
                cast("_ResultT", _region_outcome(ref, job))
                for ref, job in zip(refs, jobs, strict=True)
            ]

        return RegionSettings(parallel=self.config.local_workers()), run

    def _share(self, travel: TravelTimeProvider) -> _Shared:
        import ray

        if isinstance(travel, ScaledTravel):
            return _SharedScaled(self._share(travel.inner), travel.factor)
        if not isinstance(travel, RoadTravel):
            return _AsIs(travel)
        graph = travel.graph
        key = f"{graph.sha256}:{id(graph)}:{travel.max_snap_m}"
        with self._lock:
            ref = self._graphs.get(key)
            if ref is None:
                self._graphs.clear()  # drop the reference of an older graph
                ref = self._graphs[key] = ray.put(graph)
        return _SharedRoads(ref, key, travel.max_snap_m, travel.chunk)

    def close(self) -> None:
        """Forget the shared graph and stop Ray if this mapper started it."""
        if self._task is None and not self._started_here:
            return  # never used Ray: do not even import it
        import ray

        with self._lock:
            self._graphs.clear()
            if self._board is not None and ray.is_initialized():
                ray.kill(self._board)
            self._board, self._task, self._region_task = None, None, None
            if self._started_here and ray.is_initialized():
                ray.shutdown()
            self._started_here = False


_QUIET: dict[str, Any] = {
    "include_dashboard": False,
    "configure_logging": False,
    "log_to_driver": False,
    "ignore_reinit_error": True,
}


class _Progress:
    """The run's progress from the workers' latest reports, read without blocking the wait
    for results (the board's answer is picked up on a later poll when it is not there yet)."""

    def __init__(
        self, board: Any, run: int, jobs: Sequence[TerritoryJob], report: Progress | None
    ) -> None:
        self.board, self.run, self.jobs, self.report = board, run, jobs, report
        self.fractions = [0.0] * len(jobs)
        self.message = "starting the workers"
        self.asked: Any = None

    def update(self, finished: Sequence[int]) -> None:
        import ray

        for index in finished:
            self.fractions[index] = 1.0
        if self.asked is not None and ray.wait([self.asked], timeout=0)[0]:
            for index, (text, fraction) in ray.get(self.asked).items():
                if self.fractions[index] < 1.0:
                    self.fractions[index] = fraction
                    self.message = f"{self.jobs[index].territory_id}: {text}"
            self.asked = None
        if self.asked is None:
            self.asked = self.board.take.remote(self.run)
        if self.report is not None:
            done = sum(1 for f in self.fractions if f >= 1.0)
            total = len(self.jobs)
            self.report(f"{done}/{total} territories; {self.message}", sum(self.fractions) / total)


def _follow(refs: Sequence[ray.ObjectRef[TerritoryDone]], progress: _Progress) -> None:
    """Wait for every task, passing the workers' progress on as it comes."""
    import ray

    index = {ref: i for i, ref in enumerate(refs)}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
        progress.update([index[ref] for ref in ready])


def _outcome(ref: ray.ObjectRef[TerritoryDone], job: TerritoryJob) -> JobOutcome:
    import ray

    try:
        done: TerritoryDone = ray.get(ref)
    except ray.exceptions.RayError as exc:
        return TerritoryFailure(job.territory_id, job.rep.rep_id, _reason(exc), ATTEMPTS)
    return done


def _region_outcome(ref: ray.ObjectRef[Any], job: object) -> RegionResult | RealignResult:
    """The region's design or realignment; when its task failed twice, a design's region cut
    without road times (the border polish takes it from there), a realignment's region kept
    as it is, with a note saying why."""
    import ray

    try:
        done: RegionResult | RealignResult = ray.get(ref)
    except ray.exceptions.RayError as exc:
        if isinstance(job, RealignJob):
            return kept_region(job, f"failed twice ({_reason(exc)})")
        assert isinstance(job, RegionJob)
        cut = cut_region(job)
        note = f"region {job.region + 1}: its design failed twice ({_reason(exc)})"
        return replace(cut, notes=(note, *cut.notes))
    return done


def _reason(exc: BaseException) -> str:
    """The task's own error when it raised one, else what happened to its worker."""
    import ray

    cause = exc.cause if isinstance(exc, ray.exceptions.RayTaskError) else None
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


# -- one mapper per process ---------------------------------------------------------------------

_MAPPERS: dict[FanoutConfig, RayMapper] = {}
_MAPPERS_LOCK = threading.Lock()


def mapper_for(config: FanoutConfig) -> RayMapper:
    """The process's mapper for ``config``: Ray is one runtime per process, so every
    planning run of a server shares one mapper (and its started workers and shared graph)."""
    with _MAPPERS_LOCK:
        mapper = _MAPPERS.get(config)
        if mapper is None:
            mapper = _MAPPERS[config] = RayMapper(config)
        return mapper


def shutdown() -> None:
    """Stop what the process's mappers started (a server shutting down)."""
    with _MAPPERS_LOCK:
        mappers = list(_MAPPERS.values())
        _MAPPERS.clear()
    for mapper in mappers:
        mapper.close()


def region_options(
    jobs: object, travel: TravelTimeProvider
) -> tuple[RegionSettings | None, RegionMapper | None]:
    """The region settings and mapper an organisation-scale design gets from ``jobs``, the
    mapper territory jobs run on: its Ray workers when it is a :class:`RayMapper` that uses
    them, else (None, None) for the design's own defaults (regions in turn, in process)."""
    fanout = jobs.regions(travel) if isinstance(jobs, RayMapper) else None
    return fanout if fanout is not None else (None, None)
