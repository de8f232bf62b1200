"""``rules import|show|check``, ``assign --dry-run|--apply`` and auto-assignment on ``import``,
end to end on a real SQLite file with the sample data (straight-line travel: no OSM needed)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from routeplanner.cli import main
from routeplanner.model.history import OwnershipCause
from routeplanner.storage import Store
from tests.databases import copy_sqlite
from tests.helpers import SAMPLE_DIR

RULES = SAMPLE_DIR / "assignment_rules.json"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main(args)
    return " ".join(capsys.readouterr().out.split())


def _fails(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    return " ".join(capsys.readouterr().err.split())


def _state(url: str) -> tuple[object, ...]:
    store = Store.open(url)
    try:
        return store.territories.all(), store.territories.ownership_history(), store.rules.all()
    finally:
        store.close()


@pytest.fixture(scope="module")
def designed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sample reps and the first 250 sample accounts imported, territories designed: once per
    module, each test works on a copy (``setup``)."""
    folder = tmp_path_factory.mktemp("designed")
    lines = (SAMPLE_DIR / "accounts.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    first = folder / "accounts-250.csv"
    first.write_text("".join(lines[:251]), encoding="utf-8")
    db = ["--database-url", f"sqlite:///{folder / 'rp.sqlite'}"]
    with redirect_stdout(io.StringIO()) as printed:
        main(["import", "-a", str(first), "-r", str(SAMPLE_DIR / "reps.csv"), *db])
    out = " ".join(printed.getvalue().split())
    assert "imported 250 accounts and 4 reps" in out
    assert "assigned" not in out  # no territories yet: nothing to assign to
    with redirect_stdout(io.StringIO()):
        main(
            ["territories", "design", "--straight-line", "--quiet", "--save", "--user", "anna", *db]
        )
    return folder / "rp.sqlite"


@pytest.fixture
def setup(designed: Path, tmp_path: Path) -> tuple[list[str], Path]:
    """A copy of the designed sample database in ``tmp_path``, and ``tmp_path``."""
    return ["--database-url", copy_sqlite(designed, tmp_path / "rp.sqlite")], tmp_path


def test_rules_import_show_check(
    setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, tmp_path = setup
    out = _run(["rules", "show", *db], capsys)
    assert "no assignment rules stored" in out
    out = _run(["rules", "import", str(RULES), "--by", "anna", *db], capsys)
    assert f"Imported 3 rules from {RULES}" in out
    assert "segments: T-R1 = medical, T-R3 = medical" in out
    assert "3 rules OK" in _run(["rules", "check", *db], capsys)
    out = _run(["rules", "show", *db], capsys)
    assert "key-altstadt" in out
    assert "best fit in segment medical" in out
    # --json is a rules file with the areas embedded: it checks without the area files.
    exported = tmp_path / "exported.json"
    main(["rules", "show", "--json", *db])
    exported.write_text(capsys.readouterr().out, encoding="utf-8")
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["segments"] == {"T-R1": "medical", "T-R3": "medical"}
    assert "geojson" in data["rules"][0]["criteria"][1]
    assert "3 rules OK" in _run(["rules", "check", str(exported), *db], capsys)
    # A new design keeps each territory's segment, so segment rules still have targets.
    main(["territories", "design", "--straight-line", "--quiet", "--save", *db])
    capsys.readouterr()
    assert "3 rules OK" in _run(["rules", "check", *db], capsys)


def test_bad_rules_file_is_refused_naming_the_rule(
    setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, tmp_path = setup
    main(["rules", "import", str(RULES), *db])
    capsys.readouterr()
    before = _state(db[1])
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "segments": {"T-R1": "medical"},
                "rules": [
                    {"id": "gone", "territory": "T-R9"},
                    {
                        "id": "pharm",
                        "criteria": [{"field": "category", "values": "pharmacy"}],
                        "segment": "medical",
                    },
                    {
                        "id": "pharm-a",
                        "criteria": [
                            {"field": "category", "values": "pharmacy"},
                            {"field": "value_class", "values": "A"},
                        ],
                        "segment": "medical",
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    err = _fails(["rules", "import", str(bad), *db], capsys)
    assert f"{bad}:1: territory: rule gone: territory T-R9 does not exist" in err
    assert (
        f"{bad}:3: criteria: rule pharm-a: can never win: every account it matches is taken "
        "first by rule pharm (category = pharmacy)"
    ) in err
    err = _fails(["rules", "check", str(bad), *db], capsys)
    assert "rule gone: territory T-R9 does not exist" in err
    bad.write_text(
        json.dumps(
            [{"id": "x", "criteria": [{"field": "colour", "values": "red"}], "territory": "T-R1"}]
        ),
        encoding="utf-8",
    )
    err = _fails(["rules", "import", str(bad), *db], capsys)
    assert f"{bad}:1: criteria[1].field: rule x: unknown field 'colour'" in err
    bad.write_text(json.dumps({"segments": {"T-X": "m"}, "rules": []}), encoding="utf-8")
    err = _fails(["rules", "import", str(bad), *db], capsys)
    assert f"{bad}: segments: territory T-X does not exist" in err
    assert _state(db[1]) == before  # nothing stored


def test_assign_dry_run_then_apply(
    setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = setup
    main(["rules", "import", str(RULES), *db])
    capsys.readouterr()
    before = _state(db[1])
    out = _run(["assign", "--dry-run", "--straight-line", "--quiet", "--show", "0", *db], capsys)
    assert "accounts would change owner" in out
    assert "rule medical:" in out
    assert "rule key-altstadt: tag = key account" in out
    assert "Balance afterwards" in out
    assert "dry run: nothing stored" in out
    assert _state(db[1]) == before
    changed = int(out.split(" accounts would change owner")[0].split()[-1])
    assert changed > 0
    out = _run(["assign", "--apply", "--by", "carla", "--straight-line", "--quiet", *db], capsys)
    assert f"applied: {changed} accounts changed owner" in out
    store = Store.open(db[1])
    try:
        owners = store.territories.current_ownerships()
        by_rule = [o for o in owners.values() if o.changed_by == "carla"]
        assert len(by_rule) == changed
        assert all(o.cause == OwnershipCause.RULE and o.detail.startswith("rule ") for o in by_rule)
        # Every account the medical rule matched is now with a medical rep (R1 or R3).
        medical = {"pharmacy", "doctors", "dentist", "physician", "hospital"}
        for a in store.accounts.all():
            if a.category in medical and "key account" not in a.tags:
                assert owners[a.account_id].rep_id in {"R1", "R3"}, a.account_id
    finally:
        store.close()
    # Applied: a second dry run finds nothing more to change.
    out = _run(["assign", "--dry-run", "--straight-line", "--quiet", *db], capsys)
    assert "0 accounts would change owner" in out
    err = _fails(["assign", "--straight-line", *db], capsys)
    assert "give exactly one of --dry-run, --apply" in err


def test_import_assigns_only_new_accounts(
    setup: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = setup
    main(["rules", "import", str(RULES), *db])
    capsys.readouterr()
    old_territories, old_history, _ = _state(db[1])
    out = _run(
        [
            "import",
            "-a",
            str(SAMPLE_DIR / "accounts.csv"),
            "-r",
            str(SAMPLE_DIR / "reps.csv"),
            "--straight-line",
            "--by",
            "importer",
            *db,
        ],
        capsys,
    )
    assert "imported 300 accounts and 4 reps" in out
    assert "assigned 50 new accounts:" in out
    assert "Balance afterwards" in out
    store = Store.open(db[1])
    try:
        territories = store.territories.all()
        history = store.territories.ownership_history()
        owners = store.territories.current_ownerships()
    finally:
        store.close()
    assert sum(len(t.account_ids) for t in territories) == 300
    # The 250 existing accounts did not move: their open periods are the design's.
    before = {h.account_id: h for h in old_history if h.valid_to is None}  # type: ignore[attr-defined]
    for account_id, period in before.items():
        assert owners[account_id] == period
    new = [owners[f"A{k:03d}"] for k in range(251, 301)]
    assert all(o.cause == OwnershipCause.IMPORT and o.changed_by == "importer" for o in new)
    reasons = {o.detail.split(":")[0] for o in new}
    assert "rule medical" in reasons
    assert "nearest territory with spare capacity" in reasons
    assert len(history) == len(old_history) + 50  # type: ignore[arg-type]
    assert old_territories != territories


def test_import_without_a_road_network_falls_back_to_straight_lines(
    setup: tuple[list[str], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, tmp_path = setup
    monkeypatch.setenv("RP_OSM_PATH", str(tmp_path / "missing.osm.pbf"))
    main(
        ["import", "-a", str(SAMPLE_DIR / "accounts.csv"), "-r", str(SAMPLE_DIR / "reps.csv"), *db]
    )
    captured = capsys.readouterr()
    assert "not found; assigning with straight-line travel" in " ".join(captured.err.split())
    assert "assigned 50 new accounts" in captured.out
    assert "travel: haversine" in " ".join(captured.out.split())
    # An extract named explicitly must exist: exit code 3 (road network problem).
    with pytest.raises(SystemExit) as info:
        main(["assign", "--dry-run", "--osm", str(tmp_path / "missing.osm.pbf"), *db])
    assert info.value.code == 3
