"""Calendar fixtures: two reps, accounts with awkward names, plans across the 2027 DST change.

Europe/Berlin switches to summer time on Sunday 2027-03-28, inside the two-week horizon from
Monday 2027-03-22: a 09:00 visit is 08:00 UTC before and 07:00 UTC after the change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from routeplanner.model import (
    Account,
    DayRoute,
    GeoPoint,
    Horizon,
    Plan,
    Rep,
    Stop,
    TimeWindow,
    VisitRule,
    WeeklyHours,
)
from routeplanner.services.calendar import CalendarFeeds
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.units import HOUR, MINUTE
from routeplanner.web.app import create_app
from routeplanner.web.state import app_state
from tests.conftest import add_user, log_in
from tests.databases import MigratedSqlite

HORIZON = Horizon(start=date(2027, 3, 22), weeks=2, timezone="Europe/Berlin")
FRI = date(2027, 3, 26)  # before the DST change (CET, UTC+1)
MON = date(2027, 3, 29)  # after it (CEST, UTC+2)
TUE = date(2027, 3, 30)
LONG_NAME = "Bäckerei Müller & Söhne, Filiale Weststadt; Öffnungszeiten beachten – Übergröße"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 3, 20, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def accounts() -> list[Account]:
    hours = WeeklyHours.uniform(TimeWindow(8 * HOUR, 18 * HOUR))
    return [
        Account(
            account_id="A1",
            name=LONG_NAME,
            address="Hauptstraße 1, 69117 Heidelberg",
            location=GeoPoint(49.4106, 8.6940),
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=30 * MINUTE,
            opening_hours=hours,
            category="bakery",
            value_class="A",
            notes="Ask for Frau Weiß; bring samples,\nnew price list",
            contact="Frau Weiß",
            phone="+49 6221 12345",
        ),
        Account(
            account_id="A2",
            name="Apotheke am Bismarckplatz",
            address="Bismarckplatz 2, Heidelberg",
            location=GeoPoint(49.4093, 8.6936),
            visit_rule=VisitRule.parse("every 2 weeks"),
            visit_duration_s=45 * MINUTE,
            opening_hours=hours,
            category="pharmacy",
        ),
        Account(
            account_id="B1",
            name="Other Rep's Kunde",
            address="Bergstraße 9, Heidelberg",
            location=GeoPoint(49.4200, 8.6800),
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=30 * MINUTE,
            opening_hours=hours,
        ),
    ]


def reps() -> list[Rep]:
    shift = WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR))
    return [
        Rep(rep_id="R1", name="Jürgen Weiß", home=GeoPoint(49.3988, 8.6724), working_hours=shift),
        Rep(rep_id="R2", name="Anna Schmidt", home=GeoPoint(49.42, 8.70), working_hours=shift),
    ]


def stop(account_id: str, day: date, start_s: int, length_s: int, travel_s: int = 600) -> Stop:
    return Stop(
        visit_id=f"{account_id}@{day.isoformat()}",
        account_id=account_id,
        arrival_s=start_s,
        start_s=start_s,
        departure_s=start_s + length_s,
        travel_s=travel_s,
        distance_m=travel_s * 10,
    )


def route(rep_id: str, day: date, *stops: Stop) -> DayRoute:
    return DayRoute(
        rep_id=rep_id,
        day=day,
        start_s=8 * HOUR,
        end_s=17 * HOUR,
        stops=stops,
        travel_s=sum(s.travel_s for s in stops),
    )


def plan_v1() -> Plan:
    """R1: A1 Friday 09:00 and Monday 09:00, A2 Monday 10:00; R2: B1 Friday 09:00."""
    return Plan(
        routes=(
            route("R1", FRI, stop("A1", FRI, 9 * HOUR, 30 * MINUTE, travel_s=900)),
            route(
                "R1",
                MON,
                stop("A1", MON, 9 * HOUR, 30 * MINUTE),
                stop("A2", MON, 10 * HOUR, 45 * MINUTE, travel_s=300),
            ),
            route("R2", FRI, stop("B1", FRI, 9 * HOUR, 30 * MINUTE)),
        )
    )


def plan_v2() -> Plan:
    """A1's Monday visit moves to Tuesday 11:00; A2 is removed; A1 Friday unchanged."""
    return Plan(
        routes=(
            route("R1", FRI, stop("A1", FRI, 9 * HOUR, 30 * MINUTE, travel_s=900)),
            route("R1", TUE, stop("A1", TUE, 11 * HOUR, 30 * MINUTE)),
            route("R2", FRI, stop("B1", FRI, 9 * HOUR, 30 * MINUTE)),
        )
    )


def store_plan(store: Store, plan: Plan) -> int:
    plan_id = store.plans.start(HORIZON)
    store.plans.complete(plan_id, plan)
    return plan_id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cal_settings(tmp_path: Path, migrated_sqlite: MigratedSqlite) -> Settings:
    return Settings(
        database_url=migrated_sqlite.copy(tmp_path / "calendar.sqlite"),
        public_url="https://plan.example.com",
        timezone="Europe/Berlin",
    )


@pytest.fixture
def cal_store(cal_settings: Settings, clock: Clock) -> Iterator[Store]:
    store = Store.open(cal_settings.database_url, clock=clock)
    replace_accounts_and_reps(store, accounts(), reps(), source="test")
    yield store
    store.close()


@pytest.fixture
def feeds(cal_store: Store, cal_settings: Settings, clock: Clock) -> CalendarFeeds:
    return CalendarFeeds(cal_store, cal_settings, clock=clock)


@pytest.fixture
def cal_client(
    cal_settings: Settings, cal_store: Store, feeds: CalendarFeeds
) -> Iterator[TestClient]:
    app = create_app(cal_settings)
    state = app_state(app)
    state.calendar_feeds = CalendarFeeds(state.services.store, cal_settings, clock=feeds._clock)
    add_user(cal_store, "boss")
    with TestClient(app) as client:
        log_in(client, "boss")
        yield client
