"""Region files (CSV or XLSX): one row per territory naming its region, validated cell by cell.

Same all-or-nothing contract as the account reader: one :class:`InputError` lists every
problem as ``file:row: column: message``, and nothing is built while any remains.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from routeplanner.io.cells import Collector, build_all
from routeplanner.io.tables import Row, Table, render_csv
from routeplanner.model import Region

REGION_COLUMNS = ("territory_id", "region_id", "region_name")
REQUIRED_REGION_COLUMNS = ("territory_id", "region_id")
MAX_REGION_NAME = 200


@dataclass(frozen=True, slots=True)
class _Member:
    """One row: a territory in a region (named in this row, or ``""``)."""

    row: int
    territory_id: str
    region_id: str
    region_name: str


def regions_from_table(table: Table, territories: Collection[str]) -> list[Region]:
    """The regions a table describes; every territory must be one of ``territories`` (the
    stored ones) and appear once; a region named twice must be named alike."""

    def member(col: Collector, row: Row, first_row: dict[str, int]) -> _Member | None:
        return _member(col, row, first_row, territories)

    members = build_all(table, REGION_COLUMNS, REQUIRED_REGION_COLUMNS, member)
    col = Collector(table)
    names: dict[str, tuple[str, int]] = {}
    for m in members:
        if not m.region_name:
            continue
        first = names.setdefault(m.region_id, (m.region_name, m.row))
        if first[0] != m.region_name:
            message = f"region {m.region_id!r} is named {first[0]!r} in row {first[1]}"
            col.add(m.row, "region_name", message)
    col.raise_if_any()
    grouped: dict[str, list[str]] = {}
    for m in members:
        grouped.setdefault(m.region_id, []).append(m.territory_id)
    return [
        Region(
            region_id=region_id,
            name=names.get(region_id, (region_id, 0))[0],
            territory_ids=tuple(sorted(ids)),
        )
        for region_id, ids in sorted(grouped.items())
    ]


def _member(
    col: Collector, row: Row, first_row: dict[str, int], territories: Collection[str]
) -> _Member | None:
    n = row.number
    territory_id = col.identifier(row, "territory_id", required=True)
    if territory_id:
        if territory_id in first_row:
            message = f"territory {territory_id!r} is listed twice (first in row "
            col.add(n, "territory_id", message + f"{first_row[territory_id]})")
        else:
            first_row[territory_id] = n
        if territory_id not in territories:
            col.add(n, "territory_id", f"no territory {territory_id!r}")
    region_id = col.identifier(row, "region_id", required=True)
    name = row.get("region_name")
    if len(name) > MAX_REGION_NAME:
        col.add(n, "region_name", f"at most {MAX_REGION_NAME} characters")
    if not territory_id or not region_id:
        return None
    return _Member(n, territory_id, region_id, name)


def regions_to_csv(regions: Iterable[Region]) -> str:
    """The file :func:`regions_from_table` reads back: one row per territory, by region."""
    rows = [
        (territory_id, r.region_id, r.name) for r in regions for territory_id in r.territory_ids
    ]
    return render_csv(REGION_COLUMNS, rows)
