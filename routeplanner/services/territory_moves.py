"""Move selected accounts to another territory by hand, with before/after KPIs.

A manager selects accounts on the map (or in the list) and picks a target territory;
:func:`move_accounts` answers what the split would look like (workload and value deviation,
travel, enclaves, qualification conflicts) and, unless it is a dry run, stores the moves in
one transaction with an ownership record per moved account (cause ``manual``, the user and
what was moved), as a realignment stores its option. A rep lacking a qualification an
account requires may still be given it (a manager may know better), but every such move is
reported; accounts locked to another rep and locked territories are refused, as realignment
leaves them alone too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from routeplanner.assignment.rules import is_qualified
from routeplanner.errors import ConflictError, InputError, Problem, RoadNetworkError
from routeplanner.model import Account, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.scope import Scope
from routeplanner.services.territories import (
    AccountMove,
    KpiMemo,
    PlanKpis,
    capacity_basis,
)
from routeplanner.storage import Store
from routeplanner.territories.metrics import compute_kpis
from routeplanner.travel.provider import TravelTimeProvider

MAX_MOVE_ACCOUNTS = 10_000
"""Most accounts one request may move: more is a runaway selection, not a manager's choice."""
SOURCE = "moves"
TARGET = "target_territory"


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveFigures:
    """The figures a manager weighs before moving: deviation, travel, enclaves, conflicts."""

    kpis: PlanKpis | None
    qualification_conflicts: tuple[str, ...]
    """Accounts whose rep lacks a qualification the account requires."""

    @property
    def max_workload_dev_pct(self) -> float | None:
        return self.kpis.max_workload_dev_pct if self.kpis is not None else None

    @property
    def max_value_dev_pct(self) -> float | None:
        return self.kpis.max_value_dev_pct if self.kpis is not None else None

    @property
    def mean_travel_to_home_s(self) -> float | None:
        return self.kpis.mean_travel_to_home_s if self.kpis is not None else None

    @property
    def drive_h(self) -> float | None:
        return sum(t.drive_h for t in self.kpis.territories) if self.kpis is not None else None

    @property
    def enclave_accounts(self) -> int | None:
        return self.kpis.contiguity_violations if self.kpis is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class MoveResult:
    """What moving the selection does; ``applied`` when it was stored."""

    target: Territory
    moves: tuple[AccountMove, ...]
    unqualified: tuple[tuple[str, tuple[str, ...]], ...]
    """(account id, qualifications the target's rep lacks) for every move that lacks some."""
    already_there: tuple[str, ...]
    before: MoveFigures
    after: MoveFigures
    territories: tuple[Territory, ...]
    """The whole split after the moves."""
    applied: bool
    kpi_error: str = ""


def _problem(message: str, field: str = "account_ids") -> Problem:
    return Problem(SOURCE, None, field, message)


def _selection(
    account_ids: Sequence[str],
    target_territory: str,
    accounts: Sequence[Account],
    territories: Sequence[Territory],
) -> tuple[Territory, list[str]]:
    """The target and the selected accounts (duplicates dropped), after refusing every
    problem at once: an empty or oversized selection, unknown ids, an unknown, rep-less or
    locked target, accounts in a locked territory or locked to another rep."""
    chosen = list(dict.fromkeys(a.strip() for a in account_ids if a.strip()))
    if not chosen:
        raise InputError(_problem("select at least one account"))
    if len(chosen) > MAX_MOVE_ACCOUNTS:
        raise InputError(_problem(f"at most {MAX_MOVE_ACCOUNTS} accounts at once"))
    by_id = {t.territory_id: t for t in territories}
    target = by_id.get(target_territory)
    problems = []
    if target is None:
        problems.append(_problem(f"no territory {target_territory!r}", TARGET))
    elif target.rep_id is None:
        problems.append(_problem(f"territory {target.territory_id} has no rep", TARGET))
    elif target.locked:
        problems.append(
            _problem(f"territory {target.territory_id} is locked; unlock it first", TARGET)
        )
    known = {a.account_id: a for a in accounts}
    home = {aid: t for t in territories for aid in t.account_ids}
    for aid in chosen:
        account = known.get(aid)
        if account is None:
            problems.append(_problem(f"no account {aid!r}"))
            continue
        source = home.get(aid)
        if source is not None and source is not target and source.locked:
            problems.append(_problem(f"account {aid} is in locked territory {source.territory_id}"))
        lock = account.locked_rep_id
        if lock is not None and target is not None and lock != target.rep_id:
            problems.append(_problem(f"account {aid} is locked to rep {lock}"))
    if problems:
        raise InputError(problems)
    assert target is not None
    return target, chosen


def moved_split(
    territories: Sequence[Territory], target: Territory, chosen: Sequence[str]
) -> tuple[tuple[Territory, ...], tuple[AccountMove, ...], tuple[str, ...]]:
    """The split with ``chosen`` in ``target``, the moves, and the accounts already there."""
    assert target.rep_id is not None
    owner = {aid: t for t in territories for aid in t.account_ids}
    already = tuple(a for a in chosen if owner.get(a) is target)
    moving = [a for a in chosen if owner.get(a) is not target]
    leaving = set(moving)
    split = []
    for t in territories:
        kept = tuple(a for a in t.account_ids if a not in leaving)
        if t is target:
            kept += tuple(moving)
        split.append(replace(t, account_ids=kept) if kept != t.account_ids else t)
    moves = tuple(
        AccountMove(
            account_id=a,
            from_rep=owner[a].rep_id if a in owner else None,
            to_rep=target.rep_id,
        )
        for a in moving
    )
    return tuple(split), moves, already


def qualification_conflicts(
    territories: Sequence[Territory], accounts: Sequence[Account], reps: Sequence[Rep]
) -> tuple[str, ...]:
    """Accounts owned by a rep lacking a qualification they require, in account order."""
    rep_by_id = {r.rep_id: r for r in reps}
    owner = {aid: t.rep_id for t in territories for aid in t.account_ids}
    found = []
    for a in accounts:
        rep = rep_by_id.get(owner.get(a.account_id) or "")
        if rep is not None and not is_qualified(a.required_qualifications, rep.qualifications):
            found.append(a.account_id)
    return tuple(found)


def _lacking(account: Account, rep: Rep | None) -> tuple[str, ...]:
    have = {q.strip().casefold() for q in rep.qualifications} if rep is not None else set()
    return tuple(
        sorted(q for q in account.required_qualifications if q.strip().casefold() not in have)
    )


def _figures(
    split: Sequence[Territory],
    accounts: Sequence[Account],
    reps: Sequence[Rep],
    kpis: Callable[[Sequence[Territory]], PlanKpis | None],
) -> MoveFigures:
    return MoveFigures(
        kpis=kpis(split), qualification_conflicts=qualification_conflicts(split, accounts, reps)
    )


def move_accounts(
    store: Store,
    account_ids: Sequence[str],
    target_territory: str,
    user: str,
    dry_run: bool,
    *,
    travel: Callable[[], TravelTimeProvider],
    scope: Scope,
    holidays: frozenset[date] = frozenset(),
    memo: KpiMemo | None = None,
) -> MoveResult:
    """Move ``account_ids`` into territory ``target_territory``: the before/after figures
    and, unless ``dry_run``, the moves stored with ownership history (cause ``manual``,
    ``user``). KPIs count the accounts on the road network over the same working days as the
    territories page; without a road network they are left out (``kpi_error``) and the move
    still works.

    A manager scoped to regions sees the figures of their territories only and may move
    accounts only between them.

    Raises
    ------
    NotFoundError
        A target territory outside ``scope``.
    PermissionDeniedError
        An account outside ``scope``.
    InputError
        Every problem of the selection at once (see :func:`_selection`).
    ConflictError
        The territories changed while the figures were computed (nothing is stored).
    """
    memo = memo or KpiMemo()
    scope.territory(target_territory)
    scope.accounts_all(account_ids, "moving accounts")
    with store.read("reading accounts, reps and territories") as tx:
        accounts = tuple(scope.accounts_of(tx.accounts.all()))
        reps = tuple(scope.reps_of(tx.reps.all()))
        territories = tuple(scope.territories_of(tx.territories.all()))
    target, chosen = _selection(account_ids, target_territory, accounts, territories)
    split, moves, already = moved_split(territories, target, chosen)
    basis, planned = capacity_basis(store, reps, holidays)
    error = ""

    def kpis(of: Sequence[Territory]) -> PlanKpis | None:
        # The current split's KPIs are usually memoised by the territories page; the moved
        # split's are not kept, so they do not push those out.
        nonlocal error
        try:
            provider = travel()
            on, _ = memo.split(provider, accounts)
            if of is territories:
                return memo.kpis(provider, of, on, planned, basis.days, basis.start)
            return compute_kpis(
                of, on, planned, provider, horizon_days=basis.days, start=basis.start
            )
        except (RoadNetworkError, InputError) as exc:
            error = str(exc)
            return None

    rep_by_id = {r.rep_id: r for r in reps}
    by_id = {a.account_id: a for a in accounts}
    unqualified = tuple(
        (m.account_id, lack)
        for m in moves
        if (lack := _lacking(by_id[m.account_id], rep_by_id.get(m.to_rep)))
    )
    result = MoveResult(
        target=target,
        moves=moves,
        unqualified=unqualified,
        already_there=already,
        before=_figures(territories, accounts, reps, kpis),
        after=_figures(split, accounts, reps, kpis),
        territories=split,
        applied=False,
        kpi_error=error,
    )
    if dry_run or not moves:
        return result
    _store_moves(store, territories, split, result, user, scope)
    return replace(result, applied=True)


def _store_moves(
    store: Store,
    base: tuple[Territory, ...],
    split: tuple[Territory, ...],
    result: MoveResult,
    user: str,
    scope: Scope,
) -> None:
    changed = [t for t, before in zip(split, base, strict=True) if t is not before]
    ids = ", ".join(m.account_id for m in result.moves[:10])
    more = " …" if len(result.moves) > 10 else ""
    detail = f"moved by hand to {result.target.territory_id}: {ids}{more}"
    with store.transaction("moving accounts") as tx:
        if tuple(scope.territories_of(tx.territories.all())) != base:
            msg = "the territories changed meanwhile; look at the new split and move again"
            raise ConflictError(msg)
        tx.territories.save(changed, cause=OwnershipCause.MANUAL, user=user, detail=detail)
