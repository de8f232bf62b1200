"""Plain records storage returns besides domain objects: plan versions, users, tokens, versions.

These are storage concepts (ids, status, hashes) that the core never needs, so they live here
rather than in ``model``; they are frozen dataclasses so web and CLI code can pass them around
without holding a database session.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from routeplanner.model import Horizon


class PlanStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class UserRole(StrEnum):
    """``admin`` sees and changes everything; a ``manager`` only the territories of their
    regions (see :mod:`routeplanner.services.scope`); a ``rep`` only their own routes."""

    ADMIN = "admin"
    MANAGER = "manager"
    REP = "rep"


class TokenKind(StrEnum):
    API = "api"
    CALENDAR = "calendar"


class Area(StrEnum):
    """The parts of the stored data, one repository each (``tx.accounts``, ``tx.plans``, ...)."""

    ACCOUNTS = "accounts"
    REPS = "reps"
    TERRITORIES = "territories"
    RULES = "rules"
    PLANS = "plans"
    VISITS = "visits"
    USERS = "users"
    TOKENS = "tokens"
    SESSIONS = "sessions"
    FEEDS = "feeds"
    LEARNED = "learned"
    SALES = "sales"
    TARGETS = "targets"
    REGIONS = "regions"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanInfo:
    """One plan version without its routes: enough for a version list or a progress bar."""

    plan_id: int
    horizon: Horizon
    status: PlanStatus
    is_current: bool
    created_at: datetime
    finished_at: datetime | None
    progress: float
    message: str
    error: str
    meta: dict[str, str] = field(default_factory=dict)
    created_by: str = ""
    rep_id: str | None = None
    """``None`` for a version that replaced every territory plan, else the one rep whose
    territory plan it replaced."""


@dataclass(frozen=True, slots=True)
class TerritoryVersion:
    """One rep's territory plan within a plan version: which version wrote it and, when a
    repair wrote it, what that repair changed for the rep (plain JSON data, else ``None``)."""

    rep_id: str
    plan_id: int
    changes: Any = None


class LearnedKind(StrEnum):
    """What a learned value is: a rep's drive-time factor or an account's visit seconds."""

    TRAVEL_FACTOR = "travel_factor"
    VISIT_SECONDS = "visit_seconds"


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedValue:
    """A learned value in force: the estimate a manager confirmed, with its evidence
    (``low``..``high`` its 90 % interval from ``observations`` recorded drives or visits,
    ``planned`` what it replaces: 1.0 for a factor, the planned seconds for a visit)."""

    kind: LearnedKind
    key: str
    value: float
    low: float
    high: float
    observations: int
    planned: float
    decided_by: str = ""
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedStop:
    """Where one visit of a plan version is planned: the rep, the day and the account."""

    visit_id: str
    rep_id: str
    day: date
    account_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    """A web user; ``password_hash`` is whatever the web layer's hasher produced (argon2)."""

    user_id: int
    username: str
    password_hash: str
    role: UserRole
    rep_id: str | None
    active: bool
    created_at: datetime

    @property
    def is_manager(self) -> bool:
        """An admin or a manager: someone who manages territories (how many: their scope)."""
        return self.role is not UserRole.REP


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRecord:
    """An API or calendar token; the token itself is never stored, only its hash."""

    token_id: int
    user_id: int
    kind: TokenKind
    token_hash: str
    label: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not revoked (it may still have expired: see :meth:`usable`)."""
        return self.revoked_at is None

    def usable(self, now: datetime) -> bool:
        """Not revoked and not expired at ``now``."""
        return self.active and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRecord:
    """A login session (the key itself is never stored, only its hash)."""

    session_id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportSummary:
    """What an import changed, so the CLI and web can say "3 new, 2 changed, 1 removed"."""

    accounts_added: int = 0
    accounts_changed: int = 0
    accounts_unchanged: int = 0
    accounts_removed: int = 0
    reps_added: int = 0
    reps_changed: int = 0
    reps_unchanged: int = 0
    reps_removed: int = 0

    def __add__(self, other: ImportSummary) -> ImportSummary:
        """Field by field: an accounts summary plus a reps summary is the whole import's."""
        return ImportSummary(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedInfo:
    """A rep's calendar feed state: reconciled with plan ``plan_id`` and the accounts as of
    ``basis``, changed ``version`` times."""

    rep_id: str
    plan_id: int | None
    version: int
    updated_at: datetime
    basis: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataVersion:
    """A fingerprint of what the web caches, read in one cheap query.

    Any committed change of the current plan, the accounts, the reps or the visit records
    changes it: a new plan becomes current; an account or rep is added, removed or updated (the
    count or the newest ``updated_at`` moves); a visit is recorded (visit records are never
    deleted, so the newest id and the count move) or withdrawn (the withdrawn count moves;
    nothing else of a record changes). Two writes within one tick of
    the storage clock that keep the counts can look alike; whoever needs to see its own
    writes at once counts them itself (:meth:`routeplanner.storage.Store.on_commit`).
    """

    current_plan_id: int | None
    account_count: int
    accounts_updated_at: datetime | None
    rep_count: int
    reps_updated_at: datetime | None
    newest_visit_record_id: int | None
    visit_record_count: int
    withdrawn_visit_count: int = 0


@dataclass(frozen=True, slots=True)
class Commit:
    """A committed write transaction, the areas whose tables it wrote and the ids of the
    accounts whose rows it inserted, updated or deleted; ``accounts`` is ``None`` when a bulk
    statement wrote the accounts table, so which accounts changed is not known."""

    areas: frozenset[Area]
    accounts: frozenset[str] | None = frozenset()
