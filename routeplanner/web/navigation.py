"""Links that hand a stop, or the rest of the day, to the phone's navigation app.

Which app opens depends on the platform: an iPhone opens Apple Maps from ``maps.apple.com``
links and knows nothing of ``geo:``; Android opens Google Maps from its universal links and
offers any installed map app (OsmAnd, Waze …) for ``geo:``. Google's directions links carry
waypoints (at most :data:`MAX_WAYPOINTS` per link, so a long day is handed over in parts);
Apple's documented links carry one destination only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import quote, urlencode

from routeplanner.model import GeoPoint

MAX_WAYPOINTS = 9
"""Waypoints Google Maps takes in one directions link (the app and desktop; fewer in a mobile
browser), besides origin and destination."""


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    OTHER = "other"


def platform_of(user_agent: str) -> Platform:
    """The phone's platform from its User-Agent (anything else: :attr:`Platform.OTHER`)."""
    agent = user_agent[:512]
    if any(token in agent for token in ("iPhone", "iPad", "iPod")):
        return Platform.IOS
    if "Android" in agent:
        return Platform.ANDROID
    return Platform.OTHER


def _ll(point: GeoPoint) -> str:
    return f"{point.lat:.6f},{point.lon:.6f}"


@dataclass(frozen=True, slots=True)
class NavLinks:
    """Directions to one place: ``geo`` (Android map apps), OSM, Google and Apple Maps."""

    geo: str
    osm: str
    google: str
    apple: str

    def primary(self, platform: Platform) -> str:
        """The one "Navigate" link for ``platform``."""
        return self.apple if platform is Platform.IOS else self.google


def directions(origin: GeoPoint, dest: GeoPoint, label: str) -> NavLinks:
    """Driving directions from ``origin`` to ``dest`` in every app."""
    geo = f"geo:{_ll(dest)}?q={_ll(dest)}({quote(label)})"
    osm = (
        "https://www.openstreetmap.org/directions?engine=fossgis_osrm_car&route="
        f"{origin.lat:.6f}%2C{origin.lon:.6f}%3B{dest.lat:.6f}%2C{dest.lon:.6f}"
    )
    google = "https://www.google.com/maps/dir/?" + urlencode(
        {"api": "1", "travelmode": "driving", "origin": _ll(origin), "destination": _ll(dest)},
        safe=",",
    )
    apple = "https://maps.apple.com/?" + urlencode(
        {"saddr": _ll(origin), "daddr": _ll(dest), "dirflg": "d"}, safe=","
    )
    return NavLinks(geo, osm, google, apple)


def to_place(dest: GeoPoint, label: str) -> NavLinks:
    """Driving directions to ``dest`` from wherever the phone is."""
    geo = f"geo:{_ll(dest)}?q={_ll(dest)}({quote(label)})"
    osm = f"https://www.openstreetmap.org/?mlat={dest.lat:.6f}&mlon={dest.lon:.6f}&zoom=17"
    google = "https://www.google.com/maps/dir/?" + urlencode(
        {"api": "1", "travelmode": "driving", "destination": _ll(dest)}, safe=","
    )
    apple = "https://maps.apple.com/?" + urlencode({"daddr": _ll(dest), "dirflg": "d"}, safe=",")
    return NavLinks(geo, osm, google, apple)


@dataclass(frozen=True, slots=True)
class HandOff:
    """One link of the whole-day hand-off: stops ``first``..``last`` (1-based, as numbered on
    the day page; ``last`` is 0 for the drive home)."""

    first: int
    last: int
    url: str
    label: str


def day_handoff(
    stops: Sequence[tuple[int, GeoPoint]], home: GeoPoint, *, per_link: int = MAX_WAYPOINTS
) -> list[HandOff]:
    """The rest of a day for Google Maps: the stops still to visit as waypoints, then home,
    from where the phone is (no origin), split into links of ``per_link`` waypoints each
    (the next link starts at the stop the previous one ended at)."""
    points = [*stops, (0, home)]
    links: list[HandOff] = []
    start = 0
    origin: GeoPoint | None = None
    while start < len(points):
        chunk = points[start : start + per_link + 1]
        query = {"api": "1", "travelmode": "driving", "destination": _ll(chunk[-1][1])}
        if origin is not None:
            query["origin"] = _ll(origin)
        if len(chunk) > 1:
            query["waypoints"] = "|".join(_ll(p) for _, p in chunk[:-1])
        url = "https://www.google.com/maps/dir/?" + urlencode(query, safe=",")
        links.append(HandOff(chunk[0][0], chunk[-1][0], url, ""))
        origin = chunk[-1][1]
        start += len(chunk)
    return [replace(h, label=_label(h, len(links))) for h in links]


def _label(link: HandOff, count: int) -> str:
    if count == 1:
        return "Drive home" if link.first == 0 else "Whole day in Google Maps"
    return f"Stops {link.first}–{link.last or 'home'} in Google Maps"
