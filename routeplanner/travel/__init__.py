"""Travel times and distances between points: the road network or a straight-line fallback."""

from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import Snap, SnapReport, TravelMatrix, TravelTimeProvider

__all__ = ["HaversineTravel", "Snap", "SnapReport", "TravelMatrix", "TravelTimeProvider"]
