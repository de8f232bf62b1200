"""The rep's field use cases besides reporting: an account's card (history, contact, upcoming
visits), the rep's own accounts found by text or by distance, progress through a day, and an
ad-hoc visit added from the phone (a plan repair with one pinned visit).

Reps see their own accounts only (:func:`~routeplanner.services.users.rep_account_ids`);
managers see every account and may look at any rep's list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from routeplanner.errors import InputError, NotFoundError, PermissionDeniedError, Problem
from routeplanner.model import Account, DayRoute, GeoPoint, Plan
from routeplanner.model.history import VisitRecord, VisitStatus
from routeplanner.scheduling.repair import AdHocVisit, frozen_until
from routeplanner.services.params import Params, limited
from routeplanner.services.planning import current_plan
from routeplanner.services.scope import scope_for
from routeplanner.services.users import allowed_rep, rep_account_ids, visible_accounts
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord, UserRole
from routeplanner.units import haversine_m

MAX_QUERY = 100
"""Longest search text."""
MAX_LISTED = 200
"""Accounts listed at most (the nearest or the first by name)."""
HISTORY = 50
REVENUE_MONTHS = 12
"""Visit reports shown at most on an account's card (the newest)."""


@dataclass(frozen=True, slots=True)
class UpcomingVisit:
    """A planned visit of the account in the current plan, today or later."""

    day: date
    start_s: int
    rep_id: str
    visit_id: str
    number: int
    """Its position in the rep's day (the day page's ``#stop-N``)."""


@dataclass(frozen=True, slots=True)
class AccountCard:
    """What a rep or manager sees about one account in the field."""

    account: Account
    history: list[VisitRecord]
    """Reports of visits, newest first (notes and outcomes)."""
    upcoming: list[UpcomingVisit]
    rep_ids: list[str]
    """The reps whose accounts list holds it (its territory's rep, or reps planned to visit)."""
    revenue: list[tuple[date, float]] = field(default_factory=list)
    """Revenue per month over the last twelve months with sales figures, oldest first."""


def _plan(store: Store) -> Plan | None:
    current = store.plans.current()
    return None if current is None else current[1]


def _visible(store: Store, user: UserRecord, account_id: str, plan: Plan | None) -> Account:
    account = store.accounts.get(account_id)
    if account is None:
        msg = f"account {account_id!r} not found"
        raise NotFoundError(msg)
    scope = scope_for(store, user)
    if user.is_manager:
        scope.account(account_id)
    allowed = visible_accounts(store, user, plan, scope)
    if allowed is not None and account_id not in allowed:
        msg = f"account {account_id!r} is not one of yours"
        raise PermissionDeniedError(msg)
    return account


def upcoming_visits(plan: Plan | None, account_id: str, today: date) -> list[UpcomingVisit]:
    """The account's planned visits from ``today`` on, by day and time."""
    if plan is None:
        return []
    found = [
        UpcomingVisit(route.day, stop.start_s, route.rep_id, stop.visit_id, number)
        for route in plan.routes
        if route.day >= today
        for number, stop in enumerate(route.stops, start=1)
        if stop.account_id == account_id
    ]
    return sorted(found, key=lambda v: (v.day, v.start_s))


def account_card(store: Store, account_id: str, user: UserRecord, *, today: date) -> AccountCard:
    """One account as the field sees it: contact (on the account), the newest visit reports
    with notes and outcomes, and the visits planned from ``today``.

    Raises
    ------
    NotFoundError
        No such account.
    PermissionDeniedError
        A rep asking for an account that is not theirs.
    """
    plan = _plan(store)
    account = _visible(store, user, account_id, plan)
    history = store.visits.find(account_id=account_id)[::-1][:HISTORY]
    upcoming = upcoming_visits(plan, account_id, today)
    owners = [t.rep_id for t in store.territories.all() if account_id in t.account_ids]
    rep_ids = sorted({r for r in owners if r} | {v.rep_id for v in upcoming})
    months: dict[date, float] = {}
    for figure in store.sales.find(account_ids=[account_id]):
        months[figure.period] = months.get(figure.period, 0.0) + figure.revenue
    revenue = sorted(months.items())[-REVENUE_MONTHS:]
    return AccountCard(account, history, upcoming, rep_ids, revenue)


# -- the rep's accounts: search and nearby -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSearch(Params):
    """Which accounts to list: ``rep`` (a rep: themselves; a manager: anyone, empty: all),
    a search text (id, name, address, contact) and, for "nearby", the phone's position."""

    rep: str = ""
    q: str = ""
    lat: float | None = limited(None, -90.0, 90.0)
    lon: float | None = limited(None, -180.0, 180.0)

    @classmethod
    def rules(cls, values: Mapping[str, object]) -> list[tuple[str, str]]:
        found = []
        if len(str(values.get("q") or "")) > MAX_QUERY:
            found.append(("q", f"at most {MAX_QUERY} characters"))
        if (values.get("lat") is None) != (values.get("lon") is None):
            found.append(("lat", "give both lat and lon, or neither"))
        return found

    def near(self) -> GeoPoint | None:
        if self.lat is None or self.lon is None:
            return None
        return GeoPoint(self.lat, self.lon)


@dataclass(frozen=True, slots=True)
class ListedAccount:
    account: Account
    distance_m: float | None
    """Straight-line distance from the given position (``None``: no position given)."""
    last_visit: date | None


def _matches(account: Account, needle: str) -> bool:
    if not needle:
        return True
    fields = (account.account_id, account.name, account.address, account.contact)
    return any(needle in text.casefold() for text in fields)


def rep_accounts(store: Store, user: UserRecord, search: AccountSearch) -> list[ListedAccount]:
    """The accounts of ``search.rep`` matching the text, nearest first when a position is
    given (straight-line: the phone asks before the road network could help), else by name;
    at most :data:`MAX_LISTED`.

    Raises
    ------
    PermissionDeniedError
        A rep asking for another rep's accounts.
    """
    scope = scope_for(store, user)
    rep_id = allowed_rep(user, search.rep or None, scope)
    plan = _plan(store)
    accounts = store.accounts.all()
    if user.is_manager:
        accounts = scope.accounts_of(accounts)
    if rep_id is not None:
        ids = rep_account_ids(store, rep_id, plan)
        accounts = [a for a in accounts if a.account_id in ids]
    needle = search.q.strip().casefold()
    accounts = [a for a in accounts if _matches(a, needle)]
    last = _last_visits(store.visits.find(account_ids={a.account_id for a in accounts}))
    near = search.near()
    listed = [
        ListedAccount(
            a,
            None
            if near is None
            else haversine_m(near.lat, near.lon, a.location.lat, a.location.lon),
            last.get(a.account_id, a.last_visit),
        )
        for a in accounts
    ]
    if near is not None:
        listed.sort(key=lambda item: (item.distance_m or 0.0, item.account.account_id))
    else:
        listed.sort(key=lambda item: (item.account.name.casefold(), item.account.account_id))
    return listed[:MAX_LISTED]


def _last_visits(records: Sequence[VisitRecord]) -> dict[str, date]:
    last: dict[str, date] = {}
    for r in records:
        if r.status in (VisitStatus.DONE, VisitStatus.CHECKED_IN):
            last[r.account_id] = max(r.day, last.get(r.account_id, r.day))
    return last


# -- a day's progress -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayProgress:
    """How far a rep is through a day: "3 of 10 done", and what else was reported."""

    done: int
    total: int
    missed: int
    cancelled: int

    @property
    def finished(self) -> int:
        return self.done + self.missed + self.cancelled


def day_progress(route: DayRoute, reported: Mapping[str, VisitRecord]) -> DayProgress:
    """Counts of the day's stops by their latest report (``reported`` by visit id)."""
    statuses = [reported[s.visit_id].status for s in route.stops if s.visit_id in reported]
    return DayProgress(
        done=statuses.count(VisitStatus.DONE),
        total=len(route.stops),
        missed=statuses.count(VisitStatus.MISSED),
        cancelled=statuses.count(VisitStatus.CANCELLED),
    )


# -- ad-hoc visits from the phone ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdHocRequest:
    """An extra visit to plan, and the rep whose plan the repair changes."""

    rep_id: str
    visit: AdHocVisit


def ad_hoc_request(
    store: Store, user: UserRecord, account_id: str, day: date, *, today: date
) -> AdHocRequest:
    """Check an extra visit of ``account_id`` on ``day`` asked from the phone; the caller then
    runs :func:`~routeplanner.services.repair.repair_current_plan` with it pinned (as the
    ``repair --adhoc`` command does). The day must be one the repair may change: after the
    rep's frozen day (today, or the next working day) and within the current plan.

    Raises
    ------
    NotFoundError, PermissionDeniedError
        No such account, or not one of the rep's.
    InputError
        No current plan, no rep for the account, or a day the repair cannot change.
    """
    _, plan, horizon = current_plan(store)
    account = _visible(store, user, account_id, plan)
    rep_id = user.rep_id if user.role is UserRole.REP else _owner(store, account.account_id)
    rep = store.reps.get(rep_id or "")
    if rep is None:
        msg = f"{account_id!r} is in no rep's territory: assign it first"
        raise InputError(Problem("visit", None, "account", msg))
    cut = frozen_until(rep, today, 1, horizon)
    if not cut < day <= horizon.end:
        msg = (
            f"{day:%a %d.%m.%Y} cannot change any more: pick a day after {cut:%a %d.%m.%Y} "
            f"up to {horizon.end:%a %d.%m.%Y}"
        )
        raise InputError(Problem("visit", None, "day", msg))
    return AdHocRequest(rep.rep_id, AdHocVisit(account_id=account.account_id, day=day))


def _owner(store: Store, account_id: str) -> str | None:
    return next(
        (t.rep_id for t in store.territories.all() if account_id in t.account_ids and t.rep_id),
        None,
    )
