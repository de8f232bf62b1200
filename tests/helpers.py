"""Shared test helpers: paths, factories and the rule that missing tools fail under CI."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from routeplanner.model import GeoPoint
from routeplanner.travel.provider import SnapReport, TravelMatrix, TravelTimeProvider

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(__file__).resolve().parent / "data"
SAMPLE_DIR = REPO / "sample_data"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally when a tool is missing, but fail under ``CI=true``.

    CI installs every tool the tests need, so a missing one there is a broken pipeline, not a
    reason to pass quietly.
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required tool missing in CI: {what}")
    pytest.skip(f"tool missing: {what}")


class RecordingTravel:
    """A real provider that records the shape (origins, destinations) of every matrix asked
    of it, for tests that check which matrices a computation needs."""

    def __init__(self, inner: TravelTimeProvider) -> None:
        self.inner = inner
        self.matrix_calls: list[tuple[int, int]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    def snap(self, points: Sequence[tuple[str, GeoPoint]]) -> SnapReport:
        return self.inner.snap(points)

    def leg_geometry(self, origin: GeoPoint, destination: GeoPoint) -> list[GeoPoint]:
        return self.inner.leg_geometry(origin, destination)

    def matrix(
        self, origins: Sequence[GeoPoint], destinations: Sequence[GeoPoint] | None = None
    ) -> TravelMatrix:
        columns = origins if destinations is None else destinations
        self.matrix_calls.append((len(origins), len(columns)))
        return self.inner.matrix(origins, destinations)
