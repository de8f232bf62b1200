"""Rush-hour profiles: slots of a weekday, overlapping windows, and slower class times."""

from __future__ import annotations

import numpy as np
import pytest

from routeplanner.model.geo import GeoPoint
from routeplanner.roads.graph import load_road_graph
from routeplanner.roads.model import CLASS_INDEX, ROAD_CLASSES
from routeplanner.settings import Settings
from routeplanner.travel.road import RoadTravel
from routeplanner.travel.timeofday import RushWindow, TimeOfDayProfile, parse_days, single_factor
from tests.helpers import DATA_DIR

H = 3600


def test_default_profile_has_weekday_peaks_and_quiet_sundays() -> None:
    profile = TimeOfDayProfile()
    monday = profile.slots(0)
    assert [(s.start_s // 60, s.end_s // 60) for s in monday] == [
        (0, 7 * 60),
        (7 * 60, 9 * 60),
        (9 * 60, 16 * 60),
        (16 * 60, 18 * 60 + 30),
        (18 * 60 + 30, 24 * 60),
    ]
    primary = CLASS_INDEX["primary"]
    assert profile.slot_at(0, 8 * H).factors[primary] > profile.slot_at(0, 10 * H).factors[primary]
    assert profile.slot_at(0, 10 * H).free
    # Friday's evening peak starts earlier; Sunday has none.
    assert not profile.slot_at(4, 14 * H).free
    assert profile.slot_at(0, 14 * H).free
    assert profile.slots(6) == (profile.slot_at(6, 8 * H),)
    assert profile.slot_at(6, 8 * H).free
    # Main roads slow more than residential streets in a peak.
    peak = profile.slot_at(1, 8 * H).factors
    assert peak[primary] > peak[CLASS_INDEX["residential"]] > 1.0
    assert TimeOfDayProfile(enabled=False).slot_at(0, 8 * H).free


def test_overlapping_windows_take_the_larger_factor_per_class() -> None:
    profile = TimeOfDayProfile(
        windows=[
            RushWindow(days="Mo", start="07:00", end="10:00", factors={"primary": 1.2}),
            RushWindow(
                days="Mo-We", start="08:00", end="09:00", factors={"primary": 1.1, "tertiary": 1.4}
            ),
        ]
    )
    at = profile.slot_at(0, int(8.5 * H)).factors
    assert (at[CLASS_INDEX["primary"]], at[CLASS_INDEX["tertiary"]]) == (1.2, 1.4)
    assert profile.slot_at(0, int(9.5 * H)).factors[CLASS_INDEX["tertiary"]] == 1.0
    assert profile.slot_at(2, int(7.5 * H)).free  # Wednesday: only the second window
    assert profile.slot_at(0, 30 * H) == profile.slots(0)[-1]  # past midnight: clamped


def test_bad_windows_are_refused() -> None:
    assert parse_days("Mo-We,Fr") == {0, 1, 2, 4}
    assert parse_days("Sa-Mo") == {5, 6, 0}
    with pytest.raises(ValueError, match="weekdays like Mo-Fr"):
        parse_days("Monday")
    with pytest.raises(ValueError, match="ends before it starts"):
        RushWindow(days="Mo", start="09:00", end="08:00", factors={})
    with pytest.raises(ValueError, match="unknown road class"):
        RushWindow(days="Mo", start="07:00", end="08:00", factors={"highway": 1.2})
    with pytest.raises(ValueError, match="HH:MM"):
        RushWindow(days="Mo", start="7am", end="08:00", factors={})
    with pytest.raises(ValueError, match="weekday must be"):
        TimeOfDayProfile().slots(7)


def test_settings_switch_rush_hours_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RP_RUSH_HOURS__ENABLED", "false")
    assert not Settings().rush_hours.enabled
    assert Settings().rush_hours.slot_at(0, 8 * H).free


def test_class_factors_slow_only_their_class() -> None:
    travel = RoadTravel(load_road_graph(DATA_DIR / "osm" / "junctions.osm"))
    west, north1 = GeoPoint(50.0, 7.999), GeoPoint(50.00045, 8.0)
    base = travel.matrix([west, north1]).durations_s
    factors = np.ones(len(ROAD_CLASSES))
    factors[CLASS_INDEX["residential"]] = 2.0  # only the side arm is residential
    slow = travel.with_class_factors(factors)
    arm_s = float(
        np.max(travel.graph.travel_time_s[travel.graph.road_class == CLASS_INDEX["residential"]])
    )
    # Half the arm is driven: it takes half the arm's time longer; the tertiary half does not.
    assert slow.matrix([west, north1]).durations_s[0, 1] == pytest.approx(
        base[0, 1] + arm_s / 2, abs=1
    )
    assert travel.matrix([west, north1]).durations_s[0, 1] == base[0, 1]  # original untouched
    with pytest.raises(ValueError, match="positive factors"):
        travel.with_class_factors([1.0, 2.0])
    assert single_factor([1.0, 1.0, 1.3]) == 1.0
