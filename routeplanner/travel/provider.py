"""The one interface every stage uses to ask "how long from A to B", whatever answers it.

Territories, scheduling and routing depend on this Protocol, not on the road graph, so tests can
use the straight-line provider and a later deployment can swap in another engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from routeplanner.model.geo import GeoPoint


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a point meets the road network; ``reachable`` is False beyond the snap limit."""

    point_id: str
    location: GeoPoint
    snapped: GeoPoint | None
    distance_m: float
    reachable: bool


@dataclass(frozen=True, slots=True)
class SnapReport:
    """Snaps for a batch of points, in input order, with the limit that was applied."""

    snaps: tuple[Snap, ...]
    max_snap_m: float

    @property
    def unreachable(self) -> tuple[Snap, ...]:
        return tuple(s for s in self.snaps if not s.reachable)

    def by_id(self) -> dict[str, Snap]:
        return {s.point_id: s for s in self.snaps}


@dataclass(frozen=True, slots=True)
class TravelMatrix:
    """Integer travel times (s) and distances (m); ``[i, j]`` is from origin i to destination j."""

    durations_s: npt.NDArray[np.int64]
    distances_m: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.durations_s.shape != self.distances_m.shape:
            msg = "duration and distance matrices must have the same shape"
            raise ValueError(msg)


class TravelTimeProvider(Protocol):
    """Answers travel questions for any set of points, in bulk (one call per matrix)."""

    @property
    def name(self) -> str:
        """Short engine name shown in logs and plan metadata (``road``, ``haversine``)."""
        ...

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        """Snap points to the network, reporting (never silently moving) far-away ones."""
        ...

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        """Travel-time and distance matrix; ``destinations=None`` means the square matrix."""
        ...

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        """The polyline driven from ``origin`` to ``destination``, for drawing maps."""
        ...
