"""Performance use cases: how each territory and rep did in a month, against its targets and
the month before, and which territories need a manager's action.

Everything is computed from what happened — visit records and monthly sales — attributed to
the territory that owned each account at the time (:mod:`.attribution`), so re-plans and
realignments never rewrite the past. Visits count for the territory owning the account on the
day and for the rep who reported them; revenue and due visits for the owner in the middle of
the month.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from routeplanner.errors import NotFoundError
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.model.performance import (
    AccountFacts,
    FigureScope,
    SalesFigure,
    Target,
    TargetScope,
)
from routeplanner.services.attribution import Month, Ownership, noon
from routeplanner.services.scope import Scope, scope_for
from routeplanner.services.targets import (
    TargetFigures,
    class_potential,
    context_of,
    default_figures,
    merged_figures,
    owned_by,
    potential_window,
)
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord

REVENUE_SHORTFALL: Final = 0.15
"""A territory is flagged when its revenue is this share or more below target."""
COVERAGE_SHORTFALL: Final = 0.10
"""... or its coverage this many points or more below its coverage target."""
TREND_WEEKS: Final = 12
COVERAGE_JUDGED_AFTER_DAYS: Final = 14
"""Coverage is not judged in a month's first two weeks: too few visits were due to tell."""
DONE = (VisitStatus.DONE, VisitStatus.CHECKED_IN)

GroupKey = tuple[TargetScope, str]


@dataclass(frozen=True, slots=True)
class Figures:
    """One territory's or rep's month. Shares are 0..1, ``None`` where nothing was due or
    done to divide by."""

    accounts: int = 0
    planned: int = 0
    done: int = 0
    missed: int = 0
    cancelled: int = 0
    due: float = 0.0
    coverage: float | None = None
    on_time: float | None = None
    """Share of due visits done on time (see :func:`_on_time`)."""
    adherence: float | None = None
    overdue: int = 0
    drive_share: float | None = None
    revenue: float = 0.0
    order_value: float = 0.0
    new_accounts: int = 0
    by_class: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """Per value class: (realised revenue, potential)."""

    @property
    def revenue_per_visit(self) -> float | None:
        return self.revenue / self.done if self.done else None


@dataclass(frozen=True, slots=True)
class Flag:
    """Why a territory under-performs and what to do about it (``action``: a page link)."""

    kind: str
    reason: str
    action: str
    action_label: str


@dataclass(frozen=True, slots=True)
class GroupReport:
    scope: TargetScope
    scope_id: str
    name: str
    rep_id: str | None
    current: Figures
    previous: Figures
    target: TargetFigures
    flag: Flag | None

    @property
    def revenue_vs_target(self) -> float | None:
        """Revenue as a share of its target (``None``: no revenue target)."""
        return self.current.revenue / self.target.revenue if self.target.revenue else None


@dataclass(frozen=True, slots=True)
class WeekPoint:
    start: date
    done: int
    missed: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    month: Month
    groups: list[GroupReport]
    weeks: list[WeekPoint]
    sales_known: bool = True
    """Whether any sales figure of the month is stored (else revenue is not judged)."""
    territory_weeks: Mapping[str, list[WeekPoint]] = field(default_factory=dict)
    """The weekly trend of each territory shown, by id."""

    @property
    def territories(self) -> list[GroupReport]:
        return [g for g in self.groups if g.scope is TargetScope.TERRITORY]

    @property
    def reps(self) -> list[GroupReport]:
        return [g for g in self.groups if g.scope is TargetScope.REP]

    @property
    def ranking(self) -> list[GroupReport]:
        """Territories by revenue against target, best first (no target: last)."""
        return sorted(self.territories, key=lambda g: -(g.revenue_vs_target or -1.0))


# -- reading what happened -----------------------------------------------------------------------


def reported_visits(records: Iterable[VisitRecord]) -> list[VisitRecord]:
    """The last report of each visit (a correction or done after a check-in replaces the
    earlier one); reports without a planned visit count each."""
    latest: dict[tuple[str, date, str], VisitRecord] = {}
    for r in records:
        key = (r.visit_id or f"#{r.record_id}", r.day, r.account_id)
        latest[key] = r
    return list(latest.values())


@dataclass(frozen=True, slots=True)
class History:
    """Everything a dashboard reads, once: accounts, owners over time, the visits of the
    months shown and of the trend's weeks, sales, and per month shown the last visit done
    of each account, the planned routes' times, the potential's sales and the targets."""

    accounts: dict[str, AccountFacts]
    ownership: Ownership
    first_owned: dict[str, date]
    visits: list[VisitRecord]
    sales: list[SalesFigure]
    last_done: dict[Month, dict[str, date]]
    done_before: dict[Month, dict[str, date]]
    """Per month shown: each account's last visit done before the month began."""
    route_times: dict[Month, list[tuple[str, int, int]]]
    potential: dict[Month, dict[str, float]]
    targets: list[Target]


def trend_start(end: date) -> date:
    """The Monday :data:`TREND_WEEKS` weeks back from the week of ``end``."""
    return end - timedelta(days=end.weekday()) - timedelta(weeks=TREND_WEEKS - 1)


def read_history(
    store: Store,
    months: Sequence[Month],
    today: date,
    configured: Mapping[str, float],
    scope: FigureScope | None = None,
) -> History:
    """What happened in ``months`` (and the trend's weeks up to the last of them or
    ``today``) and what it is attributed by, in one read; ``scope`` narrows to the accounts
    its territories and reps ever owned and its reps' reports (the potential per value class
    stays the whole organisation's)."""
    first, last = months[0], months[-1]
    start = min(first.first, trend_start(min(last.last, today)))
    with store.read("reading performance history") as tx:
        accounts = {a.account_id: a for a in tx.accounts.facts(scope)}
        periods = tx.territories.ownership_history(scope=scope)
        visits = tx.visits.for_figures(start, last.last, scope)
        sales = tx.sales.find(start=first.first, end=last.first, scope=scope)
        untils = [min(m.last, today) for m in months]
        untils += [m.first - timedelta(days=1) for m in months]
        found = tx.visits.last_done(untils, scope)
        last_done = dict(zip(months, found[: len(months)], strict=True))
        done_before = dict(zip(months, found[len(months) :], strict=True))
        routes = {m: tx.plans.current_route_times(m.first, m.last) for m in months}
        sizes = tx.accounts.class_sizes()
        windows = tx.sales.revenue_by_class([potential_window(m) for m in months])
        targets = tx.targets.find(start=first.first, end=last.first)
    potential = {
        m: class_potential(sizes, revenue, n, configured)
        for m, (revenue, n) in zip(months, windows, strict=True)
    }
    owned: dict[str, date] = {}
    for p in periods:
        owned.setdefault(p.account_id, p.valid_from.date())
    ownership = Ownership(periods)
    return History(
        accounts,
        ownership,
        owned,
        visits,
        sales,
        last_done,
        done_before,
        routes,
        potential,
        targets,
    )


# -- one month's figures -------------------------------------------------------------------------


def _visit_groups(record: VisitRecord, ownership: Ownership) -> list[GroupKey]:
    groups: list[GroupKey] = [(TargetScope.REP, record.rep_id)]
    owner = ownership.at(record.account_id, noon(record.day))
    if owner is not None:
        groups.append((TargetScope.TERRITORY, owner.territory_id))
    return groups


@dataclass(slots=True)
class _Tally:
    planned: int = 0
    done: int = 0
    missed: int = 0
    cancelled: int = 0
    order_value: float = 0.0
    done_by_account: dict[str, int] = field(default_factory=dict)
    on_time_by_account: dict[str, int] = field(default_factory=dict)


def _tally_visits(history: History, month: Month) -> dict[GroupKey, _Tally]:
    tallies: dict[GroupKey, _Tally] = {}
    in_month = reported_visits(r for r in history.visits if month.first <= r.day <= month.last)
    on_time = _on_time(history, month, in_month)
    for record in in_month:
        for key in _visit_groups(record, history.ownership):
            tally = tallies.setdefault(key, _Tally())
            tally.planned += bool(record.visit_id)
            if record.status in DONE:
                tally.done += 1
                tally.order_value += record.order_value or 0.0
                account = record.account_id
                tally.done_by_account[account] = tally.done_by_account.get(account, 0) + 1
                if (account, record.day) in on_time:
                    count = tally.on_time_by_account.get(account, 0)
                    tally.on_time_by_account[account] = count + 1
            elif record.status is VisitStatus.MISSED:
                tally.missed += 1
            else:
                tally.cancelled += 1
    return tallies


def _on_time(
    history: History, month: Month, reported: Sequence[VisitRecord]
) -> set[tuple[str, date]]:
    """The (account, day) of every visit of the month done on time: at most the account's
    longest allowed gap (its frequency's window, which plans keep to) after the visit done
    before it — by anyone, in the month or before (else the account's imported last visit).
    A first visit, with none before it, is on time."""
    days: dict[str, list[date]] = {}
    for r in reported:
        if r.status in DONE:
            days.setdefault(r.account_id, []).append(r.day)
    found: set[tuple[str, date]] = set()
    before = history.done_before[month]
    for account_id, done in days.items():
        account = history.accounts.get(account_id)
        if account is None:
            continue
        previous = before.get(account_id, account.last_visit)
        for day in sorted(done):
            if previous is None or (day - previous).days <= account.visit_rule.max_gap_days:
                found.add((account_id, day))
            previous = day
    return found


def _coverage(
    owned: Sequence[AccountFacts], tally: _Tally, days: int
) -> tuple[float, float | None, float | None, float | None]:
    """Due visits, coverage (share of due visits done), adherence (share of accounts due
    at least one visit that got the number their frequency asks for) and on-time coverage
    (share of due visits done on time, see :func:`_on_time`)."""
    due = {a.account_id: a.visit_rule.visits_in(days) for a in owned}
    total = sum(due.values())
    done, on_time = tally.done_by_account, tally.on_time_by_account
    covered = sum(min(done.get(a, 0), d) for a, d in due.items())
    in_time = sum(min(on_time.get(a, 0), d) for a, d in due.items())
    needing = [a for a, d in due.items() if d >= 1]
    met = sum(1 for a in needing if done.get(a, 0) >= math.floor(due[a]))
    return (
        total,
        covered / total if total else None,
        met / len(needing) if needing else None,
        in_time / total if total else None,
    )


def _overdue(owned: Sequence[AccountFacts], last_done: Mapping[str, date], until: date) -> int:
    count = 0
    for a in owned:
        last = last_done.get(a.account_id, a.last_visit)
        gap = a.visit_rule.max_gap_days or a.visit_rule.nominal_gap_days
        if last is not None and (until - last).days > gap:
            count += 1
    return count


def _drive_share(routes: Sequence[tuple[str, int, int]], rep_ids: set[str]) -> float | None:
    """Planned driving as a share of the working day, over the current plan's routes of the
    month with stops (``None``: the plan has none)."""
    mine = [(worked, driving) for rep, worked, driving in routes if rep in rep_ids]
    worked = sum(w for w, _ in mine)
    return sum(d for _, d in mine) / worked if worked else None


def _revenue(history: History, month: Month) -> dict[GroupKey, tuple[float, dict[str, float]]]:
    """Revenue per group in the month, in total and per value class."""
    found: dict[GroupKey, tuple[float, dict[str, float]]] = {}
    for figure in history.sales:
        if figure.period != month.first:
            continue
        owner = history.ownership.at(figure.account_id, month.middle)
        account = history.accounts.get(figure.account_id)
        if owner is None or account is None:
            continue
        keys: list[GroupKey] = [(TargetScope.TERRITORY, owner.territory_id)]
        if owner.rep_id is not None:
            keys.append((TargetScope.REP, owner.rep_id))
        for key in keys:
            total, by_class = found.get(key, (0.0, {}))
            by_class[account.value_class] = by_class.get(account.value_class, 0.0) + figure.revenue
            found[key] = (total + figure.revenue, by_class)
    return found


def _elapsed_days(month: Month, today: date) -> int:
    """Days of ``month`` up to ``today``: only those could have had their visits yet."""
    if today < month.first:
        return 0
    return min(month.days, (today - month.first).days + 1)


def month_figures(
    history: History,
    month: Month,
    *,
    today: date,
    groups: Sequence[tuple[GroupKey, set[str]]],
) -> tuple[dict[GroupKey, Figures], dict[GroupKey, TargetFigures]]:
    """Figures and targets of ``groups`` (each with the reps whose plan it drives) in
    ``month``."""
    accounts = list(history.accounts.values())
    context = context_of(
        accounts, history.ownership, history.potential[month], history.targets, month
    )
    owned = owned_by(context)
    tallies = _tally_visits(history, month)
    revenue = _revenue(history, month)
    until = min(month.last, today)
    last_done = history.last_done[month]
    days = _elapsed_days(month, today)
    figures: dict[GroupKey, Figures] = {}
    goals: dict[GroupKey, TargetFigures] = {}
    for key, rep_ids in groups:
        accounts = owned.get(key, [])
        tally = tallies.get(key, _Tally())
        due, coverage, adherence, on_time = _coverage(accounts, tally, days)
        total, by_class = revenue.get(key, (0.0, {}))
        classes = {a.value_class for a in accounts} | set(by_class)
        counts = {c: sum(1 for a in accounts if a.value_class == c) for c in classes}
        figures[key] = Figures(
            accounts=len(accounts),
            planned=tally.planned,
            done=tally.done,
            missed=tally.missed,
            cancelled=tally.cancelled,
            due=due,
            coverage=coverage,
            on_time=on_time,
            adherence=adherence,
            overdue=_overdue(accounts, last_done, until),
            drive_share=_drive_share(history.route_times[month], rep_ids),
            revenue=total,
            order_value=tally.order_value,
            new_accounts=sum(
                1
                for a in accounts
                if month.first <= history.first_owned.get(a.account_id, date.min) <= month.last
            ),
            by_class={
                c: (by_class.get(c, 0.0), counts[c] * context.potential.get(c, 0.0))
                for c in sorted(classes)
            },
        )
        default = default_figures(accounts, context.potential, month)
        goals[key] = merged_figures(default, context.stored.get(key))
    return figures, goals


# -- flags, trends, the dashboard ------------------------------------------------------------------


def _percent(share: float) -> str:
    return f"{share * 100:.0f} %"


def flag_for(
    scope_id: str,
    figures: Figures,
    target: TargetFigures,
    *,
    sales_known: bool = True,
    coverage_known: bool = True,
) -> Flag | None:
    """Why a territory under-performs, telling effort from capacity from potential:

    * coverage well below target: the rep cannot do the visits — **capacity** (realign);
    * revenue well below target while coverage holds: the visits happen but do not sell —
      **potential** (change frequencies: fewer visits where they do not pay);
    * revenue is not judged while no sales figure of the month is stored (``sales_known``):
      exports usually arrive after the month; coverage not before ``coverage_known`` (see
      :data:`COVERAGE_JUDGED_AFTER_DAYS`)."""
    coverage = figures.coverage if coverage_known else None
    short_coverage = coverage is not None and coverage < target.coverage - COVERAGE_SHORTFALL
    judged = sales_known and target.revenue > 0
    shortfall = 1 - figures.revenue / target.revenue if judged else 0.0
    query = f"?territory={scope_id}"
    if short_coverage and coverage is not None:
        reason = f"coverage {_percent(coverage)} against {_percent(target.coverage)}: capacity"
        if shortfall >= REVENUE_SHORTFALL:
            reason = f"revenue {_percent(shortfall)} below target, " + reason
        return Flag("capacity", reason, "/territories" + query, "Realign")
    if shortfall >= REVENUE_SHORTFALL:
        shown = (
            "coverage is not known yet" if coverage is None else f"coverage is {_percent(coverage)}"
        )
        reason = f"revenue {_percent(shortfall)} below target while {shown}: potential, not effort"
        return Flag("potential", reason, "/accounts" + query, "Change frequencies")
    return None


def weekly_trend(
    history: History, end: date, keys: set[GroupKey] | None, territories: Collection[str] = ()
) -> tuple[list[WeekPoint], dict[str, list[WeekPoint]]]:
    """Done and missed visits per week (Monday to Sunday) for :data:`TREND_WEEKS` weeks up to
    the week of ``end``: in all (``keys`` narrows to those groups' visits, ``None``:
    everyone's) and for each of ``territories``, each visit for the territory that owned the
    account on the day; in one pass."""
    starts = [trend_start(end) + timedelta(weeks=w) for w in range(TREND_WEEKS)]
    total = {s: [0, 0] for s in starts}
    per = {i: {s: [0, 0] for s in starts} for i in territories}
    for record in reported_visits(r for r in history.visits if r.day >= starts[0]):
        if record.day > end:
            continue
        groups = _visit_groups(record, history.ownership)
        if keys is not None and not keys & set(groups):
            continue
        monday = record.day - timedelta(days=record.day.weekday())
        counted = [total] + [per[i] for k, i in groups if k is TargetScope.TERRITORY and i in per]
        for counts in counted:
            week = counts.get(monday)
            if week is not None:
                week[0] += record.status in DONE
                week[1] += record.status is VisitStatus.MISSED
    return _points(total), {i: _points(c) for i, c in per.items()}


def _points(counts: Mapping[date, list[int]]) -> list[WeekPoint]:
    return [WeekPoint(s, c[0], c[1]) for s, c in counts.items()]


def _groups_for(
    store: Store, user: UserRecord | None, scope: Scope
) -> list[tuple[GroupKey, str, str | None]]:
    """(key, name, rep) of every territory and rep the user (and their scope) may see."""
    found: list[tuple[GroupKey, str, str | None]] = [
        ((TargetScope.TERRITORY, territory_id), name, rep_id)
        for territory_id, name, rep_id in store.territories.names()
        if scope.sees_territory(territory_id)
    ]
    found += [
        ((TargetScope.REP, r.rep_id), r.name, r.rep_id)
        for r in sorted(scope.reps_of(store.reps.all()), key=lambda r: r.rep_id)
    ]
    if user is not None and not user.is_manager:
        found = [g for g in found if g[2] is not None and g[2] == user.rep_id]
    return found


def _scope_of(keys: Sequence[GroupKey]) -> FigureScope:
    return FigureScope(
        frozenset(i for scope, i in keys if scope is TargetScope.TERRITORY),
        frozenset(i for scope, i in keys if scope is TargetScope.REP),
    )


def dashboard(
    store: Store,
    month: Month,
    *,
    today: date,
    potential: Mapping[str, float],
    user: UserRecord | None = None,
    only: GroupKey | None = None,
) -> Dashboard:
    """Every territory and rep the user may see (a rep: their own), ``month`` against the
    month before and its targets, with flags on territories and the weekly trend. ``only``
    narrows to one group.

    Raises
    ------
    NotFoundError
        ``only`` names no territory or rep the user may see (nothing leaks).
    """
    # a rep is narrowed to their own groups below; scope narrows a manager
    scope = scope_for(store, user) if user is not None and user.is_manager else Scope.everything()
    named = _groups_for(store, user, scope)
    if only is not None:
        named = [g for g in named if g[0] == only]
        if not named:
            msg = f"{only[0].value} {only[1]!r} not found"
            raise NotFoundError(msg)
    whole = (user is None or (user.is_manager and scope.is_everything)) and only is None
    narrow = None if whole else _scope_of([key for key, _, _ in named])
    history = read_history(store, [month.previous, month], today, potential, narrow)
    groups = [(key, {rep} if rep else set()) for key, _, rep in named]
    now, goals = month_figures(history, month, today=today, groups=groups)
    before, _ = month_figures(history, month.previous, today=today, groups=groups)
    sales_known = any(f.period == month.first for f in history.sales)
    coverage_known = _elapsed_days(month, today) >= COVERAGE_JUDGED_AFTER_DAYS
    reports = []
    for key, name, rep in named:
        flag = None
        if key[0] is TargetScope.TERRITORY:
            flag = flag_for(
                key[1],
                now[key],
                goals[key],
                sales_known=sales_known,
                coverage_known=coverage_known,
            )
        reports.append(
            GroupReport(key[0], key[1], name, rep, now[key], before[key], goals[key], flag)
        )
    keys = None if whole else {key for key, _, _ in named}
    shown = [key[1] for key, _, _ in named if key[0] is TargetScope.TERRITORY]
    weeks, per_territory = weekly_trend(history, min(month.last, today), keys, shown)
    return Dashboard(month, reports, weeks, sales_known, per_territory)
