"""API shapes of ``/api/v1/territories`` (kept apart from schemas.py so both can grow freely)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from routeplanner.model import Territory
from routeplanner.services.territories import (
    SERVER_TIME_LIMIT_S,
    DesignParams,
    Overview,
    PlanKpis,
    ProposalOption,
    TerritoryKpis,
)
from routeplanner.services.territory_moves import MAX_MOVE_ACCOUNTS, MoveFigures, MoveResult
from routeplanner.web.jobs import TerritoryJob


class TerritoryKpisPublic(BaseModel):
    """One territory's figures over the workload period (hours are field hours)."""

    territory_id: str
    rep_id: str
    accounts: int
    visits_per_week: float
    workload_h: float
    capacity_h: float
    utilisation_pct: float = Field(description="workload / capacity")
    drive_h: float = Field(description="estimated driving in the period")
    drive_share_pct: float = Field(description="drive hours / workload hours")
    value: float
    balance_dev_pct: float = Field(description="utilisation vs the mean of unlocked territories")
    value_dev_pct: float = Field(
        description="share of the unlocked value vs share of the unlocked capacity, minus 1"
    )
    mean_travel_to_home_s: float
    enclave_accounts: int
    locked: bool

    @classmethod
    def of(cls, k: TerritoryKpis) -> TerritoryKpisPublic:
        return cls(**asdict(k))


class SplitKpisPublic(BaseModel):
    """Figures of a whole split of accounts into territories."""

    horizon_days: int
    accounts: int
    unassigned_accounts: int
    max_workload_dev_pct: float
    max_value_dev_pct: float
    mean_travel_to_home_s: float
    compactness_ratio: float = Field(description="mean travel to home / nearest-home optimum")
    contiguity_violations: int
    open_enclave_accounts: int = Field(
        description="enclave accounts not caused by accounts that need a qualification few reps "
        "hold (which go to those reps wherever they lie)"
    )
    total_workload_h: float
    total_capacity_h: float
    drive_h: float = Field(description="sum of the territories' estimated drive hours")
    territories: list[TerritoryKpisPublic]

    @classmethod
    def of(cls, k: PlanKpis) -> SplitKpisPublic:
        return cls(
            horizon_days=k.horizon_days,
            accounts=k.accounts,
            unassigned_accounts=k.unassigned_accounts,
            max_workload_dev_pct=k.max_workload_dev_pct,
            max_value_dev_pct=k.max_value_dev_pct,
            mean_travel_to_home_s=k.mean_travel_to_home_s,
            compactness_ratio=k.compactness_ratio,
            contiguity_violations=k.contiguity_violations,
            open_enclave_accounts=k.open_enclave_accounts,
            total_workload_h=k.total_workload_h,
            total_capacity_h=k.total_capacity_h,
            drive_h=sum(t.drive_h for t in k.territories),
            territories=[TerritoryKpisPublic.of(t) for t in k.territories],
        )


class TerritoryPublic(BaseModel):
    territory_id: str
    name: str
    rep_id: str | None
    locked: bool
    account_ids: list[str]
    kpis: TerritoryKpisPublic | None = Field(default=None, description="null when not computable")

    @classmethod
    def of(cls, t: Territory, kpis: TerritoryKpis | None = None) -> TerritoryPublic:
        return cls(
            territory_id=t.territory_id,
            name=t.name,
            rep_id=t.rep_id,
            locked=t.locked,
            account_ids=list(t.account_ids),
            kpis=TerritoryKpisPublic.of(kpis) if kpis is not None else None,
        )


class TerritoryListPublic(BaseModel):
    """The current territories with their KPIs (``kpi_error`` says why KPIs are missing)."""

    territories: list[TerritoryPublic]
    summary: SplitKpisPublic | None
    kpi_error: str
    off_network: list[str] = Field(description="accounts left out of the KPIs (no road)")

    @classmethod
    def of(cls, view: Overview) -> TerritoryListPublic:
        by_rep = {k.rep_id: k for k in view.kpis.territories} if view.kpis is not None else {}
        return cls(
            territories=[
                TerritoryPublic.of(t, by_rep.get(t.rep_id or "")) for t in view.territories
            ],
            summary=SplitKpisPublic.of(view.kpis) if view.kpis is not None else None,
            kpi_error=view.kpi_error,
            off_network=list(view.off_network),
        )


class TerritoryJobStart(BaseModel):
    """Options of a design or realignment run; omitted values take the defaults."""

    horizon_days: int | None = Field(default=None, description="workload period, 1..366 (28)")
    tolerance_pct: float | None = Field(
        default=None, description="allowed workload deviation in %, 0.5..50 (5)"
    )
    max_moves: int | None = Field(default=None, description="realign: cap on moved accounts")
    move_penalty_s: float | None = Field(
        default=None, description="realign: price of one move in seconds of road time"
    )
    time_limit_s: float | None = Field(
        default=None,
        description="seconds for the whole job, "
        f"0.5..{SERVER_TIME_LIMIT_S:g} ({SERVER_TIME_LIMIT_S:g})",
    )
    value_weight: float | None = Field(
        default=None,
        description="weight of account value beside workload (weight 1) in what is balanced, "
        "0..100 (0: workload only; 1: both equally)",
    )

    @classmethod
    def of(cls, params: DesignParams) -> TerritoryJobStart:
        """The validated parameters in the request's shape."""
        return cls(
            horizon_days=params.horizon_days,
            tolerance_pct=params.tolerance_pct,
            max_moves=params.max_moves,
            move_penalty_s=params.move_penalty_s,
            time_limit_s=params.time_limit_s,
            value_weight=params.value_weight,
        )

    def fields(self) -> dict[str, str | None]:
        """As text, so the API and the form are validated by the same code."""
        return {k: None if v is None else str(v) for k, v in self.model_dump().items()}


class MovePublic(BaseModel):
    account_id: str
    from_rep: str | None = Field(description="null for an account that had no owner")
    to_rep: str
    forced: bool = Field(
        description="the previous rep left or lacks a required qualification; not a move"
    )


class OptionTerritoryPublic(BaseModel):
    territory_id: str
    name: str
    rep_id: str | None
    locked: bool
    account_ids: list[str]


class OptionPublic(BaseModel):
    """One option of a finished job; apply it with ``POST .../apply {"option": n}``."""

    option: int = Field(description="1-based number to apply")
    label: str
    moved_accounts: int
    new_accounts: int
    within_tolerance: bool
    before: SplitKpisPublic | None
    after: SplitKpisPublic
    moves: list[MovePublic]
    territories: list[OptionTerritoryPublic]

    @classmethod
    def of(cls, n: int, o: ProposalOption) -> OptionPublic:
        return cls(
            option=n,
            label=o.label,
            moved_accounts=o.moved_accounts,
            new_accounts=o.new_accounts,
            within_tolerance=o.within_tolerance,
            before=SplitKpisPublic.of(o.before) if o.before is not None else None,
            after=SplitKpisPublic.of(o.kpis),
            moves=[
                MovePublic(
                    account_id=m.account_id, from_rep=m.from_rep, to_rep=m.to_rep, forced=m.forced
                )
                for m in o.moves
            ],
            territories=[
                OptionTerritoryPublic(
                    territory_id=t.territory_id,
                    name=t.name,
                    rep_id=t.rep_id,
                    locked=t.locked,
                    account_ids=list(t.account_ids),
                )
                for t in o.territories
            ],
        )


class TerritoryJobPublic(BaseModel):
    """A background design/realignment (ids are per app process and lost on restart)."""

    job_id: int
    kind: str = Field(description="design | realign")
    state: str = Field(description="running | done | failed | cancelled")
    progress: float = Field(description="0..1")
    message: str
    error: str
    notes: list[str]
    options: list[OptionPublic] = Field(description="filled once done; nothing stored yet")
    applied: int | None = Field(description="the option applied, if any")
    params: TerritoryJobStart | None = Field(
        description="what the job was asked, defaults filled in (null once forgotten)"
    )

    @classmethod
    def of(cls, job: TerritoryJob, params: DesignParams | None) -> TerritoryJobPublic:
        proposal = job.summary
        return cls(
            job_id=job.job_id,
            kind=params.kind if params is not None else "",
            params=TerritoryJobStart.of(params) if params is not None else None,
            state=job.state,
            progress=1.0 if job.state == "done" else job.progress,
            message=job.message,
            error=job.error,
            notes=list(proposal.notes) if proposal else [],
            options=[OptionPublic.of(n, o) for n, o in enumerate(proposal.options, 1)]
            if proposal
            else [],
            applied=proposal.applied if proposal else None,
        )


class ApplyBody(BaseModel):
    option: int = Field(description="1-based option number of the finished job")


class LockBody(BaseModel):
    locked: bool


MoveId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MoveBody(BaseModel):
    """Accounts to move into one territory; ``dry_run`` only answers the figures."""

    account_ids: list[MoveId] = Field(
        min_length=1, max_length=MAX_MOVE_ACCOUNTS, description="the selected accounts"
    )
    target_territory: str = Field(min_length=1, max_length=200)
    dry_run: bool = Field(default=False, description="true: figures only, nothing stored")


class MoveFiguresPublic(BaseModel):
    """A split's figures before or after the moves (``kpis`` null without a road network)."""

    max_workload_dev_pct: float | None
    max_value_dev_pct: float | None
    mean_travel_to_home_s: float | None
    drive_h: float | None
    enclave_accounts: int | None
    qualification_conflicts: list[str] = Field(
        description="accounts whose rep lacks a qualification they require"
    )
    kpis: SplitKpisPublic | None

    @classmethod
    def of(cls, f: MoveFigures) -> MoveFiguresPublic:
        return cls(
            max_workload_dev_pct=f.max_workload_dev_pct,
            max_value_dev_pct=f.max_value_dev_pct,
            mean_travel_to_home_s=f.mean_travel_to_home_s,
            drive_h=f.drive_h,
            enclave_accounts=f.enclave_accounts,
            qualification_conflicts=list(f.qualification_conflicts),
            kpis=SplitKpisPublic.of(f.kpis) if f.kpis is not None else None,
        )


class UnqualifiedPublic(BaseModel):
    account_id: str
    lacking: list[str] = Field(description="qualifications the target's rep does not hold")


class MoveResultPublic(BaseModel):
    """What the moves do; ``applied`` once stored (with ownership history)."""

    applied: bool
    target_territory: str
    target_rep: str | None
    moves: list[MovePublic]
    already_there: list[str] = Field(description="selected accounts already in the target")
    unqualified: list[UnqualifiedPublic] = Field(
        description="moves allowed although the rep lacks a required qualification"
    )
    before: MoveFiguresPublic
    after: MoveFiguresPublic
    kpi_error: str

    @classmethod
    def of(cls, r: MoveResult) -> MoveResultPublic:
        return cls(
            applied=r.applied,
            target_territory=r.target.territory_id,
            target_rep=r.target.rep_id,
            moves=[MovePublic(**asdict(m)) for m in r.moves],
            already_there=list(r.already_there),
            unqualified=[
                UnqualifiedPublic(account_id=a, lacking=list(q)) for a, q in r.unqualified
            ],
            before=MoveFiguresPublic.of(r.before),
            after=MoveFiguresPublic.of(r.after),
            kpi_error=r.kpi_error,
        )
