"""Geographic points: WGS84 latitude/longitude as stored in OSM and user files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 position; validated here so no layer below ever sees an impossible coordinate."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            msg = f"latitude {self.lat} is outside -90..90"
            raise ValueError(msg)
        if not -180.0 <= self.lon <= 180.0:
            msg = f"longitude {self.lon} is outside -180..180"
            raise ValueError(msg)
