"""JSON shapes of the assignment rules and assignment API (``/api/v1/rules``,
``/api/v1/assignment``, ``/api/v1/accounts/{id}/ownership``).

Rules travel as the plain data of ``docs/assignment.md`` (areas with embedded ``geojson``), not
as a typed schema: the core's parser checks them and names the rule in every message, which a
generic schema error could not.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from routeplanner.model import Territory
from routeplanner.model.history import OwnershipRecord
from routeplanner.services.assignment import (
    AssignmentReport,
    Decision,
    DryRun,
    TerritoryBalance,
    ownership_reason,
)


class RulesBody(BaseModel):
    """A whole rules list in order (first matching rule wins), optionally with segments."""

    rules: list[Any] = Field(
        description="rule objects: id, name, enabled, criteria[{field, values, geojson}], "
        "territory | segment, note; area criteria embed their GeoJSON in `geojson`"
    )
    segments: dict[str, Any] | None = Field(
        default=None, description="territory id -> segment name (sets those territories)"
    )


class RulesPublic(BaseModel):
    rules: list[dict[str, Any]]
    segments: dict[str, str] = Field(description="territory id -> segment, for every territory")
    problems: list[str] = Field(
        default_factory=list,
        description="problems the stored rules have against the current territories",
    )

    @classmethod
    def of(
        cls, data: list[dict[str, Any]], territories: list[Territory], problems: list[str]
    ) -> RulesPublic:
        return cls(
            rules=data,
            segments={t.territory_id: t.segment for t in territories},
            problems=problems,
        )


class ReorderBody(BaseModel):
    ids: list[str] = Field(description="every stored rule id exactly once, in the new order")


class DryRunBody(BaseModel):
    mode: str = Field(default="all", description="all: every account; new: only unassigned")
    horizon_days: int | None = Field(default=None, description="workload period (default 28)")
    tolerance_pct: float | None = Field(
        default=None, description="balance band in percent (default 5)"
    )

    def fields(self) -> dict[str, str | None]:
        return {
            "mode": self.mode,
            "horizon_days": None if self.horizon_days is None else str(self.horizon_days),
            "tolerance_pct": None if self.tolerance_pct is None else f"{self.tolerance_pct:g}",
        }


class ApplyBody(BaseModel):
    dry_run_id: str = Field(description="the id a dry run returned")


class DecisionPublic(BaseModel):
    account_id: str
    account_name: str
    from_territory: str | None
    from_rep: str | None
    to_territory: str | None
    to_rep: str | None
    cause: str = Field(description="lock | rule | best_fit | kept | unassigned")
    rule_id: str | None
    reason: str

    @classmethod
    def of(cls, d: Decision, names: dict[str, str]) -> DecisionPublic:
        return cls(
            account_id=d.account_id,
            account_name=names.get(d.account_id, ""),
            from_territory=d.previous_territory_id,
            from_rep=d.previous_rep_id,
            to_territory=d.territory_id,
            to_rep=d.rep_id,
            cause=d.cause.value,
            rule_id=d.rule_id,
            reason=d.reason,
        )


class BalancePublic(BaseModel):
    territory_id: str
    rep_id: str | None
    segment: str
    locked: bool
    accounts: int
    added: int
    removed: int
    workload_h: float
    capacity_h: float
    utilisation_pct: float
    deviation_pct: float

    @classmethod
    def of(cls, b: TerritoryBalance) -> BalancePublic:
        return cls(
            territory_id=b.territory_id,
            rep_id=b.rep_id,
            segment=b.segment,
            locked=b.locked,
            accounts=b.accounts,
            added=b.added,
            removed=b.removed,
            workload_h=b.workload_h,
            capacity_h=b.capacity_h,
            utilisation_pct=b.utilisation_pct,
            deviation_pct=b.deviation_pct,
        )


class ReportPublic(BaseModel):
    changes: list[DecisionPublic] = Field(description="accounts that would change owner, and why")
    unassigned: list[DecisionPublic]
    counts: dict[str, int] = Field(description="decisions per cause")
    balance: list[BalancePublic]
    max_deviation_pct: float
    tolerance_pct: float
    suggest_realignment: bool
    travel: str

    @classmethod
    def of(cls, report: AssignmentReport, names: dict[str, str], travel_note: str) -> ReportPublic:
        return cls(
            changes=[DecisionPublic.of(d, names) for d in report.changes],
            unassigned=[DecisionPublic.of(d, names) for d in report.unassigned],
            counts={k.value: v for k, v in report.counts().items()},
            balance=[BalancePublic.of(b) for b in report.balance],
            max_deviation_pct=report.max_deviation_pct,
            tolerance_pct=report.tolerance_pct,
            suggest_realignment=report.suggest_realignment,
            travel=travel_note or report.travel,
        )


class DryRunPublic(BaseModel):
    dry_run_id: str
    mode: str
    created_by: str
    created_at: datetime
    applied_by: str = ""
    moved: int = 0
    report: ReportPublic

    @classmethod
    def of(cls, run: DryRun) -> DryRunPublic:
        return cls(
            dry_run_id=run.token,
            mode=run.params.mode.value,
            created_by=run.created_by,
            created_at=run.created_at,
            applied_by=run.applied_by,
            moved=run.moved,
            report=ReportPublic.of(run.report, run.names, run.travel_note),
        )


class OwnershipPeriodPublic(BaseModel):
    territory_id: str
    rep_id: str | None
    valid_from: datetime
    valid_to: datetime | None
    cause: str = Field(description="rule | realignment | manual | import")
    reason: str
    detail: str
    changed_by: str
    ended_cause: str | None
    ended_by: str

    @classmethod
    def of(cls, r: OwnershipRecord) -> OwnershipPeriodPublic:
        return cls(
            territory_id=r.territory_id,
            rep_id=r.rep_id,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            cause=r.cause.value,
            reason=ownership_reason(r),
            detail=r.detail,
            changed_by=r.changed_by,
            ended_cause=r.ended_cause.value if r.ended_cause is not None else None,
            ended_by=r.ended_by,
        )


class OwnershipPublic(BaseModel):
    account_id: str
    current: OwnershipPeriodPublic | None
    history: list[OwnershipPeriodPublic] = Field(description="every period, oldest first")
