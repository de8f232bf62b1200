"""``routeplanner territories`` end to end on CSV files (straight-line travel, no OSM needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from territory_factories import make_accounts, make_reps

from routeplanner.cli import main


def _write_inputs(tmp_path: Path, n: int = 40, k: int = 2) -> tuple[Path, Path]:
    accounts = make_accounts(n, 11)
    reps = make_reps(k, 11, accounts)
    acc = tmp_path / "accounts.csv"
    with acc.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "lat", "lon", "frequency", "visit_minutes", "value_class"])
        for a in accounts:
            w.writerow(
                [
                    a.account_id,
                    a.name,
                    a.location.lat,
                    a.location.lon,
                    str(a.visit_rule),
                    a.visit_duration_s // 60,
                    a.value_class,
                ]
            )
    rp = tmp_path / "reps.csv"
    with rp.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "home_lat", "home_lon", "working_hours", "lunch_window"])
        for r in reps:
            hours, lunch = "Mo-Fr 08:00-17:00", "12:00-12:30"
            w.writerow([r.rep_id, r.name, r.home.lat, r.home.lon, hours, lunch])
    return acc, rp


def _design_args(acc: Path, rp: Path) -> list[str]:
    """``territories design`` on the two CSV files, straight-line travel, no progress bar."""
    return [
        *("territories", "design", "--accounts", str(acc), "--reps", str(rp)),
        *("--straight-line", "--quiet"),
    ]


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI expecting exit code 2 (bad input); its error output on one line."""
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    return " ".join(capsys.readouterr().err.split())


def test_design_then_realign_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    acc, rp = _write_inputs(tmp_path)
    out_csv, out_geo = tmp_path / "t.csv", tmp_path / "t.geojson"
    main(
        [
            "territories",
            "design",
            "--accounts",
            str(acc),
            "--reps",
            str(rp),
            "--straight-line",
            "--quiet",
            "--out-csv",
            str(out_csv),
            "--out-geojson",
            str(out_geo),
        ]
    )
    shown = capsys.readouterr().out
    assert "T-R0" in shown
    assert "max deviation" in shown
    geo = json.loads(out_geo.read_text(encoding="utf-8"))
    assert geo["type"] == "FeatureCollection"
    # the areas, as the territories page exports them (straight line: the accounts' Voronoi)
    assert {f["geometry"]["type"] for f in geo["features"]} == {"MultiPolygon"}
    new_csv = tmp_path / "t2.csv"
    main(
        [
            "territories",
            "realign",
            "--territories",
            str(out_csv),
            "--accounts",
            str(acc),
            "--reps",
            str(rp),
            "--straight-line",
            "--quiet",
            "--max-moves",
            "4",
            "--choose",
            "1",
            "--out-csv",
            str(new_csv),
        ]
    )
    shown = capsys.readouterr().out
    assert "Realignment options" in shown
    assert "at most 0 moves" in shown
    assert "Before / after" in shown
    assert new_csv.read_text(encoding="utf-8") == out_csv.read_text(encoding="utf-8")
    main(
        [
            "territories",
            "show",
            "--territories",
            str(new_csv),
            "--accounts",
            str(acc),
            "--reps",
            str(rp),
            "--straight-line",
        ]
    )
    assert "T-R1" in capsys.readouterr().out


def test_bad_lock_exits_2_with_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    acc, rp = _write_inputs(tmp_path, n=10)
    with pytest.raises(SystemExit) as info:
        main(
            [
                "territories",
                "design",
                "--accounts",
                str(acc),
                "--reps",
                str(rp),
                "--straight-line",
                "--quiet",
                "--lock",
                "A0001=R9",
            ]
        )
    assert info.value.code == 2
    assert "locked: rep_id: account A0001 is locked to unknown rep R9" in capsys.readouterr().err


def test_objective_option_selects_centre_and_rejects_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, rp = _write_inputs(tmp_path, n=30)
    base = _design_args(acc, rp)
    main([*base, "--objective", "centre"])
    assert "T-R1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main([*base, "--objective", "nearest"])
    assert info.value.code == 2
    assert "--objective: must be one of home, centre" in capsys.readouterr().err


def test_start_option_selects_centre_and_rejects_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, rp = _write_inputs(tmp_path, n=30)
    base = _design_args(acc, rp)
    main([*base, "--start", "centre"])
    assert "T-R1" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main([*base, "--start", "random"])
    assert info.value.code == 2
    assert "--start: must be one of auto, home, centre" in capsys.readouterr().err


def test_value_weight_option_balances_value_and_rejects_bad_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, rp = _write_inputs(tmp_path, n=60, k=3)
    base = _design_args(acc, rp)
    plain_kpis, value_kpis = tmp_path / "plain.csv", tmp_path / "value.csv"
    main([*base, "--out-kpis", str(plain_kpis)])
    capsys.readouterr()
    main([*base, "--value-weight", "1", "--out-kpis", str(value_kpis)])
    assert "max deviation" in capsys.readouterr().out

    def worst_value_dev(path: Path) -> float:
        with path.open(encoding="utf-8") as fh:
            return max(abs(float(r["value_dev_pct"])) for r in csv.DictReader(fh))

    assert worst_value_dev(value_kpis) < worst_value_dev(plain_kpis)
    err = _refused([*base, "--value-weight", "-1", "--workload-weight", "0"], capsys)
    assert "--value-weight: must be 0 to 100, got -1.0" in err
    err = _refused([*base, "--value-weight", "0", "--workload-weight", "0"], capsys)
    assert "--workload-weight: and the value weight are both 0" in err


def test_design_keeps_territories_locked_in_the_csv_or_named_by_keep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acc, rp = _write_inputs(tmp_path, n=40, k=3)
    base = _design_args(acc, rp)
    first = tmp_path / "first.csv"
    main([*base, "--out-csv", str(first)])
    with first.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["territory_locked"] for r in rows} == {""}
    # Hand T-R0's every other account to T-R1 and lock T-R0: an odd split no design draws.
    t0 = [r for r in rows if r["territory_id"] == "T-R0"]
    for r in t0[1::2]:
        r.update(territory_id="T-R1", rep_id="R1")
    for r in t0[::2]:
        r["territory_locked"] = "yes"
    edited = tmp_path / "edited.csv"
    with edited.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out.csv"
    capsys.readouterr()
    main([*base, "--territories", str(edited), "--out-csv", str(out)])
    assert "keeping 1 locked territories as they are: T-R0" in capsys.readouterr().err
    with out.open(encoding="utf-8") as fh:
        kept = [r for r in csv.DictReader(fh) if r["territory_id"] == "T-R0"]
    assert [r["account_id"] for r in kept] == [r["account_id"] for r in t0[::2]]
    assert {r["territory_locked"] for r in kept} == {"yes"}
    # --keep does the same for an unlocked territory of the file.
    main([*base, "--territories", str(first), "--keep", "T-R2", "--out-csv", str(out)])
    with out.open(encoding="utf-8") as fh:
        got = {r["account_id"] for r in csv.DictReader(fh) if r["territory_id"] == "T-R2"}
    assert got == {r["account_id"] for r in rows if r["territory_id"] == "T-R2"}
    # --keep needs territories to keep; an unknown id is named.
    assert "--keep: give --territories (CSV)" in _refused([*base, "--keep", "T-R2"], capsys)
    err = _refused([*base, "--territories", str(first), "--keep", "T-R9"], capsys)
    assert f"--keep: no territory T-R9 in {first}" in err


def test_time_limit_option_bounds_the_job_and_rejects_bad_limits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command line may give a job more than the server's 120 s, within the one rule."""
    acc, rp = _write_inputs(tmp_path, n=30)
    base = _design_args(acc, rp)
    main([*base, "--time-limit", "300"])
    assert "T-R1" in capsys.readouterr().out
    err = _refused([*base, "--time-limit", "0.1"], capsys)
    assert "--time-limit: must be 0.5 to 86400, got 0.1" in err
    realign = ["territories", "realign", "--accounts", str(acc), "--reps", str(rp)]
    err = _refused([*realign, "--straight-line", "--time-limit", "1e6"], capsys)
    assert "--time-limit: must be 0.5 to 86400, got 1000000.0" in err
