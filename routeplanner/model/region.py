"""Regions: named groups of territories, one level deep, that a manager can be scoped to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Region:
    """A named group of territories; a territory belongs to at most one region."""

    region_id: str
    name: str
    territory_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(set(self.territory_ids)) != len(self.territory_ids):
            msg = f"region {self.region_id} lists a territory twice"
            raise ValueError(msg)
