"""``routeplanner roads`` and ``routeplanner matrix``: JSON output, CSV matrices and exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from routeplanner import cli
from routeplanner.cli import EXIT_INPUT, EXIT_ROADS, main
from tests.helpers import DATA_DIR

OSM = DATA_DIR / "osm"


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_roads_json_reports_size_and_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["roads", str(OSM / "grid_mph.osm"), "--json", "--cache-dir", str(tmp_path)]
    assert _run(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert _run(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object, nothing else on stdout
    second = json.loads(out)
    assert {"nodes", "edges", "seconds", "cached", "path", "sha256", "bbox"} <= set(first)
    assert (first["nodes"], first["edges"]) == (5, 16)
    assert (first["cached"], second["cached"]) == (False, True)
    assert first["sha256"] == second["sha256"]
    assert len(first["bbox"]) == 4
    assert Path(second["cache_file"]).is_file()


def test_roads_no_cache_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["roads", str(OSM / "grid_mph.osm"), "--json", "--cache-dir", str(tmp_path)]
    assert _run([*args, "--no-cache"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cached"] is False
    assert summary["cache_file"] is None
    assert list(tmp_path.iterdir()) == []


def test_roads_without_json_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(["roads", str(OSM / "grid_mph.osm"), "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{OSM / 'grid_mph.osm'}: 5 nodes, 16 directed edges, loaded from OSM")
    assert out.endswith("bbox lon 8.0000..8.0020, lat 50.0000..50.0020\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 definitely not osm", "not an OSM file"),
        (None, "no drivable roads"),
    ],
    ids=["garbage", "no-roads"],
)
def test_roads_bad_file_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    bad = tmp_path / "bad.osm.pbf"
    if content is None:
        shutil.copy(OSM / "no_roads.osm", bad)
    else:
        bad.write_bytes(content)
    assert _run(["roads", str(bad), "--json", "--cache-dir", str(tmp_path)]) == EXIT_ROADS
    captured = capsys.readouterr()
    assert captured.out == ""
    err = " ".join(captured.err.split())
    assert err.startswith(f"road network: {bad}: {message}")


def test_matrix_from_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    points = tmp_path / "points.csv"
    points.write_text("id,lat,lon\nA,50.0,8.0005\nB,50.002,8.0015\nC,50.001,8.001\n")
    out = tmp_path / "m.csv"
    args = ["matrix", "--osm", str(OSM / "grid_mph.osm"), "--cache-dir", str(tmp_path)]
    assert _run([*args, "--csv", str(points), "-o", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["id", "A", "B", "C"]
    assert [r[0] for r in rows[1:]] == ["A", "B", "C"]
    values = [[int(v) for v in r[1:]] for r in rows[1:]]
    assert [values[i][i] for i in range(3)] == [0, 0, 0]
    assert all(values[i][j] > 0 for i in range(3) for j in range(3) if i != j)
    assert _run([*args, "--csv", str(points), "--distances"]) == 0
    metres = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    # A (bottom street) to C (centre): 35.7 m along the street to node (50.0, 8.001), then
    # 111.2 m north: 147 m.
    assert metres[1][3] == "147"


def test_matrix_random_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["matrix", "--osm", str(OSM / "grid_mph.osm"), "--cache-dir", str(tmp_path)]
    assert _run([*args, "--points", "4", "--seed", "3"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["id", "p1", "p2", "p3", "p4"]
    assert len(rows) == 5


def test_matrix_reports_unreachable_and_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.err_console, "width", 400)  # one problem per line, never wrapped
    points = tmp_path / "points.csv"
    points.write_text("id,lat,lon\nA,50.0,8.0005\nB,abc,8.0\nA,95,8.0\n")
    args = ["matrix", "--osm", str(OSM / "grid_mph.osm"), "--cache-dir", str(tmp_path)]
    assert _run([*args, "--csv", str(points)]) == EXIT_INPUT
    assert capsys.readouterr().err.splitlines() == [
        f"{points}:3: lat: 'abc' is not a number",
        f"{points}:4: id: 'A' repeats row 2",
        f"{points}:4: lat: 95 is outside -90..90",
    ]
    points.write_text("id,lat,lon\nnear,50.0,8.0005\nfar,50.1,8.0\n")
    assert _run([*args, "--csv", str(points)]) == EXIT_INPUT
    # 0.098° north of the top street (lat 50.002) = 10,897 m.
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"{points}:3: lat/lon: far: 10897 m from the nearest drivable road (limit 1000 m):"
        " unreachable"
    )


def test_matrix_needs_exactly_one_point_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["matrix", "--osm", str(OSM / "grid_mph.osm")]) == EXIT_INPUT
    assert "give exactly one of --points N or --csv FILE" in capsys.readouterr().err
