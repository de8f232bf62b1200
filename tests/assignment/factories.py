"""Small hand-made accounts, reps and territories for assignment tests (Heidelberg coordinates)."""

from __future__ import annotations

from typing import Any

from routeplanner.model import Account, GeoPoint, Rep, Territory, TimeWindow, VisitRule, WeeklyHours
from routeplanner.units import HOUR

WEEKLY = VisitRule.parse("weekly")
HOURS = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR))

# Two rep homes far enough apart that "nearest" is unambiguous: west (Bergheim) and east
# (Ziegelhausen), about 6 km apart.
WEST = GeoPoint(49.4090, 8.6800)
EAST = GeoPoint(49.4120, 8.7600)


def account(account_id: str, at: GeoPoint = WEST, **fields: Any) -> Account:
    return Account(
        account_id=account_id,
        name=f"Account {account_id}",
        location=at,
        visit_rule=fields.pop("visit_rule", WEEKLY),
        visit_duration_s=fields.pop("visit_duration_s", 1800),
        **fields,
    )


def rep(rep_id: str, home: GeoPoint = WEST, quals: tuple[str, ...] = ()) -> Rep:
    return Rep(
        rep_id=rep_id,
        name=f"Rep {rep_id}",
        home=home,
        working_hours=HOURS,
        qualifications=frozenset(quals),
    )


def territory(
    territory_id: str, rep_id: str | None, *accounts: str, segment: str = "", locked: bool = False
) -> Territory:
    return Territory(
        territory_id=territory_id,
        name=territory_id,
        rep_id=rep_id,
        account_ids=tuple(accounts),
        segment=segment,
        locked=locked,
    )


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    """A closed GeoJSON ring (lon, lat) around the box."""
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}
