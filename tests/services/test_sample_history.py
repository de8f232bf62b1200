"""The demo's sample history: reported visits of the last twelve weeks by each territory's
rep with outcomes, twelve months of sales up to last month, the largest territory missing
more visits, stored once."""

from __future__ import annotations

from datetime import timedelta

from routeplanner.model.history import VisitStatus
from routeplanner.services.attribution import Month
from routeplanner.services.sample_history import seed_history
from routeplanner.storage import Store
from tests.web.rep_day_data import store_world, today


def test_history_is_plausible_and_stored_once(store: Store) -> None:
    day = today()
    store_world(store, day)
    found = seed_history(store, today=day)
    assert found.weak_territories == ("T1", "T2")
    visits = store.visits.find()
    assert len(visits) == found.visits > 0
    assert all(day - timedelta(weeks=12) <= v.day < day for v in visits)
    assert all(v.day.weekday() < 5 for v in visits)
    done = [v for v in visits if v.status is VisitStatus.DONE]
    assert all(v.outcome for v in done)
    assert all((v.order_value is not None) == (v.outcome == "order") for v in visits)
    assert {(v.rep_id, v.account_id in ("A1", "A2")) for v in visits} <= {
        ("R1", True),
        ("R2", False),
    }
    months = {f.period for f in store.sales.find()}
    this = Month.of(day)
    assert len(months) == 12
    assert max(months) == this.previous.first
    assert store.sales.count() == found.sales == 3 * 12
    again = seed_history(store, today=day)
    assert (again.visits, again.sales) == (0, 0)
    assert len(store.visits.find()) == len(visits)
