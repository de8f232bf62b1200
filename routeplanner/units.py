"""Units used inside the core: integer seconds and metres, and the few conversions at the edges.

Solvers work on integers; keeping seconds and metres as ``int`` everywhere means there is exactly
one place (here) where user-facing values (hours, km, "08:30") are converted.
"""

from __future__ import annotations

import math
import re
from typing import TypeAlias

Seconds: TypeAlias = int
Metres: TypeAlias = int

MINUTE: Seconds = 60
HOUR: Seconds = 3600
DAY: Seconds = 86400
EARTH_RADIUS_M = 6_371_008.8

_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_hhmm(text: str) -> Seconds:
    """Parse ``"08:30"`` into seconds after midnight; ``"24:00"`` is allowed as end of day."""
    match = _HHMM.match(text)
    if not match:
        msg = f"time {text!r} is not HH:MM"
        raise ValueError(msg)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        msg = f"time {text!r} is not a time of day"
        raise ValueError(msg)
    return hours * HOUR + minutes * MINUTE


def format_hhmm(seconds: Seconds) -> str:
    """Format seconds after midnight as ``HH:MM`` (rounded down to the minute)."""
    minutes = int(seconds) // MINUTE
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres; the fallback where no road network is loaded."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))
