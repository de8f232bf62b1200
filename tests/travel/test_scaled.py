"""A learned travel factor applied to any provider: durations scaled, everything else as is."""

from __future__ import annotations

import numpy as np
import pytest

from routeplanner.model.geo import GeoPoint
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.scaled import ScaledTravel

POINTS = [GeoPoint(49.40, 8.69), GeoPoint(49.41, 8.70), GeoPoint(49.45, 8.60)]


def test_durations_scale_and_distances_stay() -> None:
    base = HaversineTravel()
    slow: TravelTimeProvider = ScaledTravel(base, 1.25)
    plain, scaled = base.matrix(POINTS), slow.matrix(POINTS)
    np.testing.assert_array_equal(scaled.durations_s, np.rint(plain.durations_s * 1.25))
    np.testing.assert_array_equal(scaled.distances_m, plain.distances_m)
    rect = slow.matrix(POINTS[:1], POINTS[1:])
    np.testing.assert_array_equal(rect.durations_s, scaled.durations_s[:1, 1:])
    assert slow.name == "haversinex1.25"
    assert slow.snap([("a", POINTS[0])]) == base.snap([("a", POINTS[0])])
    assert slow.leg_geometry(POINTS[0], POINTS[1]) == base.leg_geometry(POINTS[0], POINTS[1])


@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan"), float("inf")])
def test_factor_must_be_positive(factor: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        ScaledTravel(HaversineTravel(), factor)
