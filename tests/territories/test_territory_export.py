"""Exports parse back: GeoJSON is a valid FeatureCollection, CSV round-trips to territories."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest
from territory_factories import make_accounts, make_reps

from routeplanner.errors import InputError
from routeplanner.io.territory_export import (
    ACCOUNT_COLUMNS,
    KPI_COLUMNS,
    convex_hull,
    kpis_csv,
    read_territories_csv,
    write_territories_csv,
    write_territories_geojson,
)
from routeplanner.model import Territory
from routeplanner.territories.design import design_territories
from routeplanner.travel import HaversineTravel


@pytest.fixture(scope="module")
def designed() -> tuple[list, object]:
    accounts = make_accounts(60, 4)
    plan = design_territories(accounts, make_reps(3, 4, accounts), HaversineTravel())
    return accounts, plan


def _ring_area(ring: list[list[float]]) -> float:
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))


def test_hull_geojson_parses_back(tmp_path: Path, designed: tuple) -> None:
    accounts, plan = designed
    out = tmp_path / "t.geojson"
    write_territories_geojson(out, plan.territories, accounts, kpis=plan.kpis)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3
    for feature, kpi in zip(data["features"], plan.kpis.territories, strict=True):
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Polygon"
        ring = feature["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1]
        assert _ring_area(ring) > 0  # counter-clockwise outer ring (RFC 7946)
        props = feature["properties"]
        assert props["rep_id"] == kpi.rep_id
        assert props["accounts"] == kpi.accounts
        assert props["workload_h"] == pytest.approx(kpi.workload_h)
        # every account of the territory lies within the hull's bounding box ([lon, lat] order)
        lons = [p[0] for p in ring]
        lats = [p[1] for p in ring]
        by_id = {a.account_id: a for a in accounts}
        territory = next(t for t in plan.territories if t.rep_id == kpi.rep_id)
        for aid in territory.account_ids:
            loc = by_id[aid].location
            assert min(lons) <= loc.lon <= max(lons)
            assert min(lats) <= loc.lat <= max(lats)


def test_points_geojson_has_one_feature_per_account(tmp_path: Path, designed: tuple) -> None:
    accounts, plan = designed
    out = tmp_path / "p.geojson"
    write_territories_geojson(out, plan.territories, accounts, geometry="points")
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == len(accounts)
    first = data["features"][0]
    assert first["geometry"]["type"] == "Point"
    assert {"account_id", "territory_id", "rep_id", "frequency"} <= set(first["properties"])


def test_csv_round_trip(tmp_path: Path, designed: tuple) -> None:
    accounts, plan = designed
    out = tmp_path / "t.csv"
    write_territories_csv(out, plan.territories, accounts)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(ACCOUNT_COLUMNS)
    back = read_territories_csv(out)
    assert [(t.territory_id, t.rep_id, t.account_ids) for t in back] == [
        (t.territory_id, t.rep_id, t.account_ids) for t in plan.territories
    ]
    # The lock survives the file (older exports without the column read as unlocked).
    locked = [dataclasses.replace(t, locked=i == 1) for i, t in enumerate(plan.territories)]
    write_territories_csv(out, locked, accounts)
    assert [t.locked for t in read_territories_csv(out)] == [False, True, False]
    kpi_lines = kpis_csv(plan.kpis).splitlines()
    assert kpi_lines[0] == ",".join(KPI_COLUMNS)
    assert len(kpi_lines) == 4


def _problems(path: Path, text: str) -> list[str]:
    """Write ``text`` to ``path`` and read it as territories, expecting every problem listed."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_territories_csv(path)
    return [str(p) for p in info.value.problems]


def test_bad_territory_csv_lists_every_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    text = "territory_id,rep_id,account_id\nT1,R1,A1\nT1,R2,A2\n,R1,A3\nT2,R2,A1\n"
    assert _problems(bad, text) == [
        f"{bad}:3: rep_id: territory T1 already has rep R1",
        f"{bad}:4: territory_id: must not be empty",
        f"{bad}:5: account_id: A1 already listed in row 2",
    ]
    locks = tmp_path / "locks.csv"
    text = (
        "territory_id,rep_id,account_id,territory_locked\n"
        "T1,R1,A1,yes\nT1,R1,A2,\nT2,R2,A3,vielleicht\nT3,R3,A4,X\n"
    )
    assert _problems(locks, text) == [
        f"{locks}:3: territory_locked: territory T1 is locked in an earlier row",
        f"{locks}:4: territory_locked: 'vielleicht' is not yes or no",
    ]
    missing = tmp_path / "missing.csv"
    missing.write_text("territory,account_id\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing\.csv:1: territory_id: column is missing"):
        read_territories_csv(missing)


def test_degenerate_hulls() -> None:
    assert convex_hull([]) == []
    assert convex_hull([(1.0, 2.0), (1.0, 2.0)]) == [(1.0, 2.0)]
    # collinear points collapse to the two ends
    assert convex_hull([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]) == [(0.0, 0.0), (2.0, 2.0)]
    # a square with an inside point: the four corners, counter-clockwise from lower-left
    square = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.5, 0.5)]
    assert convex_hull(square) == [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def test_unknown_account_in_territory() -> None:
    accounts = make_accounts(2, 1)
    t = Territory(territory_id="T1", name="x", rep_id="R0", account_ids=("ZZ",))
    with pytest.raises(InputError, match="territories: account_id: territory T1: unknown ZZ"):
        write_territories_csv(Path("/nonexistent/never-written.csv"), [t], accounts)
