"""Navigation links: the platform from the User-Agent, one link per app, and the whole-day
hand-off split into Google Maps links of at most nine waypoints."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from routeplanner.model import GeoPoint
from routeplanner.web.navigation import Platform, day_handoff, directions, platform_of

HOME = GeoPoint(49.3988, 8.6724)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_platform_from_the_user_agent() -> None:
    assert platform_of("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)") is Platform.IOS
    assert platform_of("Mozilla/5.0 (Linux; Android 14; Pixel 8)") is Platform.ANDROID
    assert platform_of("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126") is Platform.OTHER
    assert platform_of("") is Platform.OTHER


def test_one_navigate_link_per_platform() -> None:
    links = directions(HOME, GeoPoint(49.41, 8.69), "Bäckerei <Müller>")
    assert links.primary(Platform.IOS).startswith("https://maps.apple.com/?")
    assert _query(links.apple) == {
        "saddr": "49.398800,8.672400",
        "daddr": "49.410000,8.690000",
        "dirflg": "d",
    }
    assert links.primary(Platform.ANDROID) == links.google == links.primary(Platform.OTHER)
    assert _query(links.google)["destination"] == "49.410000,8.690000"
    assert "%3CM%C3%BCller%3E" in links.geo  # the label is escaped


def test_whole_day_hand_off_splits_long_days() -> None:
    stops = [(n, GeoPoint(49.40 + n / 1000, 8.69)) for n in range(1, 13)]
    links = day_handoff(stops, HOME)
    assert [(h.first, h.last) for h in links] == [(1, 10), (11, 0)]
    assert [h.label for h in links] == ["Stops 1–10 in Google Maps", "Stops 11–home in Google Maps"]
    first, second = (_query(h.url) for h in links)
    assert "origin" not in first  # from where the phone is
    assert len(first["waypoints"].split("|")) == 9
    assert first["destination"] == "49.410000,8.690000"  # stop 10
    assert second["origin"] == first["destination"]
    assert second["waypoints"].split("|") == ["49.411000,8.690000", "49.412000,8.690000"]
    assert second["destination"] == "49.398800,8.672400"  # home
    (short,) = day_handoff(stops[:2], HOME)
    assert short.label == "Whole day in Google Maps"
    (home,) = day_handoff([], HOME)
    assert (home.label, "waypoints" in _query(home.url)) == ("Drive home", False)
