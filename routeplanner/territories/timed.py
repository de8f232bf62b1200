"""Road times that stop at a deadline: matrices asked for in slices of origins.

A region job's road-time matrix is most of its cost and one call cannot be interrupted; asked
for a slice of origins at a time, it can give up between slices once the job's time is up, so
the job turns to a split that needs no road times instead of overrunning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from routeplanner.model.geo import GeoPoint
from routeplanner.territories.assign import OutOfTimeError
from routeplanner.territories.deadline import Deadline
from routeplanner.territories.workload import RoadCells
from routeplanner.travel.provider import SnapReport, TravelMatrix, TravelTimeProvider

MATRIX_SLICE = 128
"""Origins per call: each call snaps the destinations again, so slices much smaller than this
cost more than the time they let the job save."""


class TimedTravel:
    """``travel`` whose matrices raise :class:`OutOfTimeError` once ``deadline`` has passed
    (checked before each slice of origins); other questions go straight through."""

    def __init__(self, travel: TravelTimeProvider, deadline: Deadline) -> None:
        self._travel = travel
        self._deadline = deadline

    @property
    def name(self) -> str:
        return self._travel.name

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        return self._travel.snap(points)

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return self._travel.leg_geometry(origin, destination)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        targets = list(origins) if destinations is None else list(destinations)
        durations: list[npt.NDArray[np.int64]] = []
        distances: list[npt.NDArray[np.int64]] = []
        for first in range(0, len(origins), MATRIX_SLICE):
            if self._deadline.expired():
                msg = "the road times were not in before the deadline"
                raise OutOfTimeError(msg)
            part = self._travel.matrix(origins[first : first + MATRIX_SLICE], targets)
            durations.append(part.durations_s)
            distances.append(part.distances_m)
        if not durations:
            return self._travel.matrix(origins, targets)
        return TravelMatrix(np.vstack(durations), np.vstack(distances))


class TimedRoadCells(TimedTravel):
    """:class:`TimedTravel` over a provider that draws road cells (no deadline on those: one
    search over the whole graph)."""

    def __init__(self, travel: TravelTimeProvider, cells: RoadCells, deadline: Deadline) -> None:
        super().__init__(travel, deadline)
        self._cells = cells

    def cell_adjacency(self, points: Sequence[GeoPoint]) -> npt.NDArray[np.int64]:
        return self._cells.cell_adjacency(points)


def timed_travel(travel: TravelTimeProvider, deadline: Deadline) -> TravelTimeProvider:
    """``travel`` stopping at ``deadline``, drawing road cells when ``travel`` does."""
    if isinstance(travel, RoadCells):
        return TimedRoadCells(travel, travel, deadline)
    return TimedTravel(travel, deadline)
