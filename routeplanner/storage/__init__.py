"""Persistence with SQLAlchemy: one repository per area behind one unit of work.

The only package besides ``web`` that imports SQLAlchemy or Alembic. Typical use::

    store = Store.open(settings.database_url)    # migrates to the newest schema
    accounts = store.accounts.all()              # one call: a transaction of its own
    with store.transaction() as tx:              # several calls: all or nothing
        tx.accounts.upsert(accounts, source="crm")
        tx.territories.apply_assignment(decisions, cause="import")

Areas: ``accounts``, ``reps``, ``territories`` (with segments and ownership history),
``rules``, ``plans``, ``visits``, ``users``, ``tokens``, ``sessions``, ``feeds``.
"""

from routeplanner.storage.accounts import AccountRepository, RepRepository
from routeplanner.storage.engine import (
    check_schema,
    describe_url,
    head_revision,
    make_engine,
    migrate,
    schema_revision,
    session_factory,
)
from routeplanner.storage.feeds import FeedRepository
from routeplanner.storage.plans import PlanRepository
from routeplanner.storage.records import (
    Area,
    Commit,
    DataVersion,
    FeedInfo,
    ImportSummary,
    LearnedKind,
    LearnedValue,
    PlanInfo,
    PlanStatus,
    SessionRecord,
    TerritoryVersion,
    TokenKind,
    TokenRecord,
    UserRecord,
    UserRole,
)
from routeplanner.storage.rules import RuleRepository
from routeplanner.storage.store import Store, UnitOfWork
from routeplanner.storage.territories import TerritoryRepository
from routeplanner.storage.users import (
    KEEP,
    SessionRepository,
    TokenRepository,
    UserRepository,
    hash_token,
)
from routeplanner.storage.visits import VisitRepository

__all__ = [
    "KEEP",
    "AccountRepository",
    "Area",
    "Commit",
    "DataVersion",
    "FeedInfo",
    "FeedRepository",
    "ImportSummary",
    "LearnedKind",
    "LearnedValue",
    "PlanInfo",
    "PlanRepository",
    "PlanStatus",
    "RepRepository",
    "RuleRepository",
    "SessionRecord",
    "SessionRepository",
    "Store",
    "TerritoryRepository",
    "TerritoryVersion",
    "TokenKind",
    "TokenRecord",
    "TokenRepository",
    "UnitOfWork",
    "UserRecord",
    "UserRepository",
    "UserRole",
    "VisitRepository",
    "check_schema",
    "describe_url",
    "hash_token",
    "head_revision",
    "make_engine",
    "migrate",
    "schema_revision",
    "session_factory",
]
