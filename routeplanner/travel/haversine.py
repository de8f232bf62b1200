"""Straight-line travel estimate: for tests and for regions without a loaded road network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from routeplanner.model.geo import GeoPoint
from routeplanner.travel.provider import Snap, SnapReport, TravelMatrix
from routeplanner.units import EARTH_RADIUS_M


@dataclass(frozen=True, slots=True)
class HaversineTravel:
    """Great-circle distance times a detour factor, driven at a constant speed.

    A detour factor of 1.3 is the usual ratio of road to straight-line distance in European
    regions; 40 km/h is a typical mixed urban/rural average for field sales.
    """

    speed_kmh: float = 40.0
    detour_factor: float = 1.3
    name: str = "haversine"

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        snaps = tuple(Snap(pid, p, p, 0.0, True) for pid, p in points)
        return SnapReport(snaps, float("inf"))

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        dests = origins if destinations is None else destinations
        lat1 = np.radians([p.lat for p in origins])[:, None]
        lon1 = np.radians([p.lon for p in origins])[:, None]
        lat2 = np.radians([p.lat for p in dests])[None, :]
        lon2 = np.radians([p.lon for p in dests])[None, :]
        a = (
            np.sin((lat2 - lat1) / 2) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        )
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))) * self.detour_factor
        seconds = metres / (self.speed_kmh / 3.6)
        return TravelMatrix(
            np.rint(seconds).astype(np.int64).reshape(len(origins), len(dests)),
            np.rint(metres).astype(np.int64).reshape(len(origins), len(dests)),
        )

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return [origin, destination]
