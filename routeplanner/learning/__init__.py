"""Learning travel and visit times from what reps record: pure fits with their evidence."""

from routeplanner.learning.fit import (
    Estimate,
    Fit,
    Leg,
    Recorded,
    Stay,
    fit_travel_factors,
    fit_visit_durations,
    observations_from_day,
)
from routeplanner.learning.robust import Centre, huber_centre

__all__ = [
    "Centre",
    "Estimate",
    "Fit",
    "Leg",
    "Recorded",
    "Stay",
    "fit_travel_factors",
    "fit_visit_durations",
    "huber_centre",
    "observations_from_day",
]
