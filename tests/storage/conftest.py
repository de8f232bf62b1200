"""Storage fixtures: a real database per test (SQLite file, or PostgreSQL).

``db_backend`` is parametrized: every test using a database runs on a SQLite file in
``tmp_path`` and on PostgreSQL: on the server ``RP_TEST_POSTGRES_URL`` names, else on the
throwaway cluster this run starts (``postgres_server_url`` in tests/conftest.py). ``db_url`` is
an empty database (PostgreSQL: a schema of its own, dropped afterwards), for tests of the
migrations; ``store`` works on a migrated one (tests/databases.py). Without a server the
PostgreSQL cases are skipped, and fail under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from routeplanner.model import (
    Account,
    DayRoute,
    GeoPoint,
    LunchBreak,
    Plan,
    Rep,
    Stop,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    VisitRule,
    WeeklyHours,
)
from routeplanner.storage import Store
from routeplanner.units import HOUR, MINUTE
from tests.databases import (
    MigratedPostgres,
    MigratedSqlite,
    new_schema_name,
    schema_url,
)


class FakeClock:
    """A clock tests move by hand, so stored timestamps are exact and ordered."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def postgres_schema_url(postgres_server_url: str) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema (dropped after the test)."""
    base = postgres_server_url
    schema = new_schema_name()
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield schema_url(base, schema)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture
def db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file (folder not yet created) or PostgreSQL."""
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'routeplanner.sqlite'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def migrated_db_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a database migrated to the newest schema and holding no rows.

    Never the database of ``db_url`` (on SQLite neither): a test that opens ``db_url`` to look
    at what ``store`` wrote fails on both backends, not only on PostgreSQL.
    """
    if db_backend == "sqlite":
        sqlite: MigratedSqlite = request.getfixturevalue("migrated_sqlite")
        return sqlite.copy(tmp_path / "migrated" / "routeplanner.sqlite")
    postgres: MigratedPostgres = request.getfixturevalue("migrated_postgres")
    return postgres.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(migrated_db_url: str, clock: FakeClock) -> Iterator[Store]:
    """A migrated database behind a store with a hand-driven clock."""
    store = Store.open(migrated_db_url, clock=clock)
    yield store
    store.close()


# ---------------------------------------------------------------------- sample domain objects

OFFICE = WeeklyHours(
    (
        (TimeWindow(8 * HOUR, 12 * HOUR + 30 * MINUTE), TimeWindow(14 * HOUR, 18 * HOUR)),
        (TimeWindow(8 * HOUR, 12 * HOUR + 30 * MINUTE), TimeWindow(14 * HOUR, 18 * HOUR)),
        (TimeWindow(8 * HOUR, 12 * HOUR),),
        (TimeWindow(8 * HOUR, 12 * HOUR + 30 * MINUTE), TimeWindow(14 * HOUR, 18 * HOUR)),
        (
            TimeWindow(7 * HOUR, 9 * HOUR),
            TimeWindow(11 * HOUR, 13 * HOUR),
            TimeWindow(15 * HOUR, 16 * HOUR),
        ),
        (TimeWindow(9 * HOUR, 13 * HOUR),),
        (),
    )
)


def make_accounts() -> list[Account]:
    """Three accounts covering every field: umlauts, split hours, weekday sets, tags."""
    return [
        Account(
            account_id="A1",
            name="Bäckerei Müller & Söhne",
            location=GeoPoint(49.398765432123, 8.672434567891),
            visit_rule=VisitRule.parse("weekly"),
            visit_duration_s=30 * MINUTE,
            opening_hours=OFFICE,
            address="Hauptstraße 12, 69117 Heidelberg",
            category="Bäckerei",
            value_class="A",
            preferred_weekdays=frozenset({0, 3}),
            forbidden_weekdays=frozenset({4}),
            last_visit=date(2026, 2, 23),
            notes="Anlieferung über den Hof; Frau Weiß fragen",
            contact="Jürgen Groß",
            phone="+49 6221 123456",
            tags=frozenset({"Öko", "Großkunde"}),
            postcode="69117",
            locked_rep_id="R1",
            required_qualifications=frozenset({"Pharma", "Kälte"}),
        ),
        Account(
            account_id="A2",
            name="Apotheke am Bismarckplatz",
            location=GeoPoint(49.40938, 8.69327),
            visit_rule=VisitRule.parse("3 per 4 weeks", min_gap_days=6, max_gap_days=12),
            visit_duration_s=45 * MINUTE,
        ),
        Account(
            account_id="A3",
            name="Café Zuckerbäcker",
            location=GeoPoint(-33.8688, 151.2093),
            visit_rule=VisitRule.parse("every 10 days"),
            visit_duration_s=20 * MINUTE,
            opening_hours=WeeklyHours.uniform(TimeWindow(10 * HOUR, 24 * HOUR), range(7)),
        ),
    ]


def make_reps() -> list[Rep]:
    return [
        Rep(
            rep_id="R1",
            name="Jörg Schäfer",
            home=GeoPoint(49.4077, 8.6908),
            working_hours=WeeklyHours.uniform(TimeWindow(8 * HOUR, 17 * HOUR)),
            home_address="Bergstraße 5, Heidelberg-Neuenheim",
            lunch=LunchBreak(window=TimeWindow(12 * HOUR, 14 * HOUR), duration_s=45 * MINUTE),
            days_off=frozenset({date(2026, 3, 9), date(2026, 4, 6), date(2026, 12, 24)}),
            max_visits_per_day=8,
            max_drive_s=4 * HOUR,
            email="joerg.schaefer@example.de",
            qualifications=frozenset({"Kühlware", "pharma"}),
        ),
        Rep(
            rep_id="R2",
            name="Ana Núñez",
            home=GeoPoint(49.3988, 8.6724),
            working_hours=WeeklyHours(
                (
                    (TimeWindow(7 * HOUR, 15 * HOUR),),
                    (TimeWindow(7 * HOUR, 15 * HOUR),),
                    (),
                    (TimeWindow(9 * HOUR, 18 * HOUR),),
                    (TimeWindow(7 * HOUR, 12 * HOUR),),
                    (),
                    (),
                )
            ),
        ),
    ]


def make_plan(*, label: str = "first") -> Plan:
    """A plan with two routes (one with a lunch break), violations and two unassigned visits."""
    return Plan(
        routes=(
            DayRoute(
                rep_id="R1",
                day=date(2026, 3, 2),
                start_s=8 * HOUR,
                end_s=16 * HOUR + 5 * MINUTE,
                stops=(
                    Stop(
                        visit_id="A1#2026-03-02",
                        account_id="A1",
                        arrival_s=8 * HOUR + 12 * MINUTE,
                        start_s=8 * HOUR + 12 * MINUTE,
                        departure_s=8 * HOUR + 42 * MINUTE,
                        travel_s=12 * MINUTE,
                        distance_m=5400,
                    ),
                    Stop(
                        visit_id="A2#2026-03-02",
                        account_id="A2",
                        arrival_s=8 * HOUR + 50 * MINUTE,
                        start_s=9 * HOUR,
                        departure_s=9 * HOUR + 45 * MINUTE,
                        travel_s=8 * MINUTE,
                        distance_m=2100,
                        wait_s=10 * MINUTE,
                        violations=("late_by_300s", "Öffnungszeit überschritten"),
                    ),
                ),
                travel_s=40 * MINUTE,
                distance_m=13_900,
                break_start_s=12 * HOUR,
                break_duration_s=45 * MINUTE,
            ),
            DayRoute(rep_id="R2", day=date(2026, 3, 3), start_s=7 * HOUR, end_s=7 * HOUR),
        ),
        unassigned=(
            Unassigned(
                visit_id="A3#1",
                account_id="A3",
                reason=UnassignedReason.DAY_FULL_TIME,
                detail=f"{label}: Dienstag ist voll",
                day=date(2026, 3, 3),
            ),
            Unassigned(visit_id="A9#1", account_id="A9", reason=UnassignedReason.NO_REP),
        ),
        created_at=datetime(2026, 3, 1, 18, 30, 15, 123456, tzinfo=UTC),
        meta={"solver": "ortools", "label": label},
    )
