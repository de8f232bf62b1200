"""Target use cases: what each territory and rep should reach in a month, set by a manager
(page, file, command line, API) or derived from the accounts' potential.

A figure left unset has a default, so a new team sees meaningful targets before anyone types
one: revenue is the accounts' potential by value class (the mean monthly revenue per account of
that class over the twelve months before, from the stored sales; with no sales yet the
configured ``RP_CLASS_POTENTIAL``), visits are what the accounts' frequencies ask for in the
month, coverage is :data:`DEFAULT_COVERAGE` and new accounts one per hundred owned (at least
one). Accounts count for whoever owned them in the middle of the month.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

from routeplanner.errors import InputError, Problem
from routeplanner.io.cells import Collector, build_all
from routeplanner.io.tables import Row, Table, read_table, read_table_bytes
from routeplanner.model.history import OwnershipRecord
from routeplanner.model.performance import AccountFacts, Target, TargetScope
from routeplanner.services.attribution import Month, Ownership
from routeplanner.services.scope import Scope, scope_for
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord

DEFAULT_COVERAGE: Final = 0.9
"""Share of due visits done on time a territory is expected to reach by default."""
NEW_ACCOUNT_SHARE: Final = 0.01
"""New accounts a month by default, as a share of the accounts owned."""
POTENTIAL_MONTHS: Final = 12
FIGURES = ("revenue", "visits_done", "coverage", "new_accounts")
TARGET_COLUMNS = ("scope", "id", "month", *FIGURES)
MAX_TARGET_REVENUE: Final = 1e12
MAX_TARGET_VISITS: Final = 1_000_000


def class_potential(
    sizes: Mapping[str, int],
    revenue: Mapping[str, float],
    months: int,
    configured: Mapping[str, float],
) -> dict[str, float]:
    """Mean monthly revenue per account of each value class (``sizes``: accounts per class)
    over ``months`` months of history (``revenue``: each class's total; an account without a
    row in a month had no revenue then); ``configured`` where there is no month of history."""
    potential = dict(configured)
    if not months:
        return potential
    for value_class, size in sizes.items():
        if size:
            potential[value_class] = revenue.get(value_class, 0.0) / (size * months)
    return potential


@dataclass(frozen=True, slots=True)
class TargetFigures:
    """The four figures of one target, each with whether it is the default."""

    revenue: float
    visits_done: int
    coverage: float
    new_accounts: int
    defaults: frozenset[str]


@dataclass(frozen=True, slots=True)
class EffectiveTarget:
    """A territory's or rep's targets for a month; ``rep_id`` is the territory's rep (for a
    rep: the rep)."""

    scope: TargetScope
    scope_id: str
    name: str
    month: Month
    figures: TargetFigures
    rep_id: str | None


def default_figures(
    accounts: Iterable[AccountFacts], potential: Mapping[str, float], month: Month
) -> TargetFigures:
    """The defaults for a group of accounts (see the module's description)."""
    owned = list(accounts)
    revenue = sum(potential.get(a.value_class, 0.0) for a in owned)
    visits = round(sum(a.visit_rule.visits_in(month.days) for a in owned))
    new = math.ceil(len(owned) * NEW_ACCOUNT_SHARE) if owned else 0
    return TargetFigures(round(revenue, 2), visits, DEFAULT_COVERAGE, new, frozenset(FIGURES))


def merged_figures(default: TargetFigures, stored: Target | None) -> TargetFigures:
    if stored is None:
        return default
    values = {name: getattr(stored, name) for name in FIGURES}
    chosen = {n: getattr(default, n) if v is None else v for n, v in values.items()}
    return TargetFigures(
        revenue=float(chosen["revenue"]),
        visits_done=int(chosen["visits_done"]),
        coverage=float(chosen["coverage"]),
        new_accounts=int(chosen["new_accounts"]),
        defaults=frozenset(n for n, v in values.items() if v is None),
    )


@dataclass(frozen=True, slots=True)
class TargetContext:
    """What targets of a month are computed from, read once for a page or a report."""

    accounts: list[AccountFacts]
    owners: dict[str, OwnershipRecord]
    potential: dict[str, float]
    stored: dict[tuple[TargetScope, str], Target]


def potential_window(month: Month) -> tuple[date, date]:
    """The first and last month whose sales make the potential of ``month``'s targets."""
    start = Month(month.first)
    for _ in range(POTENTIAL_MONTHS):
        start = start.previous
    return start.first, month.previous.first


def target_context(store: Store, month: Month, configured: Mapping[str, float]) -> TargetContext:
    with store.read("reading targets") as tx:
        accounts = tx.accounts.facts()
        ownership = Ownership(tx.territories.ownership_history())
        [revenue] = tx.sales.revenue_by_class([potential_window(month)])
        stored = tx.targets.find(start=month.first, end=month.first)
    sizes = Counter(a.value_class for a in accounts)
    potential = class_potential(sizes, revenue[0], revenue[1], configured)
    return context_of(accounts, ownership, potential, stored, month)


def context_of(
    accounts: list[AccountFacts],
    ownership: Ownership,
    potential: dict[str, float],
    stored: Iterable[Target],
    month: Month,
) -> TargetContext:
    """The context of ``month`` from what was read: ``potential`` per value class
    (:func:`class_potential`), ``stored`` targets (those of other months are left out)."""
    owners = ownership.members([a.account_id for a in accounts], month.middle)
    return TargetContext(
        accounts,
        owners,
        potential,
        {(t.scope, t.scope_id): t for t in stored if t.period == month.first},
    )


def owned_by(context: TargetContext) -> dict[tuple[TargetScope, str], list[AccountFacts]]:
    """The accounts each territory and each rep owned in the context's month."""
    groups: dict[tuple[TargetScope, str], list[AccountFacts]] = {}
    for account in context.accounts:
        owner = context.owners.get(account.account_id)
        if owner is None:
            continue
        groups.setdefault((TargetScope.TERRITORY, owner.territory_id), []).append(account)
        if owner.rep_id is not None:
            groups.setdefault((TargetScope.REP, owner.rep_id), []).append(account)
    return groups


def effective_targets(
    store: Store,
    month: Month,
    configured: Mapping[str, float],
    *,
    user: UserRecord | None = None,
) -> list[EffectiveTarget]:
    """Every territory's and rep's targets for ``month``: stored figures, defaults for the
    rest (territories first, then reps, each by id). A rep ``user`` sees only their own and
    their territory's; ``None`` (the command line) and admins see all, a manager their
    regions'."""
    context = target_context(store, month, configured)
    groups = owned_by(context)
    seen = scope_for(store, user) if user is not None and user.is_manager else Scope.everything()
    named = [
        (TargetScope.TERRITORY, t.territory_id, t.name, t.rep_id)
        for t in seen.territories_of(store.territories.all())
    ]
    named += [(TargetScope.REP, r.rep_id, r.name, r.rep_id) for r in seen.reps_of(store.reps.all())]
    if user is not None and not user.is_manager:
        named = [n for n in named if n[3] == user.rep_id]
    found = []
    for scope, scope_id, name, rep_id in sorted(
        named, key=lambda n: (n[0] != TargetScope.TERRITORY, n[1])
    ):
        default = default_figures(groups.get((scope, scope_id), []), context.potential, month)
        figures = merged_figures(default, context.stored.get((scope, scope_id)))
        found.append(EffectiveTarget(scope, scope_id, name, month, figures, rep_id))
    return found


# -- setting targets ---------------------------------------------------------------------------


def targets_from_table(table: Table) -> list[tuple[int, Target]]:
    """Validate a targets file (or form, or API rows): ``scope`` territory or rep, ``id``,
    ``month`` YYYY-MM, and any of ``revenue``, ``visits_done``, ``coverage`` (percent, 0 to
    100) and ``new_accounts``; an empty figure keeps its default.

    Raises
    ------
    InputError
        Every problem of every row; nothing is returned then.
    """
    return build_all(table, TARGET_COLUMNS, ("scope", "id", "month"), _target_row)


def _target_row(col: Collector, row: Row, first_row: dict[str, int]) -> tuple[int, Target] | None:
    before = len(col.problems)
    n = row.number
    scope_text = (col.text(row, "scope", required=True) or "").lower()
    scope = None
    if scope_text:
        try:
            scope = TargetScope(scope_text)
        except ValueError:
            col.add(n, "scope", f"{row.get('scope')!r} is neither territory nor rep")
    scope_id = col.text(row, "id", required=True)
    month = col.parsed(row, "month", lambda v: Month.parse(v).first, required=True)
    revenue = _bounded(col, row, "revenue", MAX_TARGET_REVENUE)
    visits = col.whole(row, "visits_done", minimum=0)
    if visits is not None and visits > MAX_TARGET_VISITS:
        col.add(n, "visits_done", f"at most {MAX_TARGET_VISITS}, got {visits}")
    coverage = _bounded(col, row, "coverage", 100.0)
    new = col.whole(row, "new_accounts", minimum=0)
    if new is not None and new > MAX_TARGET_VISITS:
        col.add(n, "new_accounts", f"at most {MAX_TARGET_VISITS}, got {new}")
    if scope is not None and scope_id and month is not None:
        key = f"{scope}\t{scope_id}\t{month}"
        if key in first_row:
            first = first_row[key]
            message = f"second row for {scope} {scope_id!r} in {month:%Y-%m} (first in row {first})"
            col.add(n, "id", message)
        first_row.setdefault(key, n)
    if len(col.problems) > before or scope is None or not scope_id or month is None:
        return None
    return n, Target(
        scope=scope,
        scope_id=scope_id,
        period=month,
        revenue=revenue,
        visits_done=visits,
        coverage=None if coverage is None else coverage / 100.0,
        new_accounts=new,
    )


def _bounded(col: Collector, row: Row, column: str, high: float) -> float | None:
    value = col.number(row, column)
    if value is not None and not 0 <= value <= high:
        col.add(row.number, column, f"must be 0 to {high:g}, got {row.get(column)}")
        return None
    return value


def save_targets(store: Store, table: Table, *, scope: Scope, user: str = "") -> list[Target]:
    """Validate ``table`` (:func:`targets_from_table`), check every territory and rep exists
    in ``scope``, and store the targets in one transaction (replacing those stored for the
    same month).

    Raises
    ------
    InputError
        Every problem, unknown territories and reps (or outside ``scope``: the same message)
        included; nothing stored.
    """
    numbered = targets_from_table(table)
    with store.transaction(f"saving targets from {table.source}") as tx:
        known = {
            (TargetScope.TERRITORY, t.territory_id)
            for t in scope.territories_of(tx.territories.all())
        }
        known |= {(TargetScope.REP, r.rep_id) for r in scope.reps_of(tx.reps.all())}
        unknown = [
            Problem(table.source, n, "id", f"unknown {t.scope.value} {t.scope_id!r}")
            for n, t in numbered
            if (t.scope, t.scope_id) not in known
        ]
        if unknown:
            raise InputError(unknown)
        targets = [t for _, t in numbered]
        tx.targets.save(targets, user=user)
    return targets


def save_targets_file(store: Store, path: Path, *, scope: Scope, user: str = "") -> list[Target]:
    return save_targets(store, read_table(path), scope=scope, user=user)


def save_targets_bytes(
    store: Store, data: bytes, *, source: str, scope: Scope, user: str = ""
) -> list[Target]:
    return save_targets(store, read_table_bytes(data, source=source), scope=scope, user=user)


def one_target_table(cells: Mapping[str, str], *, source: str) -> Table:
    """One target typed into a form or given as options, as a one-row targets table (row 1)."""
    clean = {k: v for k, v in cells.items() if k in TARGET_COLUMNS}
    return Table(source, tuple(clean), (Row(1, dict(clean)),), header_row=0)


def target_cells(target: EffectiveTarget) -> list[str]:
    """One row of a targets file (what :func:`save_targets` reads back): set figures only."""
    f = target.figures

    def cell(name: str, text: str) -> str:
        return "" if name in f.defaults else text

    return [
        target.scope.value,
        target.scope_id,
        str(target.month),
        cell("revenue", f"{f.revenue:g}"),
        cell("visits_done", str(f.visits_done)),
        cell("coverage", f"{f.coverage * 100:g}"),
        cell("new_accounts", str(f.new_accounts)),
    ]
