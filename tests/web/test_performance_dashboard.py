"""The performance dashboard and ``GET /api/v1/performance`` over real HTTP: every figure
equals one computed here from the same records — coverage, revenue against target, revenue
per visit, an account that changed territory in the middle of the month — with flags that
tell capacity from potential, and a rep who sees only their own figures."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from routeplanner.io.tables import read_table_bytes
from routeplanner.model.history import OwnershipCause, VisitRecord, VisitStatus
from routeplanner.model.performance import Target, TargetScope
from routeplanner.model.territory import Territory
from routeplanner.services import sales
from routeplanner.services.attribution import Month
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.scope import Scope
from routeplanner.storage import Store
from tests.conftest import add_user, log_in, small_region
from tests.web.rep_day_data import today

MONTH = Month.of(today()).previous.previous
"""The month under test: two months ago, so every one of its days has passed."""
BEFORE = MONTH.previous


def _day(n: int) -> date:
    return MONTH.first + timedelta(days=n - 1)


def _at(day: date) -> datetime:
    return datetime.combine(day, time(8), tzinfo=UTC)


def _clocked(store: Store, moment: list[datetime]) -> Store:
    url = store.engine.url.render_as_string(hide_password=False)
    clock: Callable[[], datetime] = lambda: moment[0]  # noqa: E731
    return Store.open(url, clock=clock)


def _visit(account: str, rep: str, day: int, status: VisitStatus, **extra: Any) -> VisitRecord:
    d = _day(day)
    return VisitRecord(
        account_id=account,
        rep_id=rep,
        day=d,
        status=status,
        visit_id=f"{account}@{d.isoformat()}",
        recorded_at=_at(d),
        **extra,
    )


@pytest.fixture
def world(store: Store) -> Store:
    """T1 (R1) holds A1 (weekly) and A2 (every 2 weeks), T2 (R2) holds A3 (weekly), all
    class B, from the first of the month before; A2 moves to T2 on the 20th of the month."""
    moment = [_at(BEFORE.first)]
    clocked = _clocked(store, moment)
    accounts, reps = small_region()
    other = dataclasses.replace(reps[0], rep_id="R2", name="Anna Schön")
    replace_accounts_and_reps(clocked, accounts, [*reps, other], source="test")
    t1 = Territory(territory_id="T1", name="Nord", rep_id="R1", account_ids=("A1", "A2"))
    t2 = Territory(territory_id="T2", name="Süd", rep_id="R2", account_ids=("A3",))
    clocked.territories.save([t1, t2], cause=OwnershipCause.MANUAL, replace_all=True)
    moment[0] = _at(_day(20))
    t2 = dataclasses.replace(t2, account_ids=("A2", "A3"))
    clocked.territories.save([t2], cause=OwnershipCause.REALIGNMENT)
    done, missed, cancelled = VisitStatus.DONE, VisitStatus.MISSED, VisitStatus.CANCELLED
    records = [
        _visit("A1", "R1", 1, done),
        _visit("A1", "R1", 8, done),
        _visit("A1", "R1", 15, missed),
        _visit("A1", "R1", 22, done),
        _visit("A1", "R1", 29, VisitStatus.CHECKED_IN),
        _visit("A1", "R1", 29, done, order_value=250.0),  # the same visit, done after check-in
        _visit("A2", "R1", 6, done),
        _visit("A2", "R1", 13, done),
        _visit("A2", "R2", 27, done),  # after the move: T2's
        _visit("A3", "R2", 5, done),
        _visit("A3", "R2", 12, cancelled),
    ]
    for r in records:
        clocked.visits.record(r)
    withdrawn = clocked.visits.record(_visit("A3", "R2", 19, missed))
    assert clocked.visits.withdraw(withdrawn)
    month, before = MONTH.first.strftime("%Y-%m"), BEFORE.first.strftime("%Y-%m")
    csv = (
        "account_id,month,revenue,product_line\n"
        f"A1,{month},1000,\nA2,{month},400,Kaffee\nA2,{month},200,Tee\nA3,{month},300,\n"
        f"A1,{before},800,\n"
    )

    sales.import_sales(
        clocked, read_table_bytes(csv.encode(), source="umsatz.csv"), Scope.everything()
    )
    with clocked.transaction() as tx:
        tx.targets.save(
            [Target(scope=TargetScope.TERRITORY, scope_id="T1", period=MONTH.first, revenue=2000)]
        )
    add_user(store, "juergen", role="rep", rep_id="R1")
    add_user(store, "anna", role="rep", rep_id="R2")
    clocked.close()
    return store


def _expected() -> dict[str, dict[str, Any]]:
    """The month's figures computed by hand from the records above."""
    days = MONTH.days
    weekly, fortnightly = days / 7, days / 14
    # the withdrawn report never counts; the check-in and done of the 29th are one visit
    t1_covered = min(4, weekly) + min(2, fortnightly)
    t1_coverage = t1_covered / (weekly + fortnightly)
    t2_coverage = min(1, weekly) / weekly
    # class B potential: 800 over 3 class-B accounts x 1 month of history
    potential_b = 800 / 3
    return {
        "T1": {
            "done": 6,
            "missed": 1,
            "cancelled": 0,
            "revenue": 1600.0,
            "target": 2000.0,
            "coverage": t1_coverage,
            "per_visit": 1600 / 6,
            "previous_revenue": 800.0,
        },
        "T2": {
            "done": 2,
            "missed": 0,
            "cancelled": 1,
            "revenue": 300.0,
            "target": round(potential_b, 2),
            "coverage": t2_coverage,
            "per_visit": 150.0,
            "previous_revenue": 0.0,
        },
        "R1": {"done": 6, "missed": 1, "revenue": 1600.0, "order_value": 250.0},
        "R2": {"done": 2, "cancelled": 1, "revenue": 300.0},
    }


def test_api_figures_equal_the_records(client: TestClient, world: Store) -> None:
    response = client.get("/api/v1/performance", params={"month": str(MONTH)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["month"], body["previous_month"]) == (str(MONTH), str(BEFORE))
    groups = {g["id"]: g for g in body["groups"]}
    want = _expected()
    for key in ("T1", "T2"):
        g, w = groups[key], want[key]
        assert (g["current"]["done"], g["current"]["missed"], g["current"]["cancelled"]) == (
            w["done"],
            w["missed"],
            w["cancelled"],
        )
        assert g["current"]["revenue"] == w["revenue"]
        assert g["previous"]["revenue"] == w["previous_revenue"]
        assert g["target"]["revenue"] == pytest.approx(w["target"])
        assert g["revenue_vs_target"] == pytest.approx(w["revenue"] / w["target"])
        assert g["current"]["coverage"] == pytest.approx(w["coverage"])
        assert g["current"]["revenue_per_visit"] == pytest.approx(w["per_visit"])
    for key in ("R1", "R2"):
        g, w = groups[key], want[key]
        assert g["current"]["done"] == w["done"]
        assert g["current"]["revenue"] == w["revenue"]
    assert groups["R1"]["current"]["order_value"] == 250.0
    # T1: visits kept up (coverage over 80 %), revenue 20 % short -> potential, not effort
    assert groups["T1"]["flag"]["kind"] == "potential"
    assert groups["T1"]["flag"]["reason"] == (
        f"revenue 20 % below target while coverage is {want['T1']['coverage'] * 100:.0f} %: "
        "potential, not effort"
    )
    assert groups["T1"]["flag"]["action"] == "/accounts?territory=T1"
    # T2: above its revenue target, but one weekly account seen once -> capacity
    assert groups["T2"]["flag"]["kind"] == "capacity"
    assert groups["T2"]["flag"]["action"] == "/territories?territory=T2"
    assert body["ranking"] == ["T2", "T1"]
    assert sum(w["done"] for w in body["weeks"]) >= 0


def test_page_shows_the_same_figures_and_the_flag(client: TestClient, world: Store) -> None:
    html = client.get("/performance", params={"month": str(MONTH)}).text
    want = _expected()["T1"]
    row = html[html.index('<tr data-scope="territory" data-id="T1" class="flagged">') :]
    row = row[: row.index("</tr>")]
    assert '<td class="num" data-kpi="done">6 <span class="muted">(0)</span></td>' in row
    assert f"{want['coverage'] * 100:.0f} %" in row
    assert "1,600" in row
    assert "2,000 · 80 %" in row
    assert '<td class="num" data-kpi="per-visit">267</td>' in row
    assert 'data-flag="potential"' in row
    assert '<a href="/accounts?territory=T1">Change frequencies</a>' in row
    assert '<svg class="chart"' in html
    card = client.get("/accounts/A2").text  # the account's own revenue trend: both lines summed
    assert f'<td>{MONTH}</td><td class="num">600</td>' in card


def test_a_rep_sees_only_their_own_figures(anon_client: TestClient, world: Store) -> None:
    log_in(anon_client, "juergen")
    body = anon_client.get("/api/v1/performance", params={"month": str(MONTH)}).json()
    assert {(g["scope"], g["id"]) for g in body["groups"]} == {("territory", "T1"), ("rep", "R1")}
    other = {"month": str(MONTH), "territory": "T2"}
    response = anon_client.get("/api/v1/performance", params=other)
    assert response.status_code == 404
    assert "Süd" not in response.text
    other = {"month": str(MONTH), "rep": "R2"}
    assert anon_client.get("/api/v1/performance", params=other).status_code == 404
    html = anon_client.get("/performance", params={"month": str(MONTH)}).text
    assert 'data-id="T2"' not in html
    assert 'data-id="R2"' not in html
