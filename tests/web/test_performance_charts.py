"""The weekly trend per territory on the dashboard: done and missed visits of each week
counted for the territory that owned the account on the day, equal to a count here from the
records of test_performance_dashboard's world; a territory's name is escaped in the chart."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from fastapi.testclient import TestClient

from routeplanner.model.history import OwnershipCause
from routeplanner.model.territory import Territory
from routeplanner.storage import Store
from tests.web.test_performance_dashboard import MONTH, _day, world

__all__ = ["world"]

DONE = {"T1": [1, 8, 22, 29, 6, 13], "T2": [27, 5]}
MISSED = {"T1": [15], "T2": []}
"""The world's reports by the territory owning the account on the day (A2 moves on the
20th; the withdrawn report never counts; the 29th's check-in and done are one visit)."""


def _weeks(days: list[int]) -> Counter[str]:
    mondays = (_day(n) - timedelta(days=_day(n).weekday()) for n in days)
    return Counter(f"{m:%d.%m.}" for m in mondays)


def _chart(html: str, territory: str) -> str:
    start = html.index(f'<figure data-id="{territory}">')
    return html[start : html.index("</figure>", start)]


def test_each_territory_has_its_weekly_trend(client: TestClient, world: Store) -> None:
    html = client.get("/performance", params={"month": str(MONTH)}).text
    assert 'id="territory-trends"' in html
    for territory in ("T1", "T2"):
        titles = re.findall(
            r"<title>week of (\d\d\.\d\d\.): (\d+) done, (\d+) missed</title>",
            _chart(html, territory),
        )
        assert len(titles) == 12
        done = Counter({week: int(n) for week, n, _ in titles if int(n)})
        missed = Counter({week: int(n) for week, _, n in titles if int(n)})
        assert done == _weeks(DONE[territory])
        assert missed == _weeks(MISSED[territory])


def test_a_territory_name_is_escaped_in_its_chart(client: TestClient, world: Store) -> None:
    renamed = Territory(
        territory_id="T1", name='<b onmouseover="x">N', rep_id="R1", account_ids=("A1",)
    )
    world.territories.save([renamed], cause=OwnershipCause.MANUAL)
    chart = _chart(client.get("/performance", params={"month": str(MONTH)}).text, "T1")
    assert "<b " not in chart
    assert 'in &lt;b onmouseover=&quot;x&quot;&gt;N"' in chart
