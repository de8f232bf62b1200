"""A seeded, plausible history for the demo, so ``make run`` shows a dashboard worth looking
at: twelve weeks of reported visits with outcomes (some missed) by each territory's rep, and
twelve months of sales per account (up to last month) shaped by value class, with two
territories clearly under target: the largest misses many visits (capacity), the second sells
less in the last three months (potential)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from routeplanner.model import Account, Territory
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.model.performance import SalesFigure
from routeplanner.services.attribution import Month
from routeplanner.storage import Store

HISTORY_WEEKS = 12
HISTORY_MONTHS = 12
CLASS_REVENUE = {"A": 4000.0, "B": 1500.0, "C": 500.0}
OUTCOMES = ("order", "order", "follow-up needed", "no order", "not met")


@dataclass(frozen=True, slots=True)
class SampleHistory:
    visits: int
    sales: int
    weak_territories: tuple[str, ...]


def seed_history(store: Store, *, today: date, seed: int = 7) -> SampleHistory:
    """Store the history once: nothing is written when any visit or sales figure exists."""
    if store.visits.find(start=today - timedelta(weeks=HISTORY_WEEKS)) or store.sales.count():
        return SampleHistory(0, 0, ())
    history = build_history(
        store.accounts.all(), store.territories.all(), today=today, rng=random.Random(seed)
    )
    with store.transaction("storing the sample history") as tx:
        tx.visits.record_all(history.visits)
        tx.sales.replace_periods(history.sales, source="sample history")
    return SampleHistory(len(history.visits), len(history.sales), history.weak)


@dataclass(frozen=True, slots=True)
class BuiltHistory:
    visits: list[VisitRecord]
    sales: list[SalesFigure]
    weak: tuple[str, ...]
    """The territories made to under-perform."""


def build_history(
    accounts: Sequence[Account],
    territories: Sequence[Territory],
    *,
    today: date,
    rng: random.Random,
    weeks: int = HISTORY_WEEKS,
    months: int = HISTORY_MONTHS,
) -> BuiltHistory:
    """Visits of ``weeks`` weeks before ``today`` by each territory's rep and ``months``
    months of sales per account; deterministic given ``rng``'s seed."""
    by_id = {a.account_id: a for a in accounts}
    ordered = sorted(territories, key=lambda t: (-len(t.account_ids), t.territory_id))
    # the largest territory misses visits (capacity), the second sells less (potential)
    stretched = {t.territory_id for t in ordered[:1]}
    weak = {t.territory_id for t in ordered[1:2]}
    visits: list[VisitRecord] = []
    figures: list[SalesFigure] = []
    for t in ordered:
        owned = [by_id[a] for a in t.account_ids if a in by_id]
        if t.rep_id is not None:
            for account in owned:
                visits += _visits(
                    account, t.rep_id, today, rng, weeks, stretched=t.territory_id in stretched
                )
        low = t.territory_id in weak
        figures += [f for a in owned for f in _sales(a, today, rng, months, weak=low)]
    return BuiltHistory(visits, figures, tuple(sorted(stretched | weak)))


def _visits(
    account: Account,
    rep_id: str,
    today: date,
    rng: random.Random,
    weeks: int,
    *,
    stretched: bool,
) -> list[VisitRecord]:
    days = weeks * 7
    count = max(1, round(account.visit_rule.visits_in(days)))
    found = []
    for i in range(count):
        day = today - timedelta(days=days - int((i + rng.random()) * days / count))
        day -= timedelta(days=max(0, day.weekday() - 4))  # weekends move to Friday
        if day >= today:
            continue
        missed = rng.random() < (0.35 if stretched else 0.06)
        outcome = None if missed else rng.choice(OUTCOMES)
        value = round(rng.uniform(80, 900), 2) if outcome == "order" else None
        found.append(
            VisitRecord(
                account_id=account.account_id,
                rep_id=rep_id,
                day=day,
                status=VisitStatus.MISSED if missed else VisitStatus.DONE,
                visit_id=f"{account.account_id}@{day.isoformat()}",
                actual_start=None,
                recorded_at=datetime.combine(day, time(17), tzinfo=UTC),
                recorded_by="sample history",
                outcome=outcome,
                order_value=value,
            )
        )
    return found


def _sales(
    account: Account, today: date, rng: random.Random, months: int, *, weak: bool
) -> list[SalesFigure]:
    month = Month.of(today)
    base = CLASS_REVENUE.get(account.value_class, 1000.0) * rng.lognormvariate(0, 0.25)
    found = []
    for _ in range(months):
        month = month.previous
        share = (
            0.55
            if weak and month.first >= Month.of(today).previous.previous.previous.first
            else 1.0
        )
        revenue = round(base * share * rng.uniform(0.8, 1.2), 2)
        found.append(
            SalesFigure(
                account_id=account.account_id,
                period=month.first,
                revenue=revenue,
                order_count=max(0, round(revenue / 400)),
            )
        )
    return found
