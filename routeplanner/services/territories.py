"""Territory use cases: design and realign as proposals, apply one, locks, KPIs, history, exports.

A design or realignment computes *proposals* only (:func:`propose`); nothing is stored until
one option is applied (:func:`apply_option`), which replaces the whole territory set in one
transaction with an ownership record per changed account. An option is refused when the
territories changed after it was computed: its moves describe a split that no longer exists.

Accounts off the road network cannot enter a road-based design. One policy places them,
whoever asks (planning's first design, the territories page, ``territories design``):
:func:`place_off_network` gives each to its locked rep, else its current owner, else the
nearest rep holding its required qualifications (else simply the nearest), so no account
ever drops out of every territory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Literal

from routeplanner.assignment.rules import is_qualified
from routeplanner.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    Problem,
    RoadNetworkError,
)
from routeplanner.fanout import region_options
from routeplanner.io.territory_export import (
    Geometry,
    kpis_csv,
    territories_csv,
    territories_geojson,
)
from routeplanner.model import Account, Rep, Territory
from routeplanner.model.history import OwnershipCause, OwnershipRecord
from routeplanner.planner import JobMapper
from routeplanner.services.params import PARAMETERS, Params, limited, require_stored
from routeplanner.services.scope import Scope
from routeplanner.storage import Store, UnitOfWork
from routeplanner.territories.design import (
    DESIGN_TIME_LIMIT_S,
    OBJECTIVES,
    STARTS,
    DesignWeights,
    design_territories,
)
from routeplanner.territories.metrics import (
    AccountMove,
    KpiComparison,
    PlanKpis,
    TerritoryKpis,
    compute_kpis,
)
from routeplanner.territories.realign import REALIGN_TIME_LIMIT_S, realign_territories
from routeplanner.territories.regions import RegionMapper, RegionSettings
from routeplanner.territories.shapes import RoadCellLabels, TerritoryShape, territory_shapes
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.units import haversine_m

__all__ = [
    "DESIGN_TIME_LIMIT_S",
    "REALIGN_TIME_LIMIT_S",
    "AccountMove",
    "KpiComparison",
    "PlanKpis",
    "TerritoryKpis",
    "TerritoryShape",
]

Progress = Callable[[str, float], None]
JobKind = Literal["design", "realign"]
DEFAULT_HORIZON_DAYS = 28
MAX_TIME_LIMIT_S = 86_400.0
"""Longest a design or realignment may be given: a day; more is a typing error, not a wish."""
SERVER_TIME_LIMIT_S = 120.0
"""Longest a job started on the page or the API may run, and its default: it holds one of
the server's worker threads that long."""
MAX_WEIGHT = 100.0
"""Weights are relative: at 100 to 1 the smaller one no longer changes a design."""
NO_TERRITORIES = "no territories to realign; design first"


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignParams(Params):
    """What a design or realignment is asked: the same rules for the page, API and CLI.

    ``tolerance_pct`` is in percent (5 = ±5 %), as the page shows it. ``time_limit_s``
    bounds the whole job; ``None`` takes the method's own default (``DESIGN_TIME_LIMIT_S``,
    ``REALIGN_TIME_LIMIT_S``); a job the server runs has a lower bound
    (:class:`ServerDesignParams`). ``pins`` (account -> rep) and ``keep`` (territory ids)
    hold accounts and whole territories where they are, besides the territories locked in
    storage.
    """

    kind: JobKind = "design"
    horizon_days: int = limited(DEFAULT_HORIZON_DAYS, 1, 366)
    tolerance_pct: float = limited(5.0, 0.5, 50)
    max_moves: int | None = limited(None, 0, 1_000_000)
    move_penalty_s: float | None = limited(None, 0, 1_000_000)
    time_limit_s: float | None = limited(None, 0.5, MAX_TIME_LIMIT_S)
    workload_weight: float = limited(1.0, 0, MAX_WEIGHT)
    value_weight: float = limited(0.0, 0, MAX_WEIGHT)
    objective: str = "home"
    start: str = "auto"
    pins: tuple[tuple[str, str], ...] = ()
    keep: tuple[str, ...] = ()

    @classmethod
    def rules(cls, values: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = []
        if values["objective"] not in OBJECTIVES:
            found.append(("objective", f"must be one of {', '.join(OBJECTIVES)}"))
        if values["start"] not in STARTS:
            found.append(("start", f"must be one of {', '.join(STARTS)}"))
        if values["workload_weight"] == 0 and values["value_weight"] == 0:
            found.append(("workload_weight", "and the value weight are both 0"))
        return found

    @property
    def tolerance(self) -> float:
        return self.tolerance_pct / 100.0

    def weights(self) -> DesignWeights:
        return DesignWeights(
            objective=self.objective,
            start=self.start,
            workload=self.workload_weight,
            value=self.value_weight,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerDesignParams(DesignParams):
    """A design or realignment started on the page or the API: the whole job within
    ``SERVER_TIME_LIMIT_S``, which is also its default."""

    time_limit_s: float = limited(SERVER_TIME_LIMIT_S, 0.5, SERVER_TIME_LIMIT_S)


@dataclass(frozen=True, slots=True)
class TerritoryInputs:
    """Accounts, reps and the territories in force; ``from_store`` when the territories were
    read from the database (an option computed on them is refused once they change there).
    ``where`` names where the territories come from, in messages."""

    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    territories: tuple[Territory, ...]
    from_store: bool = True
    where: str = "the stored territories"
    scope: Scope = field(default_factory=Scope.everything)
    """Whose territories these are: a region's design or realignment moves only them."""


def stored_inputs(store: Store, scope: Scope) -> TerritoryInputs:
    """What is stored and ``scope`` sees (a manager's regions: only their territories,
    accounts and reps), read in one transaction; an InputError says what to import first."""
    with store.read("reading accounts, reps and territories") as tx:
        accounts, reps, territories = tx.accounts.all(), tx.reps.all(), tx.territories.all()
    if not scope.is_everything:
        accounts, reps = scope.accounts_of(accounts), scope.reps_of(reps)
        territories = scope.territories_of(territories)
    require_stored(accounts=accounts, reps=reps)
    return TerritoryInputs(tuple(accounts), tuple(reps), tuple(territories), scope=scope)


# -- accounts off the road network -------------------------------------------------------------


def split_reachable(
    travel: TravelTimeProvider, accounts: Sequence[Account]
) -> tuple[list[Account], list[Account]]:
    """Accounts on the road network and those off it (which a road-based design cannot take)."""
    if not accounts:
        return [], []
    snaps = travel.snap([(a.account_id, a.location) for a in accounts]).by_id()
    on = [a for a in accounts if snaps[a.account_id].reachable]
    off = [a for a in accounts if not snaps[a.account_id].reachable]
    return on, off


def _owner_map(territories: Sequence[Territory]) -> dict[str, str | None]:
    return {aid: t.rep_id for t in territories for aid in t.account_ids}


def off_network_rep(
    account: Account,
    candidates: Sequence[Rep],
    *,
    owner: str | None = None,
    pinned: str | None = None,
) -> str | None:
    """The rep an account off the road network goes to, among ``candidates`` (the reps with a
    territory): its lock (``pinned`` overrides the stored one), else its current ``owner``,
    else the nearest rep holding its required qualifications, else simply the nearest."""
    ids = {r.rep_id for r in candidates}
    for choice in (pinned, account.locked_rep_id, owner):
        if choice is not None and choice in ids:
            return choice
    if not candidates:
        return None
    able = [
        r for r in candidates if is_qualified(account.required_qualifications, r.qualifications)
    ]
    nearest = min(
        able or candidates,
        key=lambda r: haversine_m(
            account.location.lat, account.location.lon, r.home.lat, r.home.lon
        ),
    )
    return nearest.rep_id


def place_off_network(
    territories: Sequence[Territory],
    off: Sequence[Account],
    reps: Sequence[Rep],
    *,
    base: Sequence[Territory] = (),
    pins: Mapping[str, str] | None = None,
) -> tuple[Territory, ...]:
    """``territories`` with every account of ``off`` added by :func:`off_network_rep`
    (owners from ``base``, the split in force)."""
    by_rep = {t.rep_id: i for i, t in enumerate(territories) if t.rep_id is not None}
    candidates = [r for r in reps if r.rep_id in by_rep]
    owner, pins = _owner_map(base), pins or {}
    extra: dict[int, list[str]] = {}
    for account in off:
        aid = account.account_id
        rep_id = off_network_rep(account, candidates, owner=owner.get(aid), pinned=pins.get(aid))
        if rep_id is not None:
            extra.setdefault(by_rep[rep_id], []).append(aid)
    return tuple(
        replace(t, account_ids=t.account_ids + tuple(extra.get(i, ())))
        for i, t in enumerate(territories)
    )


def _off_network_note(off: Sequence[Account]) -> str:
    ids = [a.account_id for a in off]
    more = " …" if len(ids) > 10 else ""
    return (
        f"{len(ids)} account(s) off the road network keep their locked rep or owner, or go to "
        f"the nearest one: {', '.join(ids[:10])}{more}"
    )


# -- proposals -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposalOption:
    """One choice a manager can apply: the full territory set to store and its figures."""

    label: str
    territories: tuple[Territory, ...]
    kpis: PlanKpis
    before: PlanKpis | None
    moves: tuple[AccountMove, ...]
    moved_accounts: int
    within_tolerance: bool
    comparison: KpiComparison | None = None

    @property
    def new_accounts(self) -> int:
        """Accounts that had no (remaining) owner and are given one; not counted as moves."""
        return len(self.moves) - self.moved_accounts


@dataclass
class Proposal:
    """What a design or realignment offers; ``applied`` is the 1-based option stored."""

    kind: JobKind
    options: tuple[ProposalOption, ...]
    base: tuple[Territory, ...]
    notes: tuple[str, ...] = ()
    from_store: bool = True
    applied: int | None = None
    applied_by: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    scope: Scope = field(default_factory=Scope.everything)
    """The scope it was computed in: applying it replaces only that scope's territories."""


def _moves(
    base: Sequence[Territory],
    new: Sequence[Territory],
    reps: Sequence[Rep],
    only: set[str] | None = None,
) -> tuple[tuple[AccountMove, ...], int]:
    """Owner changes from ``base`` to ``new`` (of the ``only`` accounts, if given), and how
    many count as moves: an account whose rep left, or that had none, is not a move."""
    old = _owner_map(base)
    staying = {r.rep_id for r in reps}
    moves = []
    for t in new:
        for aid in t.account_ids:
            before = old.get(aid)
            if t.rep_id is None or before == t.rep_id or (only is not None and aid not in only):
                continue
            forced = before is not None and before not in staying
            moves.append(
                AccountMove(account_id=aid, from_rep=before, to_rep=t.rep_id, forced=forced)
            )
    return tuple(moves), sum(1 for m in moves if m.from_rep is not None and not m.forced)


def kept_territories(params: DesignParams, inputs: TerritoryInputs) -> list[Territory]:
    """Territories a design leaves as they are: the locked ones and those named in ``keep``,
    of reps still there.

    Raises
    ------
    InputError
        ``keep`` names a territory that is not in the inputs (field ``keep``).
    """
    known_ids = {t.territory_id for t in inputs.territories}
    unknown = [k for k in params.keep if k not in known_ids]
    if unknown:
        raise InputError(
            [
                Problem(PARAMETERS, None, "keep", f"no territory {k} in {inputs.where}")
                for k in unknown
            ]
        )
    reps = {r.rep_id for r in inputs.reps}
    return [
        replace(t, locked=True)
        for t in inputs.territories
        if (t.locked or t.territory_id in params.keep) and t.rep_id in reps
    ]


def _time_limit(params: DesignParams) -> dict[str, Any]:
    """The job's limit asked for, if any; without one the method's own default holds."""
    return {} if params.time_limit_s is None else {"time_limit_s": params.time_limit_s}


def _design(
    inputs: TerritoryInputs,
    on: list[Account],
    off: list[Account],
    travel: TravelTimeProvider,
    params: DesignParams,
    progress: Progress,
    jobs: JobMapper | None,
    sizes: RegionSettings | None,
) -> tuple[list[ProposalOption], list[str]]:
    base, reps = inputs.territories, inputs.reps
    before = None
    if base:
        progress("KPIs of the current territories", 0.02)
        before = compute_kpis(
            base, on, reps, travel, horizon_days=params.horizon_days, regions=sizes
        )
    present = {a.account_id for a in on}
    pins = {a: r for a, r in params.pins if a in present}
    regions, map_regions = _region_options(jobs, travel, sizes)
    plan = design_territories(
        on,
        reps,
        travel,
        horizon_days=params.horizon_days,
        tolerance=params.tolerance,
        locked=pins,
        locked_territories=[
            replace(t, account_ids=tuple(a for a in t.account_ids if a in present))
            for t in kept_territories(params, inputs)
        ],
        weights=params.weights(),
        **_time_limit(params),
        progress=progress,
        regions=regions,
        map_regions=map_regions,
    )
    territories = place_off_network(plan.territories, off, reps, base=base, pins=dict(params.pins))
    moves, moved = _moves(base, territories, reps)
    option = ProposalOption(
        label="new design",
        territories=territories,
        kpis=plan.kpis,
        before=before,
        moves=moves,
        moved_accounts=moved,
        within_tolerance=plan.within_tolerance,
    )
    return [option], list(plan.notes)


def _realign(
    inputs: TerritoryInputs,
    on: list[Account],
    off: list[Account],
    travel: TravelTimeProvider,
    params: DesignParams,
    progress: Progress,
    jobs: JobMapper | None,
    sizes: RegionSettings | None,
) -> tuple[list[ProposalOption], list[str]]:
    base, reps = inputs.territories, inputs.reps
    if not base:
        raise InputError(Problem("territories", None, None, NO_TERRITORIES))
    regions, map_regions = _region_options(jobs, travel, sizes)
    found = realign_territories(
        base,
        on,
        reps,
        travel,
        max_moves=params.max_moves,
        move_penalty=params.move_penalty_s,
        horizon_days=params.horizon_days,
        tolerance=params.tolerance,
        weights=params.weights(),
        **_time_limit(params),
        progress=progress,
        regions=regions,
        map_regions=map_regions,
    )
    options: list[ProposalOption] = []
    seen: set[tuple[Territory, ...]] = set()
    off_ids = {a.account_id for a in off}
    for opt in found:
        if opt.territories in seen:
            continue  # two limits that led to the same split: offer it once
        seen.add(opt.territories)
        territories = place_off_network(opt.territories, off, reps, base=base)
        extra, extra_moved = _moves(base, territories, reps, only=off_ids)
        options.append(
            ProposalOption(
                label=opt.label,
                territories=territories,
                kpis=opt.kpis,
                before=opt.comparison.before,
                moves=opt.comparison.moves + extra,
                moved_accounts=opt.moved_accounts + extra_moved,
                within_tolerance=opt.within_tolerance,
                comparison=opt.comparison,
            )
        )
    notes = list(dict.fromkeys(n for opt in found for n in opt.notes))
    if not options:
        notes.append("no option could meet the move limit with the locks")
    return options, notes


def _region_options(
    jobs: JobMapper | None, travel: TravelTimeProvider, sizes: RegionSettings | None
) -> tuple[RegionSettings | None, RegionMapper | None]:
    """Where an organisation-scale design or realignment runs its region jobs (where ``jobs``
    runs territory jobs), with ``sizes`` (when given) deciding when regions apply and how
    large they are."""
    regions, map_regions = region_options(jobs, travel)
    if sizes is not None:
        parallel = regions.parallel if regions is not None else sizes.parallel
        regions = replace(sizes, parallel=parallel)
    return regions, map_regions


def propose(
    inputs: TerritoryInputs,
    travel: TravelTimeProvider,
    params: DesignParams,
    progress: Progress | None = None,
    *,
    jobs: JobMapper | None = None,
    regions: RegionSettings | None = None,
) -> Proposal:
    """Design (one option) or realign (options from "stable" to "fair") ``inputs``; nothing
    is stored. ``progress`` may raise :class:`~routeplanner.errors.JobCancelledError`. An
    organisation-scale design or realignment runs its region jobs where ``jobs`` runs
    territory jobs; ``regions`` overrides when that scale starts and how large regions are.

    Raises
    ------
    InputError
        Nothing to realign, an unknown territory to keep, or what the design method refuses
        (bad pins, locked workload beyond a rep's capacity).
    """
    report = progress or _no_progress
    report("snapping accounts to the road network", 0.0)
    on, off = split_reachable(travel, inputs.accounts)
    if params.kind == "design":
        options, notes = _design(inputs, on, off, travel, params, report, jobs, regions)
    else:
        options, notes = _realign(inputs, on, off, travel, params, report, jobs, regions)
    if off:
        notes.insert(0, _off_network_note(off))
    return Proposal(
        kind=params.kind,
        options=tuple(options),
        base=inputs.territories,
        notes=tuple(notes),
        from_store=inputs.from_store,
        scope=inputs.scope,
    )


def _no_progress(_message: str, _fraction: float) -> None:
    """Progress nobody follows."""


def pick(
    proposal: Proposal, option: int, *, name: str, source: str = "apply", field_name: str = "option"
) -> ProposalOption:
    """Option ``option`` (1-based) of ``proposal`` (called ``name`` in the message), or an
    InputError naming the options there are."""
    if not 1 <= option <= len(proposal.options):
        message = f"{name} has options 1..{len(proposal.options)}, not {option}"
        raise InputError(Problem(source, None, field_name, message))
    return proposal.options[option - 1]


def apply_option(
    store: Store, proposal: Proposal, option: int, *, user: str, name: str, via: str
) -> ProposalOption:
    """Store option ``option`` (1-based) as the current territories, with ownership history
    (cause ``realignment``; the detail starts with ``via``, such as ``web design job 3``).
    ``name`` is what messages call the proposal (``job 3``).

    Raises
    ------
    InputError
        No such option (field ``option``).
    ConflictError
        An option of this proposal was applied already, or (for a proposal computed on the
        stored territories) they changed since.
    """
    picked = pick(proposal, option, name=name)
    with proposal.lock:
        if proposal.applied is not None:
            msg = f"option {proposal.applied} of {name} was applied"
            raise ConflictError(msg)
        detail = (
            f"{via} option {option}: {picked.label}, {picked.moved_accounts} moved, "
            f"max dev {picked.kpis.max_workload_dev_pct:.1f} %"
        )
        scope = proposal.scope
        with store.transaction("applying a territory option") as tx:
            current = tx.territories.all()
            if proposal.from_store and tuple(scope.territories_of(current)) != proposal.base:
                msg = "the territories changed since this job started; run it again"
                raise ConflictError(msg)
            others = [t for t in current if not scope.sees_territory(t.territory_id)]
            save_territories(
                tx,
                [*others, *picked.territories],
                cause=OwnershipCause.REALIGNMENT,
                user=user,
                detail=detail,
            )
            if not scope.is_everything:
                _keep_in_regions(tx, scope, proposal.base, picked.territories)
        proposal.applied, proposal.applied_by = option, user
    return picked


def _keep_in_regions(
    tx: UnitOfWork, scope: Scope, base: Sequence[Territory], new: Sequence[Territory]
) -> None:
    """Put the territories a region's design created into a region of ``scope``: the one
    that held the rep's territory before, else the first; otherwise the manager who made them
    could no longer see them."""
    regions = tx.regions.all()
    region_of = {t: r.region_id for r in regions for t in r.territory_ids}
    mine = sorted(scope.regions or ())
    if not mine:
        return
    by_rep = {t.rep_id: region_of.get(t.territory_id) for t in base}
    placed = {
        t.territory_id: by_rep.get(t.rep_id) or mine[0]
        for t in new
        if t.territory_id not in region_of
    }
    if placed:
        tx.regions.place(placed)


def save_territories(
    tx: UnitOfWork,
    territories: Sequence[Territory],
    *,
    cause: OwnershipCause,
    user: str,
    detail: str,
) -> None:
    """Store ``territories`` as the whole current set, recording every ownership change.

    A territory without a segment keeps the one stored under its id: a design knows nothing
    of segments, and assignment rules targeting a segment must keep their targets.
    """
    stored = {t.territory_id: t.segment for t in tx.territories.all()}
    kept = [
        t if t.segment else replace(t, segment=stored.get(t.territory_id, "")) for t in territories
    ]
    tx.territories.save(kept, cause=cause, user=user, detail=detail, replace_all=True)


# -- the split in force ----------------------------------------------------------------------------


def set_lock(
    store: Store, territory_id: str, locked: bool, *, user: str, scope: Scope
) -> Territory:
    """Lock or unlock one territory (realignment then leaves a locked one exactly as it is).

    Raises
    ------
    NotFoundError
        No territory ``territory_id`` (or none in ``scope``).
    """
    scope.territory(territory_id)
    with store.transaction("locking a territory") as tx:
        current = {t.territory_id: t for t in tx.territories.all()}
        territory = current.get(territory_id)
        if territory is None:
            msg = f"territory {territory_id!r} not found"
            raise NotFoundError(msg)
        changed = replace(territory, locked=locked)
        if changed != territory:
            tx.territories.save(
                [changed],
                cause=OwnershipCause.MANUAL,
                user=user,
                detail=f"territory {'locked' if locked else 'unlocked'}",
            )
    return changed


def history(store: Store, account_id: str) -> list[OwnershipRecord]:
    """Who owned an account when, and why, oldest first.

    Raises
    ------
    NotFoundError
        No ownership was ever recorded for the account.
    """
    records = store.territories.ownership_history(account_id)
    if not records:
        msg = f"no ownership history for {account_id}"
        raise NotFoundError(msg)
    return records


@dataclass(frozen=True, slots=True)
class CapacityBasis:
    """Which days the capacity on the territories page counts, so a manager can compare it
    with the plan's coverage: the current plan's horizon with the days the plan cannot use
    (absences, public holidays), or, before the first plan, a typical period without them."""

    days: int
    start: date | None = None
    plan_id: int | None = None
    days_off: Mapping[str, int] = field(default_factory=dict)
    """Working days lost per rep id in the period (absences and public holidays)."""

    @property
    def end(self) -> date | None:
        return self.start + timedelta(days=self.days - 1) if self.start is not None else None


@dataclass(frozen=True, slots=True)
class Overview:
    """The current territories and their KPIs (``None`` with a reason when not computable)."""

    territories: tuple[Territory, ...]
    kpis: PlanKpis | None
    kpi_error: str
    accounts: tuple[Account, ...]
    reps: tuple[Rep, ...]
    off_network: tuple[str, ...]
    """Accounts left out of the KPIs because they are not reachable on the road network."""
    basis: CapacityBasis = field(default_factory=lambda: CapacityBasis(DEFAULT_HORIZON_DAYS))
    areas: tuple[TerritoryShape | None, ...] = ()
    """Each territory's area (see :func:`areas`), in the order of ``territories``."""

    def on_network(self) -> tuple[Account, ...]:
        """The accounts the KPIs and areas count: those reachable on the road network."""
        off = set(self.off_network)
        return tuple(a for a in self.accounts if a.account_id not in off)


class KpiMemo:
    """KPIs and snaps memoised on exactly their inputs: a page that reloads every 2 s while a
    job runs would otherwise recompute the road-time matrix each time, competing with the job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kpis: tuple[object, PlanKpis] | None = None
        self._split: tuple[object, tuple[list[Account], list[Account]]] | None = None
        self._areas: tuple[object, tuple[TerritoryShape | None, ...]] | None = None

    def split(
        self, travel: TravelTimeProvider, accounts: Sequence[Account]
    ) -> tuple[list[Account], list[Account]]:
        key = (id(travel), tuple(accounts))
        with self._lock:
            if self._split is not None and self._split[0] == key:
                return self._split[1]
        found = split_reachable(travel, accounts)
        with self._lock:
            self._split = (key, found)
        return found

    def kpis(
        self,
        travel: TravelTimeProvider,
        territories: Sequence[Territory],
        accounts: Sequence[Account],
        reps: Sequence[Rep],
        horizon_days: int,
        start: date | None = None,
    ) -> PlanKpis:
        key = (id(travel), tuple(territories), tuple(accounts), tuple(reps), horizon_days, start)
        with self._lock:
            if self._kpis is not None and self._kpis[0] == key:
                return self._kpis[1]
        kpis = compute_kpis(
            territories, accounts, reps, travel, horizon_days=horizon_days, start=start
        )
        with self._lock:
            self._kpis = (key, kpis)
        return kpis

    def areas(
        self,
        travel: TravelTimeProvider | None,
        territories: Sequence[Territory],
        accounts: Sequence[Account],
    ) -> tuple[TerritoryShape | None, ...]:
        key = (id(travel), tuple(territories), tuple(accounts))
        with self._lock:
            if self._areas is not None and self._areas[0] == key:
                return self._areas[1]
        found = areas(territories, accounts, travel)
        with self._lock:
            self._areas = (key, found)
        return found


def areas(
    territories: Sequence[Territory],
    accounts: Sequence[Account],
    travel: TravelTimeProvider | None,
) -> tuple[TerritoryShape | None, ...]:
    """Each territory's area (the union of its accounts' road cells; without a road network
    the accounts' plain Voronoi), in the order of ``territories``; ``None`` for a territory
    none of whose ``accounts`` are given. Areas never overlap. Pass the accounts on the
    road network: one far off it would stretch its territory over everything between."""
    index = {aid: k for k, t in enumerate(territories) for aid in t.account_ids}
    owner = [index.get(a.account_id, -1) for a in accounts]
    cells = travel if isinstance(travel, RoadCellLabels) else None
    shapes = territory_shapes([a.location for a in accounts], owner, len(territories), cells)
    return tuple(shapes)


def capacity_basis(
    store: Store, reps: Sequence[Rep], holidays: frozenset[date]
) -> tuple[CapacityBasis, tuple[Rep, ...]]:
    """The period the territories' capacity is counted over, and the reps as the planner sees
    them there (public holidays added to their days off): the current plan's horizon when
    there is a plan, so capacity and the plan's coverage come from the same working days."""
    current = store.plans.current_id()
    if current is None:
        return CapacityBasis(DEFAULT_HORIZON_DAYS), tuple(reps)
    horizon = store.plans.info(current).horizon
    days = list(horizon.days())
    planned = tuple(replace(r, days_off=r.days_off | holidays) for r in reps)
    lost = {
        r.rep_id: sum(1 for d in days if d in r.days_off and r.working_hours.on(d.weekday()))
        for r in planned
    }
    basis = CapacityBasis(len(days), horizon.start, current, lost)
    return basis, planned


def overview(
    store: Store,
    travel: Callable[[], TravelTimeProvider],
    *,
    scope: Scope,
    memo: KpiMemo | None = None,
    holidays: frozenset[date] = frozenset(),
) -> Overview:
    """The stored territories ``scope`` sees with KPIs on the road network over the accounts
    on it; a reason instead of KPIs when there is no road network or nothing to measure.
    Capacity is counted over :func:`capacity_basis`."""
    memo = memo or KpiMemo()
    with store.read("reading the territories") as tx:
        territories = tuple(scope.territories_of(tx.territories.all()))
        accounts = tuple(scope.accounts_of(tx.accounts.all()))
        reps = tuple(scope.reps_of(tx.reps.all()))
    basis, planned = capacity_basis(store, reps, holidays)
    kpis: PlanKpis | None = None
    error = ""
    provider: TravelTimeProvider | None = None
    on, off = list(accounts), list[Account]()
    if not territories:
        error = "No territories yet: design them from scratch below."
    else:
        try:
            provider = travel()
            on, off = memo.split(provider, accounts)
            kpis = memo.kpis(provider, territories, on, planned, basis.days, basis.start)
        except (RoadNetworkError, InputError) as exc:
            error = str(exc)
    shapes = memo.areas(provider, territories, on) if territories else ()
    offs = tuple(a.account_id for a in off)
    return Overview(territories, kpis, error, accounts, reps, offs, basis, shapes)


def areas_geojson(
    territories: Sequence[Territory],
    accounts: Sequence[Account],
    travel: TravelTimeProvider,
    *,
    kpis: PlanKpis | None = None,
) -> dict[str, Any]:
    """GeoJSON of the territories' areas over the accounts on the road network, with KPIs as
    properties: the territories page's export, for the command line."""
    on, _ = split_reachable(travel, accounts)
    shapes = areas(territories, on, travel)
    return territories_geojson(territories, accounts, kpis=kpis, geometry="area", areas=shapes)


def areas_for(
    view: Overview,
    territories: Sequence[Territory],
    travel: Callable[[], TravelTimeProvider],
    memo: KpiMemo | None = None,
) -> tuple[TerritoryShape | None, ...]:
    """The areas of ``territories`` (the current ones, or an option being previewed) over the
    accounts ``view`` counts on the road network."""
    if tuple(territories) == view.territories and view.areas:
        return view.areas
    try:
        provider: TravelTimeProvider | None = travel()
    except RoadNetworkError:
        provider = None
    if memo is None:
        return areas(territories, view.on_network(), provider)
    return memo.areas(provider, territories, view.on_network())


def kpis_of(
    inputs: TerritoryInputs,
    travel: TravelTimeProvider,
    *,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> tuple[PlanKpis, tuple[str, ...]]:
    """KPIs of ``inputs.territories`` over the accounts on the road network, and the ids of
    those left out (off the network), as :func:`overview` computes them."""
    on, off = split_reachable(travel, inputs.accounts)
    kpis = compute_kpis(inputs.territories, on, inputs.reps, travel, horizon_days=horizon_days)
    return kpis, tuple(a.account_id for a in off)


ExportKind = Literal["area", "hull", "points", "accounts", "kpis"]


def export(view: Overview, what: ExportKind) -> tuple[str, str, str]:
    """A download of the territories: (file name, media type, text). ``area``/``hull``/
    ``points``: GeoJSON for QGIS (areas that do not overlap, convex hulls, or one point per
    account); ``accounts``: account-territory CSV; ``kpis``: one CSV row per territory
    (header only without KPIs)."""
    if what in ("area", "hull", "points"):
        shape: Geometry = "points" if what == "points" else "hull" if what == "hull" else "area"
        data = territories_geojson(
            view.territories, view.accounts, kpis=view.kpis, geometry=shape, areas=view.areas
        )
        text = json.dumps(data, ensure_ascii=False, indent=1)
        return f"territories-{shape}.geojson", "application/geo+json; charset=utf-8", text
    if what == "kpis":
        text = kpis_csv(view.kpis) if view.kpis is not None else "territory_id\n"
        return "territory-kpis.csv", "text/csv; charset=utf-8", text
    return (
        "territories.csv",
        "text/csv; charset=utf-8",
        territories_csv(view.territories, view.accounts),
    )
