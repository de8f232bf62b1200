"""Territories from the browser: KPIs of the current split, design/realign jobs, apply an option.

Design and realignment run as background :class:`TerritoryJobs` (the plan page's job pattern:
progress, cooperative cancel, one at a time). A finished job holds *proposals* only; nothing
is stored until the manager applies one option, which replaces the whole territory set in one
transaction with an ownership record per changed account (cause ``realignment``, changed by the
logged-in user). An option is refused when the territories changed after its job started
(someone applied another option, or locked a territory), since its moves were computed against
a split that no longer exists.

Accounts that are off the road network cannot enter a road-based design; they stay with their
current rep (or go to the nearest rep) so an apply never drops them from every territory, the
same rule :func:`routeplanner.workflows.ensure_territories` uses.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from fastapi import HTTPException

from routeplanner.errors import InputError, Problem, RoadNetworkError
from routeplanner.model import Account, Rep, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.storage.records import UserRecord
from routeplanner.territories.design import DesignWeights, design_territories
from routeplanner.territories.metrics import AccountMove, PlanKpis, compute_kpis
from routeplanner.territories.realign import realign_territories
from routeplanner.units import haversine_m
from routeplanner.web.replan import Job, Jobs
from routeplanner.web.services import Services

DEFAULT_HORIZON_DAYS = 28
MAX_TIME_LIMIT_S = 120.0
MAX_VALUE_WEIGHT = 100.0


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


@dataclass(frozen=True, slots=True)
class ProposalOption:
    """One choice the manager can apply: the full territory set to store and its figures."""

    label: str
    territories: tuple[Territory, ...]
    kpis: PlanKpis
    before: PlanKpis | None
    moves: tuple[AccountMove, ...]
    moved_accounts: int
    within_tolerance: bool

    @property
    def new_accounts(self) -> int:
        """Accounts that had no (remaining) owner and are given one; not counted as moves."""
        return len(self.moves) - self.moved_accounts


@dataclass
class Proposal:
    """What a finished job offers; ``applied`` is the 1-based option stored, once applied."""

    kind: str  # design | realign
    options: tuple[ProposalOption, ...]
    base: tuple[Territory, ...]
    notes: tuple[str, ...] = ()
    applied: int | None = None
    applied_by: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


TerritoryJob = Job[Proposal]


class TerritoryJobs(Jobs[Proposal]):
    """Design and realignment runs of one app (one at a time); ``params`` by job id.

    A job's options only mean something next to what was asked (a tolerance, a move cap, a
    value weight), so the page and the API show the parameters with them.
    """

    def __init__(self, max_jobs: int = 50) -> None:
        super().__init__(max_jobs)
        self.params: dict[int, JobParams] = {}

    def kind(self, job_id: int) -> str:
        """``design`` or ``realign`` ("" for a job this registry no longer knows)."""
        params = self.params.get(job_id)
        return params.kind if params is not None else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobParams:
    """Validated inputs of a design or realignment run."""

    kind: str
    horizon_days: int = DEFAULT_HORIZON_DAYS
    tolerance: float = 0.05
    max_moves: int | None = None
    move_penalty_s: float | None = None
    time_limit_s: float = 10.0
    value_weight: float = 0.0
    """Weight of account value (potential) beside workload (weight 1) in what is balanced."""


def parse_params(kind: str, fields: dict[str, str | None], *, source: str) -> JobParams:
    """Validate form or JSON values (as text); every problem at once as an :class:`InputError`.

    ``tolerance`` is given in percent (5 = ±5 %), as the page shows it.
    """
    problems: list[Problem] = []
    if kind not in ("design", "realign"):
        problems.append(Problem(source, None, "kind", f"unknown job kind {kind!r}"))

    def number(name: str, low: float, high: float, *, whole: bool) -> float | None:
        text = (fields.get(name) or "").strip()
        if not text:
            return None
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            problems.append(Problem(source, None, name, f"{text!r} is not a number"))
            return None
        if whole and not value.is_integer():
            problems.append(Problem(source, None, name, f"{text!r} is not a whole number"))
            return None
        if not low <= value <= high:
            problems.append(
                Problem(source, None, name, f"must be {_num(low)} to {_num(high)}, got {text}")
            )
            return None
        return value

    horizon = number("horizon_days", 1, 366, whole=True)
    tolerance = number("tolerance_pct", 0.5, 50, whole=False)
    max_moves = number("max_moves", 0, 1_000_000, whole=True)
    penalty = number("move_penalty_s", 0, 1_000_000, whole=False)
    limit = number("time_limit_s", 0.5, MAX_TIME_LIMIT_S, whole=False)
    value_weight = number("value_weight", 0, MAX_VALUE_WEIGHT, whole=False)
    if problems:
        raise InputError(problems)
    return JobParams(
        kind=kind,
        horizon_days=int(horizon) if horizon is not None else DEFAULT_HORIZON_DAYS,
        tolerance=tolerance / 100.0 if tolerance is not None else 0.05,
        max_moves=int(max_moves) if max_moves is not None else None,
        move_penalty_s=penalty,
        time_limit_s=limit if limit is not None else 10.0,
        value_weight=value_weight or 0.0,
    )


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _reachable(
    services: Services, accounts: Sequence[Account], reps: Sequence[Rep]
) -> tuple[list[Account], list[str]]:
    snaps = services.snaps(list(accounts), list(reps))
    on, off = [], []
    for a in accounts:
        snap = snaps.get(f"account:{a.account_id}")
        if snap is None or snap.reachable:
            on.append(a)
        else:
            off.append(a.account_id)
    return on, off


def overview(
    services: Services, cache: KpiCache, *, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> Overview:
    """Current territories with KPIs on the road network; a reason instead when impossible."""
    store = services.store
    territories = tuple(store.territories.all())
    accounts, reps = tuple(store.accounts.all()), tuple(store.reps.all())
    kpis: PlanKpis | None = None
    error = ""
    off: list[str] = []
    if not territories:
        error = "No territories yet: design them from scratch below."
    else:
        try:
            on, off = _reachable(services, accounts, reps)
            kpis = cache.kpis(services, territories, on, reps, horizon_days)
        except (RoadNetworkError, InputError) as exc:
            error = str(exc)
    return Overview(territories, kpis, error, accounts, reps, tuple(off))


class KpiCache:
    """KPIs memoised per app on exactly their inputs: the page reloads every 2 s while a job
    runs, and recomputing the road-time matrix each time would compete with the job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entry: tuple[object, PlanKpis] | None = None

    def kpis(
        self,
        services: Services,
        territories: Sequence[Territory],
        accounts: Sequence[Account],
        reps: Sequence[Rep],
        horizon_days: int,
    ) -> PlanKpis:
        key = (tuple(territories), tuple(accounts), tuple(reps), horizon_days)
        with self._lock:
            if self._entry is not None and self._entry[0] == key:
                return self._entry[1]
        kpis = compute_kpis(
            territories, accounts, reps, services.travel(), horizon_days=horizon_days
        )
        with self._lock:
            self._entry = (key, kpis)
        return kpis


def _owner_map(territories: Sequence[Territory]) -> dict[str, str | None]:
    return {aid: t.rep_id for t in territories for aid in t.account_ids}


def _with_off_network(
    territories: Sequence[Territory],
    off: Sequence[Account],
    base: Sequence[Territory],
    reps: Sequence[Rep],
) -> tuple[Territory, ...]:
    """Give accounts off the road network to their locked rep, else back to their owner, else
    to the nearest rep who has the qualifications they require (else simply the nearest)."""
    if not off or not reps:
        return tuple(territories)
    owner = _owner_map(base)
    by_rep = {t.rep_id: i for i, t in enumerate(territories)}
    extra: dict[int, list[str]] = {}
    for a in off:
        rep_id = a.locked_rep_id if a.locked_rep_id in by_rep else owner.get(a.account_id)
        if rep_id not in by_rep:
            able = [r for r in reps if a.required_qualifications <= r.qualifications] or reps
            rep_id = min(
                able,
                key=lambda r: haversine_m(a.location.lat, a.location.lon, r.home.lat, r.home.lon),
            ).rep_id
        if rep_id in by_rep:
            extra.setdefault(by_rep[rep_id], []).append(a.account_id)
    return tuple(
        replace(t, account_ids=t.account_ids + tuple(extra.get(i, ())))
        for i, t in enumerate(territories)
    )


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


def run_job(services: Services, params: JobParams, job: Job[Proposal]) -> Proposal:
    """The work of one job (runs in the job's thread); reports progress, honours cancel."""
    store = services.store
    base = tuple(store.territories.all())
    accounts, reps = store.accounts.all(), store.reps.all()
    job.report("snapping accounts to the road network", 0.0)
    on, off_ids = _reachable(services, accounts, reps)
    off = [a for a in accounts if a.account_id in set(off_ids)]
    travel = services.travel()
    notes: list[str] = []
    if off_ids:
        notes.append(
            f"{len(off_ids)} account(s) off the road network keep their rep or go to the "
            f"nearest one: {', '.join(off_ids[:10])}" + (" …" if len(off_ids) > 10 else "")
        )
    options: list[ProposalOption] = []
    if params.kind == "design":
        before = None
        if base:
            job.report("KPIs of the current territories", 0.02)
            before = compute_kpis(base, on, reps, travel, horizon_days=params.horizon_days)
        known = {r.rep_id for r in reps}
        present = {a.account_id for a in on}
        locked = [
            replace(t, account_ids=tuple(a for a in t.account_ids if a in present))
            for t in base
            if t.locked and t.rep_id in known
        ]
        plan = design_territories(
            on,
            reps,
            travel,
            horizon_days=params.horizon_days,
            tolerance=params.tolerance,
            locked_territories=locked,
            weights=DesignWeights(value=params.value_weight),
            time_limit_s=params.time_limit_s,
            progress=job.report,
        )
        notes.extend(plan.notes)
        territories = _with_off_network(plan.territories, off, base, reps)
        moves, moved = _moves(base, territories, reps)
        options.append(
            ProposalOption(
                label="new design",
                territories=territories,
                kpis=plan.kpis,
                before=before,
                moves=moves,
                moved_accounts=moved,
                within_tolerance=plan.within_tolerance,
            )
        )
    else:
        if not base:
            raise InputError(
                Problem("territories", None, None, "no territories to realign; design first")
            )
        found = realign_territories(
            base,
            on,
            reps,
            travel,
            max_moves=params.max_moves,
            move_penalty=params.move_penalty_s,
            horizon_days=params.horizon_days,
            tolerance=params.tolerance,
            weights=DesignWeights(value=params.value_weight),
            time_limit_s=params.time_limit_s,
            progress=job.report,
        )
        seen: set[tuple[Territory, ...]] = set()
        for opt in found:
            if opt.territories in seen:
                continue  # two limits that led to the same split: offer it once
            seen.add(opt.territories)
            territories = _with_off_network(opt.territories, off, base, reps)
            extra, extra_moved = _moves(base, territories, reps, only=set(off_ids))
            options.append(
                ProposalOption(
                    label=opt.label,
                    territories=territories,
                    kpis=opt.kpis,
                    before=opt.comparison.before,
                    moves=opt.comparison.moves + extra,
                    moved_accounts=opt.moved_accounts + extra_moved,
                    within_tolerance=opt.within_tolerance,
                )
            )
        if not options:
            notes.append("no option could meet the move limit with the locks")
    return Proposal(kind=params.kind, options=tuple(options), base=base, notes=tuple(notes))


def start_job(
    services: Services, jobs: TerritoryJobs, user: UserRecord, params: JobParams
) -> TerritoryJob:
    """Start a design or realignment in the background; 409 while one is running."""

    def work(job: Job[Proposal]) -> Proposal:
        return run_job(services, params, job)

    job = jobs.start_exclusive(user.username, work)
    if job is None:
        raise HTTPException(status_code=409, detail="a territory job is already running")
    jobs.params[job.job_id] = params
    known = {j.job_id for j in jobs.all()}
    for stale in [k for k in jobs.params if k not in known]:
        del jobs.params[stale]  # forgotten by the registry (it keeps the newest jobs only)
    return job


def get_job(jobs: TerritoryJobs, job_id: int) -> TerritoryJob:
    job = jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"territory job {job_id} not found")
    return job


def apply_option(
    services: Services, jobs: TerritoryJobs, job_id: int, option: int, user: UserRecord
) -> ProposalOption:
    """Store option ``option`` (1-based) of a finished job as the current territories.

    Raises
    ------
    HTTPException
        404 unknown job; 409 job not finished, already applied, or the territories changed
        since the job started (its moves no longer describe reality).
    InputError
        ``option`` is not one of the job's options (422, field ``option``).
    """
    job = get_job(jobs, job_id)
    proposal = job.summary
    if job.state != "done" or proposal is None:
        raise HTTPException(status_code=409, detail=f"territory job {job_id} is {job.state}")
    if not 1 <= option <= len(proposal.options):
        raise InputError(
            Problem(
                "apply",
                None,
                "option",
                f"job {job_id} has options 1..{len(proposal.options)}, not {option}",
            )
        )
    picked = proposal.options[option - 1]
    with proposal.lock:
        if proposal.applied is not None:
            raise HTTPException(
                status_code=409, detail=f"option {proposal.applied} of job {job_id} was applied"
            )
        if tuple(services.store.territories.all()) != proposal.base:
            raise HTTPException(
                status_code=409,
                detail="the territories changed since this job started; run it again",
            )
        detail = (
            f"web {proposal.kind} job {job_id} option {option}: {picked.label}, "
            f"{picked.moved_accounts} moved, max dev {picked.kpis.max_workload_dev_pct:.1f} %"
        )
        services.store.territories.save(
            picked.territories,
            cause=OwnershipCause.REALIGNMENT,
            user=user.username,
            detail=detail,
            replace_all=True,
        )
        proposal.applied, proposal.applied_by = option, user.username
    return picked


def set_lock(services: Services, territory_id: str, locked: bool, user: UserRecord) -> Territory:
    """Lock or unlock one territory (realignment then leaves a locked one exactly as it is)."""
    current = {t.territory_id: t for t in services.store.territories.all()}
    territory = current.get(territory_id)
    if territory is None:
        raise HTTPException(status_code=404, detail=f"territory {territory_id!r} not found")
    changed = replace(territory, locked=locked)
    if changed != territory:
        services.store.territories.save(
            [changed],
            cause=OwnershipCause.MANUAL,
            user=user.username,
            detail=f"territory {'locked' if locked else 'unlocked'}",
        )
    return changed
