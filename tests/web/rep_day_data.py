"""A stored plan around today for the rep's day tests: two territories (R1: A1, A2; R2: A3),
R1 visiting A2 then A1 on ``day``, and A1 again a week later; logins for both reps."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from routeplanner.model import DayRoute, Horizon, Plan, Stop
from routeplanner.model.history import OwnershipCause
from routeplanner.model.territory import Territory
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from routeplanner.units import HOUR
from tests.conftest import add_user, small_region

TZ = ZoneInfo("Europe/Berlin")


def today() -> date:
    """Today where the plans are (the sample's time zone, the settings' default)."""
    return datetime.now(tz=TZ).date()


def _stop(visit_id: str, account_id: str, start_s: int) -> Stop:
    return Stop(
        visit_id=visit_id,
        account_id=account_id,
        arrival_s=start_s,
        start_s=start_s,
        departure_s=start_s + 1800,
        travel_s=600,
        distance_m=3000,
    )


def _route(rep_id: str, day: date, *accounts: str) -> DayRoute:
    stops = tuple(
        _stop(f"{a}@{day.isoformat()}", a, 9 * HOUR + i * HOUR) for i, a in enumerate(accounts)
    )
    return DayRoute(
        rep_id=rep_id,
        day=day,
        start_s=8 * HOUR + 1800,
        end_s=9 * HOUR + len(stops) * HOUR,
        stops=stops,
        travel_s=600 * len(stops),
        distance_m=3000 * len(stops),
    )


def store_world(store: Store, day: date) -> None:
    """Reps R1 and R2 with territories, a plan from ``day`` - 1 over two weeks, and logins
    ``juergen`` (R1) and ``anna`` (R2)."""
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id="R2", name="Anna Schön")
    replace_accounts_and_reps(store, accounts, [*reps, other], source="test")
    store.territories.save(
        [
            Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Süd", rep_id="R2", account_ids=("A3",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    routes = (
        _route("R1", day, "A2", "A1"),
        _route("R2", day, "A3"),
        _route("R1", day + timedelta(days=7), "A1"),
    )
    plan_id = store.plans.start(Horizon(start=day - timedelta(days=1), weeks=2))
    store.plans.complete(plan_id, Plan(routes=routes))
    add_user(store, "juergen", role="rep", rep_id="R1")
    add_user(store, "anna", role="rep", rep_id="R2")


def visit(account_id: str, day: date) -> str:
    return f"{account_id}@{day.isoformat()}"
