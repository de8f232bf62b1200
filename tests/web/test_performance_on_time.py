"""Coverage on time on the dashboard and in ``GET /api/v1/performance``: the share of due
visits done at most the account's longest allowed gap after the visit done before it, equal to
a computation here from the same records (the world of test_performance_dashboard: A1's visit
on the 22nd comes two weeks after the one on the 8th, so it is done but late)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from routeplanner.storage import Store
from tests.conftest import small_region
from tests.web.test_performance_dashboard import MONTH, _day, world

__all__ = ["world"]

DONE_DAYS = {"A1": [1, 8, 22, 29], "A2": [6, 13, 27], "A3": [5]}
"""The days of the month each account had a visit done (the 29th's check-in and done are one)."""
OWNED = {"T1": ["A1", "A2"], "T2": ["A3"]}
"""Owners in the middle of the month (A2 moves to T2 on the 20th)."""
VISITS_OF = {"T1": {"A1": [1, 8, 22, 29], "A2": [6, 13]}, "T2": {"A2": [27], "A3": [5]}}
"""Whose each visit is: the owner on the day."""


def _expected(territory: str) -> float:
    accounts = {a.account_id: a for a in small_region()[0]}
    on_time: set[tuple[str, date]] = set()
    for account_id, days in DONE_DAYS.items():
        previous = accounts[account_id].last_visit  # no visit before the month: None
        for day in (_day(n) for n in days):
            gap = accounts[account_id].visit_rule.max_gap_days
            if previous is None or (day - previous).days <= gap:
                on_time.add((account_id, day))
            previous = day
    due = {a: accounts[a].visit_rule.visits_in(MONTH.days) for a in OWNED[territory]}
    counted = {
        a: sum((a, _day(n)) in on_time for n in VISITS_OF[territory].get(a, [])) for a in due
    }
    return sum(min(counted[a], due[a]) for a in due) / sum(due.values())


def test_on_time_coverage_equals_the_records(client: TestClient, world: Store) -> None:
    body = client.get("/api/v1/performance", params={"month": str(MONTH)}).json()
    groups = {g["id"]: g for g in body["groups"]}
    t1, t2 = _expected("T1"), _expected("T2")
    assert groups["T1"]["current"]["coverage_on_time"] == t1
    assert groups["T2"]["current"]["coverage_on_time"] == t2
    # the late visit is done (coverage counts it) but not on time
    assert groups["T1"]["current"]["coverage"] > t1
    html = client.get("/performance", params={"month": str(MONTH)}).text
    row = html[html.index('data-id="T1"') :]
    assert f'<td class="num" data-kpi="on-time">{t1 * 100:.0f} %</td>' in row[: row.index("</tr>")]
