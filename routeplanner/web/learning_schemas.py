"""JSON shapes of the learning API (planned against actual, values in force)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from routeplanner.services.learning import AccountTimes, Estimate, FieldTimes, RepTimes
from routeplanner.storage import LearnedValue

Kind = Literal["travel_factor", "visit_seconds"]


class EstimatePublic(BaseModel):
    value: float = Field(description="factor (actual / planned drive) or visit seconds")
    low: float = Field(description="lower end of the 90 % interval")
    high: float = Field(description="upper end of the 90 % interval")
    observations: int
    outliers: int = Field(description="observations down-weighted as unusual")
    spread: float = Field(description="typical relative deviation of one observation")

    @classmethod
    def of(cls, e: Estimate | None) -> EstimatePublic | None:
        if e is None:
            return None
        return cls(
            value=e.value,
            low=e.low,
            high=e.high,
            observations=e.n,
            outliers=e.outliers,
            spread=e.spread,
        )


class LearnedPublic(BaseModel):
    kind: Kind
    key: str
    value: float
    low: float
    high: float
    observations: int
    planned: float
    decided_by: str
    decided_at: datetime | None

    @classmethod
    def maybe(cls, v: LearnedValue | None) -> LearnedPublic | None:
        return None if v is None else cls.of(v)

    @classmethod
    def of(cls, v: LearnedValue) -> LearnedPublic:
        return cls(
            kind=v.kind.value,
            key=v.key,
            value=v.value,
            low=v.low,
            high=v.high,
            observations=v.observations,
            planned=v.planned,
            decided_by=v.decided_by,
            decided_at=v.decided_at,
        )


class RepTimesPublic(BaseModel):
    rep_id: str
    name: str
    drives: int
    planned_drive_s: float
    actual_drive_s: float
    visits: int
    planned_visit_s: float
    actual_visit_s: float
    estimate: EstimatePublic | None
    in_force: LearnedPublic | None

    @classmethod
    def of(cls, r: RepTimes) -> RepTimesPublic:
        return cls(
            rep_id=r.rep_id,
            name=r.name,
            drives=r.drives,
            planned_drive_s=r.planned_drive_s,
            actual_drive_s=r.actual_drive_s,
            visits=r.visits,
            planned_visit_s=r.planned_visit_s,
            actual_visit_s=r.actual_visit_s,
            estimate=EstimatePublic.of(r.estimate),
            in_force=LearnedPublic.maybe(r.in_force),
        )


class AccountTimesPublic(BaseModel):
    account_id: str
    name: str
    visits: int
    planned_s: float = Field(description="median planned visit seconds")
    actual_s: float = Field(description="median recorded visit seconds")
    estimate: EstimatePublic | None
    in_force: LearnedPublic | None

    @classmethod
    def of(cls, a: AccountTimes) -> AccountTimesPublic:
        return cls(
            account_id=a.account_id,
            name=a.name,
            visits=a.visits,
            planned_s=a.planned_s,
            actual_s=a.actual_s,
            estimate=EstimatePublic.of(a.estimate),
            in_force=LearnedPublic.maybe(a.in_force),
        )


class FieldTimesPublic(BaseModel):
    start: date
    end: date
    weeks: int
    min_drives: int
    min_visits: int
    recorded_stops: int
    reps: list[RepTimesPublic]
    accounts: list[AccountTimesPublic]

    @classmethod
    def of(cls, t: FieldTimes) -> FieldTimesPublic:
        return cls(
            start=t.start,
            end=t.end,
            weeks=t.params.weeks,
            min_drives=t.params.min_drives,
            min_visits=t.params.min_visits,
            recorded_stops=t.recorded_stops,
            reps=[RepTimesPublic.of(r) for r in t.reps],
            accounts=[AccountTimesPublic.of(a) for a in t.accounts],
        )


class ConfirmBody(BaseModel):
    kind: Kind
    key: str = Field(min_length=1, max_length=255)
    weeks: int = Field(
        default=8, ge=1, le=52, description="weeks of recorded visits the estimate uses"
    )
    min_drives: int = Field(default=15, ge=1, le=10_000)
    min_visits: int = Field(default=5, ge=1, le=10_000)
