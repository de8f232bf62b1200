"""A travel provider whose durations are another's times a factor (a rep's learned pace)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routeplanner.model.geo import GeoPoint
from routeplanner.travel.provider import SnapReport, TravelMatrix, TravelTimeProvider


@dataclass(frozen=True, slots=True)
class ScaledTravel:
    """Durations of ``inner`` times ``factor`` (rounded to whole seconds); distances unchanged.

    A rep whose drives take 1.15 times the road model's (learned from recorded visits and
    confirmed) is planned with ``ScaledTravel(road, 1.15)``.
    """

    inner: TravelTimeProvider
    factor: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.factor) and self.factor > 0):
            msg = f"travel factor must be a positive number, got {self.factor}"
            raise ValueError(msg)

    @property
    def name(self) -> str:
        return f"{self.inner.name}x{self.factor:.2f}"

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        return self.inner.snap(points)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        base = self.inner.matrix(origins, destinations)
        scaled = np.rint(base.durations_s * self.factor).astype(np.int64)
        return TravelMatrix(scaled, base.distances_m)

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return self.inner.leg_geometry(origin, destination)
