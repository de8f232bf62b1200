"""How long a car takes on a road: speeds per road class, junction delays, turns, closures.

A posted limit is not the speed a car keeps: traffic, bends and the run-up to junctions bring
the average down, more on minor roads than on motorways, so each class has a factor on its
posted limit and a typical speed for roads that post none. Built-up areas are slower still.
Every passage through a junction costs time by how sharply it turns (left turns, which cross
oncoming traffic in right-hand traffic, more than right turns); traffic signals and stop or
give-way signs add a wait. Turn restrictions and roads closed to cars come from the OSM file.

All defaults are documented here and in ``docs/travel.md``; every field can be overridden in
settings (``RP_ROAD_MODEL__<FIELD>``), and the whole model is part of the road-cache key. The
defaults were fitted to OSRM's car profile on the Heidelberg extract and checked on Andorra
(``benchmarks/results/travel_model.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: OSM ``highway`` classes the model knows, fastest first; anything else is ``other``.
ROAD_CLASSES: tuple[str, ...] = (
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
    "tertiary_link",
    "unclassified",
    "road",
    "residential",
    "busway",
    "living_street",
    "other",
)
CLASS_INDEX: Mapping[str, int] = {name: i for i, name in enumerate(ROAD_CLASSES)}

#: Rank of each class for "who has the right of way" (lower = more important); a link ranks
#: with its road.
CLASS_RANK: Mapping[str, int] = {
    "motorway": 0,
    "motorway_link": 0,
    "trunk": 1,
    "trunk_link": 1,
    "primary": 2,
    "primary_link": 2,
    "secondary": 3,
    "secondary_link": 3,
    "tertiary": 4,
    "tertiary_link": 4,
    "unclassified": 5,
    "road": 5,
    "residential": 6,
    "busway": 6,
    "living_street": 7,
    "other": 7,
}

#: Average speed as a share of the posted limit, per class (fitted, see the module docstring).
DEFAULT_POSTED_SPEED_FACTOR: Mapping[str, float] = {name: 0.8 for name in ROAD_CLASSES}

#: Average speed (km/h) on roads without a usable ``maxspeed``, per class. These follow the
#: class speeds of OSRM's car profile rather than a fit: few major roads of the tuning extract
#: lack a posted limit, so it cannot tell them apart. Classes OSRM does not list (``road``,
#: ``busway``) drive like residential streets.
DEFAULT_UNPOSTED_SPEED_KMH: Mapping[str, float] = {
    "motorway": 90.0,
    "trunk": 85.0,
    "primary": 65.0,
    "secondary": 55.0,
    "tertiary": 40.0,
    "motorway_link": 45.0,
    "trunk_link": 40.0,
    "primary_link": 30.0,
    "secondary_link": 25.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "road": 25.0,
    "residential": 25.0,
    "busway": 25.0,
    "living_street": 10.0,
    "other": 20.0,
}

#: Free-flow speeds (km/h) osmnx assigns to roads without ``maxspeed`` in the free-flow model.
FREE_FLOW_HWY_SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 110.0,
    "motorway_link": 60.0,
    "trunk": 90.0,
    "trunk_link": 50.0,
    "primary": 70.0,
    "primary_link": 40.0,
    "secondary": 60.0,
    "secondary_link": 40.0,
    "tertiary": 50.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 10.0,
    "road": 40.0,
    "busway": 30.0,
}
FREE_FLOW_FALLBACK_KMH = 40.0


def _per_class(defaults: Mapping[str, float], value: object, field: str) -> dict[str, float]:
    """Defaults updated with the given classes: a setting names only what it changes."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, Mapping):
        msg = f"{field}: expected a mapping of road class to number, got {value!r}"
        raise ValueError(msg)
    merged = dict(defaults)
    for key, number in value.items():
        if key not in CLASS_INDEX:
            msg = f"{field}: unknown road class {key!r} (known: {', '.join(ROAD_CLASSES)})"
            raise ValueError(msg)
        merged[key] = float(number)
    return merged


class RoadModel(BaseModel):
    """Every number of the road model; the defaults are the ``routeplanner`` model.

    ``free_flow=True`` is the plain model the planner used before: osmnx's speeds (posted limit,
    else ``free_flow_speed_kmh`` per class, else ``free_flow_fallback_kmh``), no delays, no
    turns, no closures; every other field is then ignored.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    free_flow: bool = Field(
        default=False, description="plain free-flow speeds, no delays or turns (the old model)"
    )
    free_flow_speed_kmh: dict[str, float] = Field(
        default_factory=lambda: dict(FREE_FLOW_HWY_SPEEDS_KMH),
        description="free-flow model: km/h for roads without maxspeed, per class",
    )
    free_flow_fallback_kmh: float = Field(
        default=FREE_FLOW_FALLBACK_KMH, gt=0, description="free-flow model: km/h for other classes"
    )
    posted_speed_factor: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_POSTED_SPEED_FACTOR),
        description="average speed as a share of the posted limit, per road class",
    )
    unposted_speed_kmh: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_UNPOSTED_SPEED_KMH),
        description="average km/h on roads without a posted limit, per road class",
    )
    urban_speed_factor: float = Field(
        default=0.99, gt=0, le=1, description="speed factor on roads in built-up areas"
    )
    urban_radius_m: float = Field(
        default=300.0, gt=0, description="radius around a road in which junctions are counted"
    )
    urban_min_junctions: int = Field(
        default=16, ge=1, description="junctions within urban_radius_m that make a road urban"
    )
    signal_s: float = Field(default=2.0, ge=0, description="seconds per traffic signal passed")
    crossing_signal_s: float = Field(
        default=0.0, ge=0, description="seconds per signalled pedestrian crossing passed"
    )
    stop_s: float = Field(default=2.0, ge=0, description="seconds per stop sign obeyed")
    give_way_s: float = Field(default=1.0, ge=0, description="seconds per give-way sign obeyed")
    turn_right_s: float = Field(
        default=2.0, ge=0, description="seconds for a 90° turn away from oncoming traffic"
    )
    turn_left_s: float = Field(
        default=7.0, ge=0, description="seconds for a 90° turn across oncoming traffic"
    )
    junction_s: float = Field(
        default=0.0, ge=0, description="seconds for any passage through a junction, even straight"
    )
    u_turn_s: float = Field(default=20.0, ge=0, description="seconds for a U-turn at a dead end")
    u_turn_junction_s: float | None = Field(
        default=40.0,
        ge=0,
        description="seconds for a U-turn at a junction or on a road; empty = not allowed",
    )
    left_hand_traffic: bool = Field(
        default=False, description="traffic drives on the left (left turns are then cheap)"
    )
    turn_restrictions: bool = Field(
        default=True, description="obey OSM turn restrictions (no_left_turn, only_straight_on…)"
    )
    closed_roads: bool = Field(
        default=True,
        description="leave out roads under construction and roads closed to cars (access=no)",
    )

    @field_validator("u_turn_junction_s", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """``RP_ROAD_MODEL__U_TURN_JUNCTION_S=`` (empty) forbids U-turns at junctions."""
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @field_validator("posted_speed_factor", mode="before")
    @classmethod
    def _posted(cls, value: object) -> dict[str, float]:
        return _per_class(DEFAULT_POSTED_SPEED_FACTOR, value, "posted_speed_factor")

    @field_validator("unposted_speed_kmh", mode="before")
    @classmethod
    def _unposted(cls, value: object) -> dict[str, float]:
        return _per_class(DEFAULT_UNPOSTED_SPEED_KMH, value, "unposted_speed_kmh")

    @field_validator("free_flow_speed_kmh", mode="before")
    @classmethod
    def _free(cls, value: object) -> dict[str, float]:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, Mapping):
            msg = f"free_flow_speed_kmh: expected a mapping, got {value!r}"
            raise ValueError(msg)
        return {str(k): float(v) for k, v in value.items()}

    @field_validator("posted_speed_factor", "unposted_speed_kmh", "free_flow_speed_kmh")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not (math.isfinite(v) and v > 0)}
        if bad:
            msg = f"every value must be a positive number, got {bad}"
            raise ValueError(msg)
        return value

    @classmethod
    def free_flow_model(
        cls, speeds: Mapping[str, float] | None = None, fallback_kmh: float | None = None
    ) -> RoadModel:
        """The plain free-flow model (optionally with other speeds for unposted roads)."""
        return cls(
            free_flow=True,
            free_flow_speed_kmh=dict(FREE_FLOW_HWY_SPEEDS_KMH if speeds is None else speeds),
            free_flow_fallback_kmh=FREE_FLOW_FALLBACK_KMH if fallback_kmh is None else fallback_kmh,
        )

    def cache_key(self) -> dict[str, Any]:
        """What the prepared graph depends on: only the free-flow fields in free-flow mode."""
        if self.free_flow:
            return {
                "free_flow": True,
                "hwy_speeds_kmh": {
                    k: float(v) for k, v in sorted(self.free_flow_speed_kmh.items())
                },
                "fallback_kmh": float(self.free_flow_fallback_kmh),
            }
        data: dict[str, Any] = self.model_dump(
            exclude={"free_flow_speed_kmh", "free_flow_fallback_kmh"}
        )
        return data

    @property
    def name(self) -> str:
        return "free-flow" if self.free_flow else "routeplanner"
