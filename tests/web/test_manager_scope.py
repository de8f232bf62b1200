"""Managers scoped to regions, through real HTTP on a SQLite file and on PostgreSQL: a manager
of region "Nord" sees and changes only Nord's territory, accounts, rep, routes, feeds and
figures; another region's single objects are not found (404) and actions beyond the region are
refused (403); lists and totals leave the other region out."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import new_api_token
from routeplanner.model import DayRoute, Horizon, Plan, Region, Stop, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.units import HOUR
from tests.conftest import TEST_PASSWORD_COST, add_user, log_in, small_region
from tests.databases import MigratedSqlite
from tests.helpers import SAMPLE_DIR

pytestmark = pytest.mark.osm  # account and rep answers carry snaps to the sample road network
DAY = date(2026, 11, 24)
OTHER_REP = "R-SUED"
OTHER_TERRITORY = "T-SUED"
FOREIGN = ("A3", "Weit Weg GmbH", OTHER_REP, "Anna Schmidt", OTHER_TERRITORY, "Sued")
"""What the manager of Nord must never see."""


@pytest.fixture(params=["sqlite", "postgres"])
def settings(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    heidelberg_cache: Path,
    migrated_sqlite: MigratedSqlite,
) -> Settings:
    if request.param == "sqlite":
        url = migrated_sqlite.copy(tmp_path / "scope.sqlite")
    else:
        url = request.getfixturevalue("migrated_postgres").reset()
    return Settings(
        database_url=url,
        osm_path=SAMPLE_DIR / "heidelberg.osm.pbf",
        cache_dir=heidelberg_cache,
        day_cache_ttl_s=0,
        password_time_cost=TEST_PASSWORD_COST.time_cost,
        password_memory_kib=TEST_PASSWORD_COST.memory_kib,
    )


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """The test's own connection to the app's database, closed after the test (a PostgreSQL
    connection left open would outlive it)."""
    store = Store.open(settings.database_url)
    yield store
    store.close()


def _route(rep_id: str, *account_ids: str) -> DayRoute:
    stops = tuple(
        Stop(
            visit_id=f"{a}@{DAY.isoformat()}",
            account_id=a,
            arrival_s=(9 + i) * HOUR - 60,
            start_s=(9 + i) * HOUR,
            departure_s=(9 + i) * HOUR + 1800,
            travel_s=600,
            distance_m=3000,
        )
        for i, a in enumerate(account_ids)
    )
    return DayRoute(
        rep_id=rep_id, day=DAY, start_s=8 * HOUR, end_s=17 * HOUR, stops=stops, travel_s=1800
    )


@pytest.fixture
def world(store: Store) -> Store:
    """Nord: T-NORD (rep R1, accounts A1 and A2); Sued: T-SUED (rep R-SUED, account A3); a
    current plan for both reps; manager nora of Nord, admin boss."""
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id=OTHER_REP, name="Anna Schmidt")
    replace_accounts_and_reps(store, accounts, [*reps, other], source="test")
    store.territories.save(
        [
            Territory(territory_id="T-NORD", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(
                territory_id=OTHER_TERRITORY, name="Sued", rep_id=OTHER_REP, account_ids=("A3",)
            ),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    store.regions.replace_all(
        [
            Region(region_id="NORD", name="Nordbaden", territory_ids=("T-NORD",)),
            Region(region_id="SUED", name="Suedbaden", territory_ids=(OTHER_TERRITORY,)),
        ]
    )
    plan_id = store.plans.start(Horizon(start=DAY - timedelta(days=1), weeks=1))
    store.plans.complete(plan_id, Plan(routes=(_route("R1", "A2", "A1"), _route(OTHER_REP, "A3"))))
    add_user(store, "nora", role="manager")
    nora = store.users.find("nora")
    assert nora is not None
    store.regions.set_user_regions(nora.user_id, ["NORD"])
    add_user(store, "boss")
    return store


@pytest.fixture
def nora(anon_client: TestClient, world: Store) -> TestClient:
    log_in(anon_client, "nora")
    return anon_client


def test_lists_and_totals_show_only_the_managers_region(nora: TestClient) -> None:
    territories = nora.get("/api/v1/territories").json()
    assert [t["territory_id"] for t in territories["territories"]] == ["T-NORD"]
    assert sorted(a["id"] for a in nora.get("/api/v1/accounts").json()) == ["A1", "A2"]
    assert [r["id"] for r in nora.get("/api/v1/reps").json()] == ["R1"]
    regions = nora.get("/api/v1/regions").json()
    assert [(r["region_id"], r["territory_ids"], r["managers"]) for r in regions] == [
        ("NORD", ["T-NORD"], ["nora"])
    ]
    assert nora.get("/api/v1/regions/export.csv").text == (
        "territory_id,region_id,region_name\nT-NORD,NORD,Nordbaden\n"
    )
    board = nora.get("/api/v1/performance?month=2026-11").json()
    assert {g["id"] for g in board["groups"]} == {"T-NORD", "R1"}


def test_another_regions_objects_are_not_found(nora: TestClient) -> None:
    for path in [
        "/api/v1/accounts/A3",
        f"/api/v1/reps/{OTHER_REP}/days",
        f"/api/v1/reps/{OTHER_REP}/days/{DAY}",
        f"/api/v1/performance?month=2026-11&territory={OTHER_TERRITORY}",
        f"/api/v1/performance?month=2026-11&rep={OTHER_REP}",
        "/accounts/A3",
        f"/route?rep={OTHER_REP}&day={DAY}",
        f"/calendar/export.ics?rep={OTHER_REP}",
    ]:
        assert nora.get(path).status_code == 404, path
    assert nora.patch("/api/v1/accounts/A3", json={"visit_minutes": 20}).status_code == 404
    locked = nora.post(f"/api/v1/territories/{OTHER_TERRITORY}/lock", json={"locked": True})
    assert locked.status_code == 404
    rotate = nora.post("/calendar/rotate", data={"rep": OTHER_REP}, follow_redirects=False)
    assert rotate.status_code == 404
    # their own region's are found
    assert nora.get("/api/v1/accounts/A1").status_code == 200
    assert nora.get(f"/api/v1/reps/R1/days/{DAY}").json()["stops"][0]["account_id"] == "A2"
    assert nora.post("/api/v1/territories/T-NORD/lock", json={"locked": True}).status_code == 200


def test_actions_beyond_the_region_are_forbidden(nora: TestClient, world: Store) -> None:
    before = world.territories.all()
    before_accounts = world.accounts.all()
    moves = nora.post(
        "/api/v1/territories/moves",
        json={"account_ids": ["A3"], "target_territory": "T-NORD", "dry_run": False},
    )
    assert moves.status_code == 403
    into = nora.post(
        "/api/v1/territories/moves",
        json={"account_ids": ["A1"], "target_territory": OTHER_TERRITORY, "dry_run": True},
    )
    assert into.status_code == 404
    assert world.territories.all() == before
    new = {"id": "A9", "name": "Neu", "lat": 49.41, "lon": 8.69, "frequency": "weekly"}
    assert nora.post("/api/v1/accounts", json={"accounts": [new]}).status_code == 403
    rows = [{"territory_id": "T-NORD", "region_id": "NORD"}]
    assert nora.put("/api/v1/regions", json={"rows": rows}).status_code == 403
    assert nora.get("/api/v1/plans").status_code == 403
    assert nora.post("/api/v1/plans", json={"weeks": 1}).status_code == 403
    assert nora.get("/users").status_code == 403
    assert nora.get("/rules").status_code == 403
    team = nora.post("/calendar/rotate", data={"team": "1"}, follow_redirects=False)
    assert team.status_code == 403
    bulk = {"ids": ["A1", "A3"], "visit_minutes": "20"}
    assert nora.post("/accounts/bulk/preview", data=bulk).status_code == 403
    sale = {"account_id": "A1", "month": "2026-11", "revenue": 100}
    assert nora.post("/api/v1/sales", json={"rows": [sale]}).status_code == 403
    assert world.accounts.all() == before_accounts


def test_pages_show_only_the_managers_region(nora: TestClient) -> None:
    for path, mine in [
        ("/territories", "T-NORD"),
        ("/accounts", "Bäckerei Müller"),
        ("/plan", "R1"),
        ("/regions", "Nordbaden"),
        ("/performance?month=2026-11", "T-NORD"),
        ("/", "Bäckerei Müller"),
    ]:
        page = nora.get(path)
        assert page.status_code == 200, path
        assert mine in page.text, path
        for secret in ("Weit Weg GmbH", "Anna Schmidt", OTHER_TERRITORY, "Suedbaden"):
            assert secret not in page.text, (path, secret)


def _fill(path: str) -> str:
    values = {
        "rep_id": OTHER_REP,
        "account_id": "A3",
        "territory_id": OTHER_TERRITORY,
        "day": DAY.isoformat(),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "1"), path)


def test_every_api_get_keeps_another_regions_data_from_a_manager(
    anon_client: TestClient, world: Store
) -> None:
    """Audit: every GET of the OpenAPI schema, asked with the other region's ids by a token of
    the scoped manager, answers 403/404 or data that never mentions the other region."""
    nora = world.users.find("nora")
    assert nora is not None
    bearer = {"Authorization": f"Bearer {new_api_token(world, nora, label='audit')}"}
    schema = anon_client.get("/api/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        response = anon_client.get(_fill(path), headers=bearer)
        checked += 1
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        if response.status_code == 200:
            for secret in FOREIGN:
                assert secret not in response.text, (path, secret)
    assert checked >= 10


def test_an_admin_sees_both_regions(anon_client: TestClient, world: Store) -> None:
    log_in(anon_client, "boss")
    territories = anon_client.get("/api/v1/territories").json()["territories"]
    assert {t["territory_id"] for t in territories} == {"T-NORD", OTHER_TERRITORY}
    assert anon_client.get("/api/v1/accounts/A3").status_code == 200
    assert [r["region_id"] for r in anon_client.get("/api/v1/regions").json()] == ["NORD", "SUED"]


def test_a_manager_without_regions_sees_nothing(anon_client: TestClient, world: Store) -> None:
    add_user(world, "neu", role="manager")
    log_in(anon_client, "neu")
    assert anon_client.get("/api/v1/territories").json()["territories"] == []
    assert anon_client.get("/api/v1/accounts").json() == []
    assert anon_client.get("/api/v1/accounts/A1").status_code == 404


def test_an_admin_scopes_a_manager_on_the_users_page(anon_client: TestClient, world: Store) -> None:
    log_in(anon_client, "boss")
    nora = world.users.find("nora")
    assert nora is not None
    scope_url = f"/users/{nora.user_id}/scope"
    bad = anon_client.post(scope_url, data={"role": "manager", "regions": "NORD, WEST"})
    assert bad.status_code == 422
    assert "no region &#39;WEST&#39;" in bad.text
    assert world.regions.of_user(nora.user_id) == {"NORD"}  # nothing changed
    done = anon_client.post(
        scope_url, data={"role": "manager", "regions": "NORD, SUED"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert world.regions.of_user(nora.user_id) == {"NORD", "SUED"}
    anon_client.post(scope_url, data={"role": "admin", "regions": ""}, follow_redirects=False)
    found = world.users.find("nora")
    assert found is not None
    assert found.role.value == "admin"
    assert world.regions.of_user(nora.user_id) == frozenset()
