"""The day API and access scoping: a rep sees only their own days, accounts and rep record,
through the session and through API tokens; every API GET is audited with another rep's ids."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import new_api_token
from routeplanner.model import DayRoute, Horizon, Plan, Stop, Territory
from routeplanner.model.history import OwnershipCause, VisitRecord, VisitStatus
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from routeplanner.units import HOUR
from tests.conftest import add_user, log_in, small_region

pytestmark = pytest.mark.osm  # account and rep answers carry snaps to the sample road network
DAY = date(2026, 11, 24)  # a Tuesday
OTHER = "R2"
FOREIGN = ("A3", "Weit Weg GmbH", "R2", "Anna Schmidt")  # what rep R1 must never see


def _stop(account_id: str, day: date, start_s: int) -> Stop:
    return Stop(
        visit_id=f"{account_id}@{day.isoformat()}",
        account_id=account_id,
        arrival_s=start_s - 60,
        start_s=start_s,
        departure_s=start_s + 1800,
        travel_s=600,
        distance_m=3000,
        wait_s=60,
    )


def _route(rep_id: str, day: date, *account_ids: str) -> DayRoute:
    stops = tuple(_stop(a, day, (9 + i) * HOUR) for i, a in enumerate(account_ids))
    return DayRoute(
        rep_id=rep_id, day=day, start_s=8 * HOUR, end_s=17 * HOUR, stops=stops, travel_s=1800
    )


def _record(account_id: str, rep_id: str, day: date, status: VisitStatus) -> VisitRecord:
    return VisitRecord(
        account_id=account_id,
        rep_id=rep_id,
        day=day,
        status=status,
        visit_id=f"{account_id}@{day.isoformat()}",
    )


@pytest.fixture
def world(store: Store) -> int:
    """Two reps with a territory each, a stored plan for both, and some visit history."""
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id=OTHER, name="Anna Schmidt")
    replace_accounts_and_reps(store, accounts, [*reps, other], source="test")
    store.territories.save(
        [
            Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2")),
            Territory(territory_id="T2", name="Süd", rep_id=OTHER, account_ids=("A3",)),
        ],
        cause=OwnershipCause.MANUAL,
        replace_all=True,
    )
    routes = (
        _route("R1", DAY, "A2", "A1"),
        _route(OTHER, DAY, "A3"),
        _route("R1", DAY + timedelta(days=7), "A1"),
    )
    plan_id = store.plans.start(Horizon(start=DAY - timedelta(days=1), weeks=2))
    store.plans.complete(plan_id, Plan(routes=routes))
    for account_id, day, status in [
        ("A1", date(2026, 11, 10), VisitStatus.DONE),  # weekly, 14 days before: 5 days late
        ("A2", date(2026, 11, 3), VisitStatus.DONE),  # every 2 weeks (10..18 days)
        ("A2", date(2026, 11, 20), VisitStatus.MISSED),  # ... then missed: a follow-up
    ]:
        store.visits.record(_record(account_id, "R1", day, status))
    add_user(store, "juergen", role="rep", rep_id="R1")
    return plan_id


@pytest.fixture
def rep_client(anon_client: TestClient, world: int) -> TestClient:
    log_in(anon_client, "juergen")
    return anon_client


@pytest.fixture
def rep_bearer(store: Store, world: int) -> dict[str, str]:
    user = store.users.find("juergen")
    assert user is not None
    return {"Authorization": f"Bearer {new_api_token(store, user, label='test')}"}


def test_day_api_lists_stops_with_reasons(rep_client: TestClient, world: int) -> None:
    response = rep_client.get(f"/api/v1/reps/R1/days/{DAY.isoformat()}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rep_id"], body["day"], body["plan_id"]) == ("R1", DAY.isoformat(), world)
    assert body["leave"] == "08:00"
    assert [s["account_id"] for s in body["stops"]] == ["A2", "A1"]
    a2, a1 = body["stops"]
    assert a2["visit_id"] == "A2@2026-11-24"
    assert (a2["number"], a2["start"], a2["arrival"], a2["visit_min"]) == (1, "09:00", "08:59", 30)
    assert a2["name"] == "Apotheke am Bismarckplatz"
    assert a2["navigation"]["geo"].startswith("geo:49.409300,8.693600")
    assert a2["reason"] == {
        "kind": "follow-up",
        "label": "follow-up (missed Fri 20.11., overdue by 3 days)",
        "days_overdue": 3,
        "previous_visit": "2026-11-03",
        "due_from": "2026-11-13",
        "due_by": "2026-11-21",
        "missed_on": "2026-11-20",
    }
    assert a1["reason"]["kind"] == "overdue"
    assert a1["reason"]["label"] == "overdue by 5 days"
    assert a1["status"] is None
    days = rep_client.get("/api/v1/reps/R1/days").json()
    assert days == [
        {"day": DAY.isoformat(), "visits": 2},
        {"day": (DAY + timedelta(days=7)).isoformat(), "visits": 1},
    ]
    empty = rep_client.get("/api/v1/reps/R1/days/2026-11-28").json()
    assert empty["stops"] == []
    assert empty["leave"] is None


def test_day_page_shows_the_reasons(rep_client: TestClient, world: int) -> None:
    html = rep_client.get(f"/route?day={DAY.isoformat()}").text
    assert (
        '<span class="reason follow-up" data-reason="follow-up">'
        "follow-up (missed Fri 20.11., overdue by 3 days)</span>"
    ) in html
    assert '<span class="reason overdue" data-reason="overdue">overdue by 5 days</span>' in html
    assert html.index('data-reason="follow-up"') < html.index('data-reason="overdue"')


def test_day_api_reports_outcomes_and_needs_a_plan(
    client: TestClient, store: Store, world: int
) -> None:
    store.visits.record(_record("A1", "R1", DAY, VisitStatus.DONE))
    stops = client.get(f"/api/v1/reps/R1/days/{DAY.isoformat()}").json()["stops"]
    assert [s["status"] for s in stops] == [None, "done"]
    assert client.get(f"/api/v1/reps/{OTHER}/days/{DAY.isoformat()}").status_code == 200
    unknown = client.get(f"/api/v1/reps/R9/days/{DAY.isoformat()}")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "rep 'R9' not found", "errors": []}
    bad_day = client.get("/api/v1/reps/R1/days/tuesday")
    assert bad_day.status_code == 422
    assert bad_day.json()["errors"][0]["field"] == "path.day"


def test_day_api_without_a_plan(client: TestClient) -> None:
    missing = client.get(f"/api/v1/reps/R1/days/{DAY.isoformat()}")
    assert missing.status_code == 404
    assert missing.json()["error"] == "no current plan"
    assert client.get("/api/v1/reps/R1/days").json() == []


@pytest.mark.parametrize("auth", ["session", "token"])
def test_rep_sees_only_their_own_accounts_and_days(
    anon_client: TestClient, rep_bearer: dict[str, str], auth: str
) -> None:
    headers: dict[str, str] = {}
    if auth == "session":
        log_in(anon_client, "juergen")
    else:
        headers = rep_bearer
    get: Any = lambda path: anon_client.get(path, headers=headers)  # noqa: E731
    accounts = get("/api/v1/accounts")
    assert accounts.status_code == 200
    assert sorted(a["id"] for a in accounts.json()) == ["A1", "A2"]
    assert get("/api/v1/accounts/A1").status_code == 200
    foreign = get("/api/v1/accounts/A3")
    assert foreign.status_code == 404
    assert foreign.json() == {"error": "account 'A3' not found", "errors": []}
    assert [r["id"] for r in get("/api/v1/reps").json()] == ["R1"]
    for path in [f"/api/v1/reps/{OTHER}/days", f"/api/v1/reps/{OTHER}/days/{DAY}"]:
        denied = get(path)
        assert denied.status_code == 403
        assert denied.json() == {"error": "you may only see your own routes", "errors": []}
    assert get(f"/api/v1/reps/R9/days/{DAY}").status_code == 403  # existence is not revealed
    assert get("/api/v1/plans").status_code == 403


def test_manager_sees_everything(client: TestClient, world: int) -> None:
    assert sorted(a["id"] for a in client.get("/api/v1/accounts").json()) == ["A1", "A2", "A3"]
    assert sorted(r["id"] for r in client.get("/api/v1/reps").json()) == ["R1", OTHER]
    assert client.get("/api/v1/accounts/A3").status_code == 200


def test_an_account_on_the_reps_plan_stays_visible_after_a_realignment(
    anon_client: TestClient, store: Store, world: int
) -> None:
    store.territories.save(
        [Territory(territory_id="T2", name="Süd", rep_id=OTHER, account_ids=("A3", "A1"))],
        cause=OwnershipCause.REALIGNMENT,
    )
    log_in(anon_client, "juergen")
    ids = sorted(a["id"] for a in anon_client.get("/api/v1/accounts").json())
    assert ids == ["A1", "A2"]  # A1 moved away, but it is still on his current plan


def _fill(path: str, plan_id: int) -> str:
    values = {"rep_id": OTHER, "account_id": "A3", "day": DAY.isoformat(), "plan_id": plan_id}
    # any other id (a job, a rule) is tried as 1: it exists if anything does
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


def test_every_api_get_keeps_other_reps_data_from_a_rep(
    anon_client: TestClient, rep_bearer: dict[str, str], world: int
) -> None:
    """Audit: every GET in the OpenAPI schema, asked with the other rep's ids, answers 403/404
    or data that never mentions the other rep, their accounts or names."""
    schema = anon_client.get("/api/openapi.json").json()
    checked = 0
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        response = anon_client.get(_fill(path, world), headers=rep_bearer)
        checked += 1
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        if response.status_code == 200:
            for secret in FOREIGN:
                assert secret not in response.text, (path, secret)
    assert checked >= 8


def test_rep_cannot_open_manager_pages_or_other_reps_days(
    rep_client: TestClient, world: int
) -> None:
    for path in ["/accounts", "/plan", "/users"]:
        assert rep_client.get(path).status_code == 403, path
    home = rep_client.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/route")
    for path in [
        f"/route?rep={OTHER}&day={DAY.isoformat()}",
        f"/route?rep={OTHER}&changed={world}",
        f"/calendar/export.ics?rep={OTHER}&from=2026-11-23&to=2026-11-30",
    ]:
        response = rep_client.get(path)
        assert response.status_code == 403, path
        assert "Weit Weg" not in response.text
    own = rep_client.get(f"/route?day={DAY.isoformat()}")
    assert "Weit Weg" not in own.text
    assert "Anna Schmidt" not in own.text  # the rep picker lists only himself
