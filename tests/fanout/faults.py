"""Travel providers that misbehave inside a Ray task the way real workers do: they raise, the
worker process dies, or they take long enough to be cancelled. Each wraps straight-line travel
and acts only when asked for a matrix that includes its ``trigger`` point (a rep's home), so
only that rep's territory is affected; attempts are counted in files (tasks run in other
processes)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from routeplanner.model.geo import GeoPoint
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import SnapReport, TravelMatrix


@dataclass(frozen=True)
class _Wrapped:
    trigger: GeoPoint
    log: Path
    inner: HaversineTravel = field(default_factory=HaversineTravel)

    @property
    def name(self) -> str:
        return "fault"

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        return self.inner.snap(points)

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return self.inner.leg_geometry(origin, destination)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        if self.trigger in origins:
            self.act()
        return self.inner.matrix(origins, destinations)

    def attempt(self) -> int:
        """Record one more attempt in the log; returns how many there were before."""
        before = len(self.log.read_text().splitlines()) if self.log.exists() else 0
        with self.log.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return before

    def act(self) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Raising(_Wrapped):
    """Always raises, on every attempt."""

    def act(self) -> None:
        self.attempt()
        raise RuntimeError("the travel engine is broken for this territory")


@dataclass(frozen=True)
class KillsWorker(_Wrapped):
    """Kills its own worker process (SIGKILL, as the OOM killer would) the first ``times``
    attempts; later attempts go through."""

    times: int = 1

    def act(self) -> None:
        if self.attempt() < self.times:
            os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class Slow(_Wrapped):
    """Every matrix of every territory takes ``seconds`` (the trigger is not needed); writes a
    line to the log when one ends."""

    seconds: float = 5.0

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        time.sleep(self.seconds)
        self.attempt()
        return self.inner.matrix(origins, destinations)


@dataclass(frozen=True)
class RaisingAway(_Wrapped):
    """Raises in every process but the one that made it (so on Ray workers only), for work
    whose driver asks for matrices too; logs the worker's pid per attempt."""

    home_pid: int = field(default_factory=os.getpid)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        if os.getpid() != self.home_pid:
            self.attempt()
            raise RuntimeError("the travel engine is broken on this worker")
        return self.inner.matrix(origins, destinations)


@dataclass(frozen=True)
class RaisingAmongFew(_Wrapped):
    """Raises, on every attempt, for a matrix from at most ``most`` origins that include the
    trigger: the homes of one region's reps, not those of the whole organisation (in
    process too)."""

    most: int = 2

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        if self.trigger in origins and len(origins) <= self.most:
            self.attempt()
            raise RuntimeError("the travel engine is broken in this region")
        return self.inner.matrix(origins, destinations)
