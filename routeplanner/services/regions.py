"""Region use cases: list, import and export the grouping of territories into regions, and
scope managers to regions. Shared by ``routeplanner regions``/``user regions``, the regions
page and ``/api/v1/regions``.

The grouping is organisation-wide, so only an admin (a whole-organisation :class:`Scope`)
imports it or scopes managers; a manager lists and exports their own regions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from routeplanner.errors import InputError, Problem
from routeplanner.io.regions import regions_from_table, regions_to_csv
from routeplanner.io.tables import Table
from routeplanner.model import Region
from routeplanner.services.scope import Scope
from routeplanner.storage import Store, UnitOfWork
from routeplanner.storage.records import UserRecord, UserRole


@dataclass(frozen=True, slots=True)
class RegionRow:
    """A region as the page, the API and ``regions list`` show it."""

    region: Region
    managers: tuple[str, ...]
    """User names of the managers scoped to it."""


def list_regions(store: Store, scope: Scope) -> list[RegionRow]:
    """The regions ``scope`` sees, each with its territories and managers."""
    with store.read("reading regions") as tx:
        regions = [r for r in tx.regions.all() if scope.sees_region(r.region_id)]
        scoped = tx.regions.of_users()
        users = {u.user_id: u.username for u in tx.users.all()}
    return [
        RegionRow(
            r,
            tuple(
                sorted(users[u] for u, ids in scoped.items() if r.region_id in ids and u in users)
            ),
        )
        for r in regions
    ]


def import_regions(store: Store, table: Table, scope: Scope) -> list[Region]:
    """Make the regions of ``table`` (see :mod:`routeplanner.io.regions`) the whole grouping;
    regions not in the file go, and with them the scopes naming them.

    Raises
    ------
    PermissionDeniedError
        A scoped manager (the grouping is organisation-wide).
    InputError
        Every problem of the file; nothing is stored then.
    """
    scope.require_everything("import regions")
    with store.transaction(f"importing regions from {table.source}") as tx:
        known = {t.territory_id for t in tx.territories.all()}
        regions = regions_from_table(table, known)
        tx.regions.replace_all(regions)
    return regions


def export_regions(store: Store, scope: Scope) -> str:
    """The regions ``scope`` sees as CSV, in the import's columns."""
    return regions_to_csv(row.region for row in list_regions(store, scope))


def set_scope(
    store: Store,
    username: str,
    scope: Scope,
    *,
    role: str | None = None,
    regions: Iterable[str] | None = None,
    source: str,
) -> UserRecord:
    """Make ``username`` an admin (every region) or a manager of exactly ``regions`` (none:
    they see nothing); ``None`` keeps the role or the regions. Checked as a whole, stored in
    one transaction.

    Raises
    ------
    PermissionDeniedError
        A scoped manager asking (only an admin hands out roles and regions).
    InputError
        No such user, a rep user, another role, regions for an admin, an unknown region, or
        demoting the last active admin (all listed).
    """
    scope.require_everything("change roles and regions")
    wanted = None if regions is None else sorted({r.strip() for r in regions if r.strip()})
    with store.transaction(f"setting the role and regions of {username}") as tx:
        user = tx.users.find(username)
        problems = _scope_problems(tx, user, username, role, wanted, source)
        if problems or user is None:
            raise InputError(problems)
        new_role = UserRole(role) if role is not None else user.role
        if new_role is not user.role:
            user = tx.users.update(user.user_id, role=new_role)
        if new_role is UserRole.ADMIN:
            tx.regions.set_user_regions(user.user_id, [])
        elif wanted is not None:
            tx.regions.set_user_regions(user.user_id, wanted)
    return user


def _scope_problems(
    tx: UnitOfWork,
    user: UserRecord | None,
    username: str,
    role: str | None,
    regions: list[str] | None,
    source: str,
) -> list[Problem]:
    found = []
    if user is None:
        found.append(Problem(source, None, "username", f"no user {username!r}"))
    elif user.role is UserRole.REP:
        message = f"{username!r} is a rep user; only admins and managers have regions"
        found.append(Problem(source, None, "username", message))
    allowed = (UserRole.ADMIN.value, UserRole.MANAGER.value)
    if role is not None and role not in allowed:
        found.append(Problem(source, None, "role", f"{role!r} is not one of admin, manager"))
    new_role = role if role is not None else (user.role.value if user is not None else None)
    if regions and new_role == UserRole.ADMIN.value:
        message = "an admin sees every region; make them a manager to give regions"
        found.append(Problem(source, None, "regions", message))
    known = {r.region_id for r in tx.regions.all()}
    found += [
        Problem(source, None, "regions", f"no region {r!r}")
        for r in regions or []
        if r not in known
    ]
    if user is not None and user.role is UserRole.ADMIN and new_role == UserRole.MANAGER.value:
        admins = [u for u in tx.users.all() if u.role is UserRole.ADMIN and u.active]
        if [u.user_id for u in admins] == [user.user_id]:
            message = "the last active admin stays an admin (nobody could undo it)"
            found.append(Problem(source, None, "role", message))
    return found
