"""``routeplanner targets set|show|import``: a target set from options, shown with defaults
marked and written as a file that imports back; bad options name the option."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.cli import main
from routeplanner.storage import Store
from tests.web.rep_day_data import store_world, today


def test_set_show_and_import(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    store_world(store, today())
    url = ["--database-url", store.engine.url.render_as_string(hide_password=False)]
    main(["targets", "set", "--territory", "T1", "--month", "2026-04", "--revenue", "4200", *url])
    assert "saved targets of territory T1 for 2026-04" in capsys.readouterr().out
    out_csv = tmp_path / "ziele.csv"
    main(["targets", "show", "--month", "2026-04", "--csv", str(out_csv), *url])
    shown = capsys.readouterr().out
    assert "4,200" in shown
    assert "90% (d)" in shown
    assert out_csv.read_text().splitlines()[:3] == [
        "scope,id,month,revenue,visits_done,coverage,new_accounts",
        "territory,T1,2026-04,4200,,,",
        "territory,T2,2026-04,,,,",
    ]
    main(["targets", "import", str(out_csv), *url])
    assert "saved 4 targets" in capsys.readouterr().out
    assert [t.revenue for t in store.targets.find() if t.scope_id == "T1"] == [4200.0]
    with pytest.raises(SystemExit) as exc:
        main(["targets", "set", "--rep", "R1", "--month", "2026-4", "--coverage", "x", *url])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["command line: --coverage: 'x' is not a number"]
    with pytest.raises(SystemExit):
        main(["targets", "set", "--rep", "R1", "--month", "Mai", *url])
    assert capsys.readouterr().err.splitlines() == [
        "command line: --month: 'Mai' is not a month YYYY-MM"
    ]
