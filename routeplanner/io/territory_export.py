"""Territory exports that open in QGIS (GeoJSON) and in a spreadsheet (CSV).

GeoJSON follows RFC 7946: WGS84, ``[lon, lat]`` order, a closed outer ring listed
counter-clockwise. ``geometry="area"`` gives one feature per territory, its area (a
MultiPolygon; areas of different territories do not overlap, see
:mod:`routeplanner.territories.shapes`), with the territory's KPIs as properties;
``geometry="hull"`` the convex hull of its accounts instead (a Point or LineString when it has
fewer than three distinct places; hulls of interleaved territories overlap);
``geometry="points"`` gives one Point feature per account.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from routeplanner.errors import InputError, Problem
from routeplanner.io.tables import read_table, render_csv
from routeplanner.model.account import Account
from routeplanner.model.ids import id_problem
from routeplanner.model.territory import Territory
from routeplanner.territories.metrics import PlanKpis, TerritoryKpis
from routeplanner.territories.shapes import TerritoryShape

Geometry = Literal["area", "hull", "points"]

ACCOUNT_COLUMNS = (
    "territory_id",
    "territory_name",
    "rep_id",
    "account_id",
    "account_name",
    "lat",
    "lon",
    "frequency",
    "visit_duration_min",
    "value_class",
    "territory_locked",
)
LOCKED_TEXT = {
    **dict.fromkeys(("yes", "true", "1", "x"), True),
    **dict.fromkeys(("", "no", "false", "0"), False),
}
"""Accepted ``territory_locked`` cells (case-insensitive): a spreadsheet user types yes or x."""
KPI_COLUMNS = tuple(TerritoryKpis.__dataclass_fields__)


def territories_geojson(
    territories: Sequence[Territory],
    accounts: Sequence[Account],
    *,
    kpis: PlanKpis | None = None,
    geometry: Geometry = "hull",
    areas: Sequence[TerritoryShape | None] = (),
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (as a dict) of the territories or of their accounts;
    ``geometry="area"`` takes each territory's area from ``areas`` (in the order of
    ``territories``; a null geometry where there is none).

    Raises
    ------
    InputError
        A territory lists an account that is not in ``accounts``.
    """
    by_id = _accounts_by_id(territories, accounts)
    kpi_by_rep = {k.rep_id: k for k in kpis.territories} if kpis is not None else {}
    features: list[dict[str, Any]] = []
    for index, t in enumerate(territories):
        base: dict[str, Any] = {
            "territory_id": t.territory_id,
            "territory_name": t.name,
            "rep_id": t.rep_id,
            "locked": t.locked,
        }
        if geometry == "points":
            for aid in t.account_ids:
                a = by_id[aid]
                props = {
                    **base,
                    "account_id": a.account_id,
                    "account_name": a.name,
                    "frequency": str(a.visit_rule),
                    "visit_duration_min": a.visit_duration_s / 60,
                    "value_class": a.value_class,
                }
                features.append(_feature(_point(a), props))
            continue
        props = {**base, "accounts": len(t.account_ids)}
        if t.rep_id in kpi_by_rep:
            k = asdict(kpi_by_rep[t.rep_id])
            props.update({key: value for key, value in k.items() if key not in props})
        if geometry == "area":
            area = areas[index] if index < len(areas) else None
            features.append(_feature(_area_geometry(area), props))
            continue
        places = [(by_id[aid].location.lon, by_id[aid].location.lat) for aid in t.account_ids]
        features.append(_feature(_hull_geometry(places), props))
    return {"type": "FeatureCollection", "features": features}


def write_territories_geojson(
    path: Path,
    territories: Sequence[Territory],
    accounts: Sequence[Account],
    *,
    kpis: PlanKpis | None = None,
    geometry: Geometry = "hull",
) -> None:
    """Write :func:`territories_geojson` as UTF-8 JSON."""
    data = territories_geojson(territories, accounts, kpis=kpis, geometry=geometry)
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def territories_csv(territories: Sequence[Territory], accounts: Sequence[Account]) -> str:
    """One row per account with its territory and rep (columns :data:`ACCOUNT_COLUMNS`)."""
    by_id = _accounts_by_id(territories, accounts)
    rows = [
        [
            t.territory_id,
            t.name,
            t.rep_id or "",
            a.account_id,
            a.name,
            f"{a.location.lat:.6f}",
            f"{a.location.lon:.6f}",
            str(a.visit_rule),
            f"{a.visit_duration_s / 60:g}",
            a.value_class,
            "yes" if t.locked else "",
        ]
        for t in territories
        for a in (by_id[aid] for aid in t.account_ids)
    ]
    return render_csv(ACCOUNT_COLUMNS, rows)


def kpis_csv(kpis: PlanKpis) -> str:
    """One row per territory with every KPI (columns :data:`KPI_COLUMNS`), numbers rounded."""
    rows = [
        [f"{v:.2f}" if isinstance(v, float) else v for v in (asdict(k)[c] for c in KPI_COLUMNS)]
        for k in kpis.territories
    ]
    return render_csv(KPI_COLUMNS, rows)


def write_territories_csv(
    path: Path, territories: Sequence[Territory], accounts: Sequence[Account]
) -> None:
    """Write :func:`territories_csv` as UTF-8."""
    Path(path).write_text(territories_csv(territories, accounts), encoding="utf-8")


def _accounts_by_id(
    territories: Sequence[Territory], accounts: Sequence[Account]
) -> dict[str, Account]:
    by_id = {a.account_id: a for a in accounts}
    problems = [
        Problem("territories", None, "account_id", f"territory {t.territory_id}: unknown {aid}")
        for t in territories
        for aid in t.account_ids
        if aid not in by_id
    ]
    if problems:
        raise InputError(problems)
    return by_id


def _feature(geometry: dict[str, Any] | None, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _point(a: Account) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [a.location.lon, a.location.lat]}


def _area_geometry(area: TerritoryShape | None) -> dict[str, Any] | None:
    if area is None:
        return None
    polygons = [[[list(p) for p in ring] for ring in polygon] for polygon in area.polygons]
    return {"type": "MultiPolygon", "coordinates": polygons}


def _hull_geometry(places: Sequence[tuple[float, float]]) -> dict[str, Any] | None:
    """Convex hull as GeoJSON; degenerate sets become Point/LineString, empty gives null."""
    hull = convex_hull(places)
    if not hull:
        return None
    if len(hull) == 1:
        return {"type": "Point", "coordinates": list(hull[0])}
    if len(hull) == 2:
        return {"type": "LineString", "coordinates": [list(p) for p in hull]}
    ring = [list(p) for p in hull] + [list(hull[0])]
    return {"type": "Polygon", "coordinates": [ring]}


def convex_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Counter-clockwise hull (Andrew's monotone chain); collinear points are dropped.

    Written out rather than taken from scipy's Qhull because Qhull raises on the degenerate
    inputs that territories often have (one account, accounts on one street).
    """
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def read_territories_csv(path: Path) -> list[Territory]:
    """Territories from a CSV as written by :func:`territories_csv` (extra columns ignored).

    ``territory_locked`` is optional (older exports lack it): a locked territory is kept as is
    by a design and a realignment, as it is when stored, so a file round trip keeps the lock.

    Raises
    ------
    InputError
        Missing ``territory_id``/``account_id`` columns or cells, an account listed twice, a
        territory given two different reps or lock states, or a lock cell that is not yes/no;
        every problem with its row.
    """
    source = str(path)
    table = read_table(Path(path), source=source)
    missing = [c for c in ("territory_id", "rep_id", "account_id") if c not in table.columns]
    if missing:
        raise InputError(
            [Problem(source, table.header_row, c, "column is missing") for c in missing]
        )
    problems: list[Problem] = []
    order: list[str] = []
    names: dict[str, str] = {}
    reps: dict[str, str] = {}
    locked: dict[str, bool] = {}
    members: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for raw in table.rows:
        row_no = raw.number
        row = {k: v.strip() for k, v in raw.cells.items()}
        tid, rid, aid = (
            row.get("territory_id", ""),
            row.get("rep_id", ""),
            row.get("account_id", ""),
        )
        if not tid:
            problems.append(Problem(source, row_no, "territory_id", "must not be empty"))
            continue
        if not aid:
            problems.append(Problem(source, row_no, "account_id", "must not be empty"))
            continue
        unsafe = [
            Problem(source, row_no, field, message)
            for field, value in (("territory_id", tid), ("rep_id", rid), ("account_id", aid))
            if value and (message := id_problem(value)) is not None
        ]
        if unsafe:
            problems += unsafe
            continue
        if aid in seen:
            problems.append(
                Problem(source, row_no, "account_id", f"{aid} already listed in row {seen[aid]}")
            )
            continue
        seen[aid] = row_no
        text = row.get("territory_locked", "")
        lock = LOCKED_TEXT.get(text.lower())
        if lock is None:
            problems.append(
                Problem(source, row_no, "territory_locked", f"{text!r} is not yes or no")
            )
            continue
        if tid in locked and locked[tid] != lock:
            problems.append(
                Problem(
                    source,
                    row_no,
                    "territory_locked",
                    f"territory {tid} is {'' if locked[tid] else 'not '}locked in an earlier row",
                )
            )
            continue
        locked[tid] = lock
        if tid not in members:
            order.append(tid)
            members[tid] = []
            reps[tid] = rid
            names[tid] = row.get("territory_name", "") or tid
        elif reps[tid] != rid:
            problems.append(
                Problem(source, row_no, "rep_id", f"territory {tid} already has rep {reps[tid]}")
            )
            continue
        members[tid].append(aid)
    if problems:
        raise InputError(problems)
    return [
        Territory(
            territory_id=tid,
            name=names[tid],
            rep_id=reps[tid] or None,
            account_ids=tuple(members[tid]),
            locked=locked[tid],
        )
        for tid in order
    ]
