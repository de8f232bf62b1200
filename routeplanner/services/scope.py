"""What a user may see and change: the one place where manager scope is decided.

An ``admin`` sees the whole organisation. A ``manager`` sees the territories of the regions
they are given (:meth:`routeplanner.storage.regions.RegionRepository.set_user_regions`), the
accounts those territories hold and the reps who own them, and nothing else; a manager given
no region sees nothing (a missing scope never widens to everything). The web app resolves a
:class:`Scope` once per request with :func:`scope_for` (the command line with :func:`scope_as`
or :func:`scope_of_named_regions`) and passes it to the use cases; those that are handed only
the user (calendar feeds, field views, visit reports, figures) resolve it with
:func:`scope_for` themselves. Use cases filter lists with it and ask it about single objects:
something outside the scope is "not found" (its existence is not revealed), an action that
needs more than the scope is "permission denied".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from routeplanner.errors import InputError, NotFoundError, PermissionDeniedError, Problem
from routeplanner.model import Account, Rep, Territory
from routeplanner.storage import Store
from routeplanner.storage.records import UserRecord, UserRole


@dataclass(frozen=True, slots=True)
class Scope:
    """Ids a user may see; ``None`` in every field means the whole organisation."""

    regions: frozenset[str] | None
    territories: frozenset[str] | None
    reps: frozenset[str] | None
    accounts: frozenset[str] | None

    @classmethod
    def everything(cls) -> Scope:
        return cls(None, None, None, None)

    @property
    def is_everything(self) -> bool:
        return self.territories is None

    def sees_region(self, region_id: str) -> bool:
        return self.regions is None or region_id in self.regions

    def sees_territory(self, territory_id: str) -> bool:
        return self.territories is None or territory_id in self.territories

    def sees_rep(self, rep_id: str) -> bool:
        return self.reps is None or rep_id in self.reps

    def sees_account(self, account_id: str) -> bool:
        return self.accounts is None or account_id in self.accounts

    def territory(self, territory_id: str) -> str:
        """``territory_id`` when in scope, else the NotFoundError an unknown one gets."""
        if not self.sees_territory(territory_id):
            msg = f"territory {territory_id!r} not found"
            raise NotFoundError(msg)
        return territory_id

    def rep(self, rep_id: str) -> str:
        """``rep_id`` when in scope, else the NotFoundError an unknown one gets."""
        if not self.sees_rep(rep_id):
            msg = f"rep {rep_id!r} not found"
            raise NotFoundError(msg)
        return rep_id

    def account(self, account_id: str) -> str:
        """``account_id`` when in scope, else the NotFoundError an unknown one gets."""
        if not self.sees_account(account_id):
            msg = f"account {account_id!r} not found"
            raise NotFoundError(msg)
        return account_id

    def accounts_all(self, account_ids: Iterable[str], action: str) -> None:
        """Refuse ``action`` unless every one of ``account_ids`` is in scope."""
        if self.accounts is not None and not set(account_ids) <= self.accounts:
            msg = f"{action}: some accounts are outside your regions"
            raise PermissionDeniedError(msg)

    def require_everything(self, action: str) -> None:
        """Refuse an organisation-wide ``action`` to a scoped user."""
        if not self.is_everything:
            msg = f"only an admin may {action}"
            raise PermissionDeniedError(msg)

    def covers(self, other: Scope) -> bool:
        """Whether everything ``other`` sees is in this scope (a job or proposal made in
        ``other`` may then be shown here)."""
        if self.territories is None:
            return True
        return other.territories is not None and other.territories <= self.territories

    def territories_of(self, territories: Sequence[Territory]) -> list[Territory]:
        return [t for t in territories if self.sees_territory(t.territory_id)]

    def accounts_of(self, accounts: Sequence[Account]) -> list[Account]:
        return [a for a in accounts if self.sees_account(a.account_id)]

    def reps_of(self, reps: Sequence[Rep]) -> list[Rep]:
        return [r for r in reps if self.sees_rep(r.rep_id)]


def scope_of_regions(store: Store, region_ids: frozenset[str]) -> Scope:
    """The territories of ``region_ids``, their accounts and their reps."""
    with store.read("reading a scope") as tx:
        regions = [r for r in tx.regions.all() if r.region_id in region_ids]
        territory_ids = frozenset(t for r in regions for t in r.territory_ids)
        territories = [t for t in tx.territories.all() if t.territory_id in territory_ids]
    return Scope(
        regions=frozenset(r.region_id for r in regions),
        territories=territory_ids,
        reps=frozenset(t.rep_id for t in territories if t.rep_id is not None),
        accounts=frozenset(a for t in territories for a in t.account_ids),
    )


def scope_for(store: Store, user: UserRecord) -> Scope:
    """What ``user`` may see: an admin everything, a manager their regions' territories. A
    rep's scope holds only their own rep id and no territory or account: which accounts and
    routes a rep sees is decided by :func:`routeplanner.services.users.allowed_rep` and
    ``visible_accounts`` (their territory plus their planned stops), without a query here."""
    if user.role is UserRole.ADMIN:
        return Scope.everything()
    if user.role is UserRole.MANAGER:
        return scope_of_regions(store, store.regions.of_user(user.user_id))
    reps = frozenset() if user.rep_id is None else frozenset({user.rep_id})
    return Scope(frozenset(), frozenset(), reps, frozenset())


def scope_as(store: Store, username: str | None) -> Scope:
    """The command line's scope: the whole organisation (whoever holds the database URL can
    read every row anyway), or with ``--as USER`` what that user sees, to check a scope or
    act within one.

    Raises
    ------
    NotFoundError
        No user ``username``.
    """
    if username is None:
        return Scope.everything()
    user = store.users.find(username)
    if user is None:
        msg = f"no user {username!r}"
        raise NotFoundError(msg)
    return scope_for(store, user)


def scope_of_named_regions(store: Store, region_ids: Iterable[str], *, source: str) -> Scope:
    """The scope of the regions named on a command line (``--region``); none named: the
    whole organisation.

    Raises
    ------
    InputError
        An unknown region (each named).
    """
    wanted = frozenset(region_ids)
    if not wanted:
        return Scope.everything()
    known = {r.region_id for r in store.regions.all()}
    unknown = sorted(wanted - known)
    if unknown:
        raise InputError([Problem(source, None, None, f"no region {r!r}") for r in unknown])
    return scope_of_regions(store, wanted)
