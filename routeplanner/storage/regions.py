"""Regions, which territory belongs to which, and which regions a manager is scoped to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, insert, select

from routeplanner.errors import StorageError
from routeplanner.model import Region
from routeplanner.storage.common import AreaRepository, check_ids, chunks, existing_row
from routeplanner.storage.tables import RegionRow, RegionTerritoryRow, UserRegionRow, UserRow


class RegionRepository(AreaRepository):
    """Regions and scopes (``tx.regions``)."""

    def all(self) -> list[Region]:
        """Every region by id, each with its territory ids sorted."""
        with self._session("reading regions") as session:
            members: dict[str, list[str]] = {}
            for territory_id, region_id in session.execute(
                select(RegionTerritoryRow.territory_id, RegionTerritoryRow.region_id).order_by(
                    RegionTerritoryRow.territory_id
                )
            ):
                members.setdefault(region_id, []).append(territory_id)
            return [
                Region(
                    region_id=row.region_id,
                    name=row.name,
                    territory_ids=tuple(members.get(row.region_id, ())),
                )
                for row in session.scalars(select(RegionRow).order_by(RegionRow.region_id))
            ]

    def replace_all(self, regions: Sequence[Region]) -> None:
        """Make ``regions`` the whole set: other regions go, and with them the scopes of
        managers that named them (who then see less, never more).

        Raises
        ------
        StorageError
            A region id twice, or a territory in two regions; nothing is changed then.
        """
        what = self._what("saving regions")
        check_ids(what, "region_id", [r.region_id for r in regions])
        check_ids(what, "territory_id", [t for r in regions for t in r.territory_ids])
        given = {r.region_id for r in regions}
        now = self._now()
        with self._session(what, write=True) as session:
            old = {row.region_id: row for row in session.scalars(select(RegionRow))}
            session.execute(delete(RegionTerritoryRow))
            stale = sorted(old.keys() - given)
            if stale:
                session.execute(delete(UserRegionRow).where(UserRegionRow.region_id.in_(stale)))
                session.execute(delete(RegionRow).where(RegionRow.region_id.in_(stale)))
            for region in regions:
                row = old.get(region.region_id)
                if row is None:
                    row = RegionRow(region_id=region.region_id)
                    session.add(row)
                row.name = region.name
                row.updated_at = now
            session.flush()
            members = [
                {"territory_id": t, "region_id": r.region_id}
                for r in regions
                for t in r.territory_ids
            ]
            if members:
                session.execute(insert(RegionTerritoryRow), members)

    def place(self, regions: Mapping[str, str]) -> None:
        """Put each territory id of ``regions`` into the region it maps to (leaving its old
        region, if any).

        Raises
        ------
        StorageError
            An unknown region.
        """
        what = self._what("placing territories in regions")
        with self._session(what, write=True) as session:
            known = set(session.scalars(select(RegionRow.region_id)))
            unknown = sorted(set(regions.values()) - known)
            if unknown:
                msg = f"{what}: no region {', '.join(map(repr, unknown))}"
                raise StorageError(msg)
            ids = sorted(regions)
            for chunk in chunks(ids):
                session.execute(
                    delete(RegionTerritoryRow).where(RegionTerritoryRow.territory_id.in_(chunk))
                )
            session.execute(
                insert(RegionTerritoryRow),
                [{"territory_id": t, "region_id": regions[t]} for t in ids],
            )

    def of_user(self, user_id: int) -> frozenset[str]:
        """The ids of the regions a user is scoped to."""
        with self._session(f"reading the regions of user {user_id}") as session:
            query = select(UserRegionRow.region_id).where(UserRegionRow.user_id == user_id)
            return frozenset(session.scalars(query))

    def of_users(self) -> dict[int, frozenset[str]]:
        """Every scoped user's region ids."""
        with self._session("reading the regions of users") as session:
            found: dict[int, set[str]] = {}
            for user_id, region_id in session.execute(
                select(UserRegionRow.user_id, UserRegionRow.region_id)
            ):
                found.setdefault(user_id, set()).add(region_id)
            return {u: frozenset(r) for u, r in found.items()}

    def set_user_regions(self, user_id: int, region_ids: Iterable[str]) -> None:
        """Scope a user to exactly ``region_ids`` (empty: none).

        Raises
        ------
        StorageError
            No such user or region.
        """
        wanted = sorted(set(region_ids))
        what = self._what(f"setting the regions of user {user_id}")
        with self._session(what, write=True) as session:
            existing_row(session, UserRow, user_id, what, "user")
            known = set(session.scalars(select(RegionRow.region_id)))
            unknown = [r for r in wanted if r not in known]
            if unknown:
                msg = f"{what}: no region {', '.join(map(repr, unknown))}"
                raise StorageError(msg)
            session.execute(delete(UserRegionRow).where(UserRegionRow.user_id == user_id))
            if wanted:
                session.execute(
                    insert(UserRegionRow), [{"user_id": user_id, "region_id": r} for r in wanted]
                )
