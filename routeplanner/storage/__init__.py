"""Persistence with SQLAlchemy: accounts, reps, territories, plan versions, visits and users.

The only package besides ``web`` that imports SQLAlchemy or Alembic. Typical use::

    repo = Repository.open(settings.database_url)   # migrates to the newest schema
    repo.replace_accounts_and_reps(accounts, reps, source="accounts.csv")
"""

from routeplanner.storage.engine import (
    check_schema,
    describe_url,
    head_revision,
    make_engine,
    migrate,
    schema_revision,
    session_factory,
)
from routeplanner.storage.records import (
    FeedInfo,
    ImportSummary,
    PlanInfo,
    PlanStatus,
    TokenKind,
    TokenRecord,
    UserRecord,
    UserRole,
)
from routeplanner.storage.repository import KEEP, Repository, hash_token

__all__ = [
    "KEEP",
    "FeedInfo",
    "ImportSummary",
    "PlanInfo",
    "PlanStatus",
    "Repository",
    "TokenKind",
    "TokenRecord",
    "UserRecord",
    "UserRole",
    "check_schema",
    "describe_url",
    "hash_token",
    "head_revision",
    "make_engine",
    "migrate",
    "schema_revision",
    "session_factory",
]
