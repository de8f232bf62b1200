"""Database tables as SQLAlchemy 2 typed declarative models; portable to SQLite and PostgreSQL.

Only portable column types are used (no SQLite- or PostgreSQL-only features). Weekly hours,
weekday sets, tags and dates off are JSON lists: exact, order-preserving and free of parsing
rules. Timestamps are stored in UTC (see :class:`UTCDateTime`). History tables (ownership,
visit records, plan stops) hold plain ids without foreign keys on purpose: an account or rep
removed by a later import must not delete or block the record of what happened.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

ID_LENGTH = 255
"""Longest id (account, rep, territory, visit) accepted; checked before writing so SQLite and
PostgreSQL (which enforces VARCHAR lengths) behave the same."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Named constraints let Alembic alter them later (SQLite batch mode needs names to drop them)."""


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; read back as an aware UTC datetime on every backend.

    SQLite has no time zone type and SQLAlchemy's SQLite DATETIME drops ``tzinfo`` silently, so
    the value is normalised to naive UTC there; PostgreSQL gets an aware value for its
    ``timestamptz``. Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value.isoformat()} cannot be stored; give a time zone"
            raise ValueError(msg)
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - signature fixed by TypeDecorator
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(**kwargs: Any) -> Any:
    return mapped_column(String(ID_LENGTH), **kwargs)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        date: Date(),
        float: Double(),
        str: Text(),
        int: Integer(),
        bool: Boolean(),
        Any: JSON(),
    }


class AccountRow(Base):
    __tablename__ = "accounts"

    account_id: Mapped[str] = _id(primary_key=True)
    name: Mapped[str]
    lat: Mapped[float]
    lon: Mapped[float]
    rule_kind: Mapped[str] = mapped_column(String(16))
    interval_days: Mapped[int]
    count: Mapped[int]
    period_days: Mapped[int]
    min_gap_days: Mapped[int]
    max_gap_days: Mapped[int]
    visit_duration_s: Mapped[int]
    opening_hours: Mapped[Any]
    address: Mapped[str]
    category: Mapped[str]
    value_class: Mapped[str]
    preferred_weekdays: Mapped[Any]
    forbidden_weekdays: Mapped[Any]
    last_visit: Mapped[date | None]
    notes: Mapped[str]
    contact: Mapped[str]
    phone: Mapped[str]
    tags: Mapped[Any]
    postcode: Mapped[str] = mapped_column(String(32), server_default="")
    locked_rep_id: Mapped[str | None] = _id(nullable=True)
    required_qualifications: Mapped[Any] = mapped_column(server_default="[]")
    source: Mapped[str]
    updated_at: Mapped[datetime]

    __table_args__ = (CheckConstraint("visit_duration_s > 0", name="visit_duration_positive"),)


class RepRow(Base):
    __tablename__ = "reps"

    rep_id: Mapped[str] = _id(primary_key=True)
    name: Mapped[str]
    home_lat: Mapped[float]
    home_lon: Mapped[float]
    working_hours: Mapped[Any]
    home_address: Mapped[str]
    lunch_start_s: Mapped[int | None]
    lunch_end_s: Mapped[int | None]
    lunch_duration_s: Mapped[int | None]
    days_off: Mapped[Any]
    max_visits_per_day: Mapped[int]
    max_drive_s: Mapped[int | None]
    email: Mapped[str]
    qualifications: Mapped[Any]
    source: Mapped[str]
    updated_at: Mapped[datetime]


class TerritoryRow(Base):
    __tablename__ = "territories"

    territory_id: Mapped[str] = _id(primary_key=True)
    name: Mapped[str]
    rep_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("reps.rep_id", ondelete="SET NULL"), index=True
    )
    segment: Mapped[str]
    locked: Mapped[bool]
    updated_at: Mapped[datetime]


class TerritoryAccountRow(Base):
    """Current assignment; the primary key on ``account_id`` makes "one territory per account"
    a database invariant rather than a hope."""

    __tablename__ = "territory_accounts"

    account_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("accounts.account_id", ondelete="CASCADE"),
        primary_key=True,
    )
    territory_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("territories.territory_id", ondelete="CASCADE"),
        index=True,
    )
    position: Mapped[int]


class OwnershipRow(Base):
    __tablename__ = "ownership_history"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str] = _id()
    territory_id: Mapped[str] = _id()
    rep_id: Mapped[str | None] = _id()
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    cause: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str]
    changed_by: Mapped[str]
    ended_cause: Mapped[str | None] = mapped_column(String(32))
    ended_by: Mapped[str]

    __table_args__ = (
        Index("ix_ownership_history_account_from", "account_id", "valid_from"),
        CheckConstraint("cause IN ('rule', 'realignment', 'manual', 'import')", name="cause_known"),
    )


class AssignmentRuleRow(Base):
    """One assignment rule as the plain JSON of ``assignment.rules.rule_to_data`` (areas
    embedded as GeoJSON): a rule is read and written whole, never queried by criterion, so one
    document per rule keeps the schema stable while the rule language grows."""

    __tablename__ = "assignment_rules"

    rule_id: Mapped[str] = _id(primary_key=True)
    position: Mapped[int] = mapped_column(unique=True)
    enabled: Mapped[bool]
    data: Mapped[Any]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str]

    __table_args__ = (CheckConstraint("position >= 1", name="position_positive"),)


class PlanRow(Base):
    """One plan version: the organisation's plan as one write left it. ``is_current`` is TRUE
    for exactly one complete plan and NULL (not FALSE) elsewhere, so a plain unique constraint
    guarantees a single current plan on every backend without partial indexes. ``rep_id`` is
    NULL for a version that replaced every territory plan, else the one rep whose territory
    plan it replaced (its other territory plans are those of the version before)."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    horizon_start: Mapped[date]
    horizon_weeks: Mapped[int]
    horizon_tz: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    is_current: Mapped[bool | None] = mapped_column(unique=True)
    progress: Mapped[float]
    message: Mapped[str]
    error: Mapped[str]
    meta: Mapped[Any]
    created_by: Mapped[str]
    rep_id: Mapped[str | None] = _id(nullable=True)

    routes: Mapped[list[PlanRouteRow]] = relationship(
        order_by="PlanRouteRow.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    unassigned: Mapped[list[PlanUnassignedRow]] = relationship(
        order_by="PlanUnassignedRow.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        CheckConstraint("status IN ('running', 'complete', 'failed')", name="status_known"),
        CheckConstraint(
            "is_current IS NULL OR (is_current = TRUE AND status = 'complete')",
            name="current_is_complete",
        ),
    )


class PlanPartRow(Base):
    """One territory plan of a plan version: the rep's routes and the visits left out of the
    rep's territory (``rep_id`` "" holds visits of accounts in no rep's territory), written by
    version ``source_plan_id``. A version lists all its territory plans; one written by an
    earlier version is shared, not copied, so a rep's repair leaves the other reps' rows as
    they were. ``changes`` is what the writing repair changed for the rep (JSON), if any."""

    __tablename__ = "plan_parts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    rep_id: Mapped[str] = _id()
    position: Mapped[int]
    source_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    changes: Mapped[Any | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (UniqueConstraint("plan_id", "rep_id"),)


class PlanRouteRow(Base):
    __tablename__ = "plan_routes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    rep_id: Mapped[str] = _id()
    day: Mapped[date]
    start_s: Mapped[int]
    end_s: Mapped[int]
    travel_s: Mapped[int]
    distance_m: Mapped[int]
    break_start_s: Mapped[int | None]
    break_duration_s: Mapped[int]

    stops: Mapped[list[PlanStopRow]] = relationship(
        order_by="PlanStopRow.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (UniqueConstraint("plan_id", "position"),)


class PlanStopRow(Base):
    """A stop; ``plan_id``, ``day`` and ``rep_id`` repeat the route's so "what does rep X do on
    day D" and "when is account A visited" are single-table queries."""

    __tablename__ = "plan_stops"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    route_id: Mapped[int] = mapped_column(
        ForeignKey("plan_routes.id", ondelete="CASCADE"), index=True
    )
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    position: Mapped[int]
    day: Mapped[date]
    rep_id: Mapped[str] = _id()
    visit_id: Mapped[str] = _id()
    account_id: Mapped[str] = _id()
    arrival_s: Mapped[int]
    start_s: Mapped[int]
    departure_s: Mapped[int]
    travel_s: Mapped[int]
    distance_m: Mapped[int]
    wait_s: Mapped[int]
    violations: Mapped[Any]

    __table_args__ = (
        Index("ix_plan_stops_plan_day", "plan_id", "day"),
        Index("ix_plan_stops_plan_account", "plan_id", "account_id"),
    )


class PlanUnassignedRow(Base):
    __tablename__ = "plan_unassigned"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    visit_id: Mapped[str] = _id()
    account_id: Mapped[str] = _id()
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str]
    day: Mapped[date | None]
    rep_id: Mapped[str] = _id(server_default="")


OUTCOME_LENGTH = 60
"""Longest visit outcome (``order``, ``no order``, ``follow-up needed`` …)."""
PRODUCT_LINE_LENGTH = 100
"""Longest product line name in a sales import."""
NEXT_STEP_LENGTH = 200
"""Longest next step agreed at a visit (one line on the phone)."""


REPORT_ID_LENGTH = 64
"""A report id made on the phone (a UUID is 36 characters)."""


class VisitRecordRow(Base):
    __tablename__ = "visit_records"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    visit_id: Mapped[str] = _id()
    account_id: Mapped[str] = _id()
    rep_id: Mapped[str] = _id()
    day: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    actual_start: Mapped[datetime | None]
    note: Mapped[str]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str]
    outcome: Mapped[str | None] = mapped_column(String(OUTCOME_LENGTH))
    withdrawn_at: Mapped[datetime | None]
    report_id: Mapped[str | None] = mapped_column(String(REPORT_ID_LENGTH), unique=True)
    order_value: Mapped[float | None]
    next_step: Mapped[str] = mapped_column(String(NEXT_STEP_LENGTH), server_default="")

    __table_args__ = (
        Index("ix_visit_records_account_day", "account_id", "day"),
        Index("ix_visit_records_rep_day", "rep_id", "day"),
        Index("ix_visit_records_day", "day"),
        Index("ix_visit_records_account_status_day", "account_id", "status", "day", "withdrawn_at"),
        CheckConstraint(
            "status IN ('done', 'missed', 'cancelled', 'checked_in')", name="status_known"
        ),
    )


class LearnedValueRow(Base):
    __tablename__ = "learned_values"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = _id()
    value: Mapped[float]
    low: Mapped[float]
    high: Mapped[float]
    observations: Mapped[int]
    planned: Mapped[float]
    decided_by: Mapped[str]
    decided_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("kind", "key"),
        CheckConstraint("kind IN ('travel_factor', 'visit_seconds')", name="kind_known"),
        CheckConstraint("value > 0", name="value_positive"),
    )


class SalesFigureRow(Base):
    """Revenue of one account in one month (``period``: its first day) and product line (""
    when the export has none), as a CRM or ERP export gives it; an import of a month replaces
    every row of that month."""

    __tablename__ = "sales_figures"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str] = _id()
    period: Mapped[date]
    product_line: Mapped[str] = mapped_column(String(PRODUCT_LINE_LENGTH))
    revenue: Mapped[float]
    order_count: Mapped[int | None]
    source: Mapped[str]
    imported_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("account_id", "period", "product_line"),
        Index("ix_sales_figures_period", "period"),
        Index("ix_sales_figures_period_account_revenue", "period", "account_id", "revenue"),
    )


class TargetRow(Base):
    """A manager's targets for one territory or rep in one month; a figure left ``NULL`` keeps
    its default (derived from the accounts' value classes)."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = _id()
    period: Mapped[date]
    revenue: Mapped[float | None]
    visits_done: Mapped[int | None]
    coverage: Mapped[float | None]
    new_accounts: Mapped[int | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str]

    __table_args__ = (
        UniqueConstraint("scope", "scope_id", "period"),
        CheckConstraint("scope IN ('territory', 'rep')", name="scope_known"),
    )


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    password_hash: Mapped[str]
    role: Mapped[str] = mapped_column(String(16))
    rep_id: Mapped[str | None] = _id()
    active: Mapped[bool]
    created_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("role IN ('admin', 'manager', 'rep')", name="role_known"),
        CheckConstraint("role <> 'rep' OR rep_id IS NOT NULL", name="rep_has_rep_id"),
    )


class RegionRow(Base):
    __tablename__ = "regions"

    region_id: Mapped[str] = _id(primary_key=True)
    name: Mapped[str]
    updated_at: Mapped[datetime]


class RegionTerritoryRow(Base):
    """Which region a territory belongs to. No foreign key to ``territories`` on purpose: a
    design that replaces the territories keeps their ids, and so their region."""

    __tablename__ = "region_territories"

    territory_id: Mapped[str] = _id(primary_key=True)
    region_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("regions.region_id", ondelete="CASCADE"), index=True
    )


class UserRegionRow(Base):
    """The regions a manager is scoped to."""

    __tablename__ = "user_regions"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[str] = mapped_column(
        String(ID_LENGTH),
        ForeignKey("regions.region_id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    )


class TokenRow(Base):
    """API and calendar tokens; only a hash is stored, so a database leak does not leak access."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("kind IN ('api', 'calendar')", name="kind_known"),)


class SessionRow(Base):
    """A login session; the cookie holds a random key, only its SHA-256 is stored, so ending
    a session here ends it for every copy of the cookie."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(index=True)


class CalendarFeedRow(Base):
    """Which plan version (and ``basis``: which state of the accounts) a rep's calendar feed was
    last reconciled with; ``version`` grows with every change to the rep's feed entries and is
    part of the feed's cache key."""

    __tablename__ = "calendar_feeds"

    rep_id: Mapped[str] = _id(primary_key=True)
    plan_id: Mapped[int | None]
    version: Mapped[int]
    updated_at: Mapped[datetime]
    basis: Mapped[str] = mapped_column(String(128), server_default="")
    """What the entries were built from besides the plan (the accounts' version)."""


class CalendarEntryRow(Base):
    """A published calendar event with its stable UID (see ``routeplanner.model.feed``).

    Plain ids without foreign keys, like the other history tables: a cancelled event must still
    be sent after its account was removed by an import.
    """

    __tablename__ = "calendar_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    rep_id: Mapped[str] = _id()
    account_id: Mapped[str] = _id()
    uid: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    day: Mapped[date]
    sequence: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[Any]
    modified_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_calendar_entries_rep_day", "rep_id", "day"),
        CheckConstraint("status IN ('CONFIRMED', 'CANCELLED')", name="status_known"),
        CheckConstraint("sequence >= 0", name="sequence_not_negative"),
    )
