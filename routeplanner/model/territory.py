"""Territories: which rep owns which accounts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Territory:
    """A set of accounts served by one rep; ``locked`` territories are left alone by realignment."""

    territory_id: str
    name: str
    rep_id: str | None
    account_ids: tuple[str, ...] = ()
    segment: str = ""
    locked: bool = False

    def __post_init__(self) -> None:
        if len(set(self.account_ids)) != len(self.account_ids):
            msg = f"territory {self.territory_id} lists an account twice"
            raise ValueError(msg)
