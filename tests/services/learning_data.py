"""A week in the field for the learning tests: a plan of five days and recorded check-ins
and dones that differ from it in known ways."""

from __future__ import annotations

from datetime import date, timedelta

from routeplanner.model import Horizon
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.model.plan import DayRoute, Plan, Stop
from routeplanner.services.learning import LearningParams
from routeplanner.storage import Store

_THIS_MONDAY = date.today() - timedelta(days=date.today().weekday())
MONDAY = _THIS_MONDAY - timedelta(weeks=2)
"""Two weeks back, so the default window of the last weeks holds it whenever tests run."""
DAYS = [MONDAY + timedelta(days=i) for i in range(5)]
TODAY = DAYS[-1]
FEW = LearningParams(weeks=4, min_drives=3, min_visits=3)
H = 3600


def _stop(account_id: str, day: date, start_s: int, length_s: int, travel_s: int) -> Stop:
    return Stop(
        visit_id=f"{account_id}@{day.isoformat()}",
        account_id=account_id,
        arrival_s=start_s,
        start_s=start_s,
        departure_s=start_s + length_s,
        travel_s=travel_s,
        distance_m=travel_s * 10,
    )


def plan_week(store: Store) -> Horizon:
    """Each weekday: A1 09:00-09:30 after 10 min from home, A2 09:35-10:20 after 5 min."""
    horizon = Horizon(start=MONDAY, weeks=1, timezone="Europe/Berlin")
    routes = tuple(
        DayRoute(
            rep_id="R1",
            day=day,
            start_s=9 * H - 600,
            end_s=11 * H,
            stops=(_stop("A1", day, 9 * H, 1800, 600), _stop("A2", day, 9 * H + 2100, 2700, 300)),
        )
        for day in DAYS
    )
    plan_id = store.plans.start(horizon)
    store.plans.complete(plan_id, Plan(routes=routes))
    return horizon


def record(
    store: Store, horizon: Horizon, account_id: str, day: date, status: VisitStatus, **at: int
) -> None:
    store.visits.record(
        VisitRecord(
            account_id=account_id,
            rep_id="R1",
            day=day,
            status=status,
            visit_id=f"{account_id}@{day.isoformat()}",
            actual_start=horizon.to_datetime(day, at["start"]),
            recorded_at=horizon.to_datetime(day, at["recorded"]),
        )
    )


def visit(store: Store, horizon: Horizon, account_id: str, day: date, start: int, end: int) -> None:
    """A check-in at ``start`` and a done tapped at ``end`` (seconds after midnight)."""
    record(store, horizon, account_id, day, VisitStatus.CHECKED_IN, start=start, recorded=start)
    record(store, horizon, account_id, day, VisitStatus.DONE, start=start, recorded=end)


def week_in_the_field(store: Store) -> Horizon:
    """A1 takes 40 min instead of 30; the drive to A2 takes 7.5 min instead of 5."""
    horizon = plan_week(store)
    for day in DAYS:
        visit(store, horizon, "A1", day, 9 * H, 9 * H + 2400)
        visit(store, horizon, "A2", day, 9 * H + 2400 + 450, 9 * H + 2400 + 450 + 2700)
    return horizon
