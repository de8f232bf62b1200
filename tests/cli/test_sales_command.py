"""``routeplanner sales import``: stores a file, and on a bad one prints every problem as
``file:row: column: message`` with exit code 2 and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.cli import main
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store
from tests.conftest import small_region


def test_import_then_a_bad_file(
    tmp_path: Path, store: Store, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    good = tmp_path / "umsatz.csv"
    good.write_text("account_id;month;revenue\nA1;2026-03;1200,50\nA2;2026-03;80\n")
    main(["sales", "import", str(good), "--database-url", url])
    assert "imported 2 sales rows for 2026-03 (replacing 0)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("account_id,month,revenue\nA1,2026-03,5\nZZ,2026-03,1\nA2,13/2026,1\n")
    with pytest.raises(SystemExit) as exc:
        main(["sales", "import", str(bad), "--database-url", url])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "bad.csv:4: month: bad month '13/2026'; use YYYY-MM",
    ]
    assert [f.revenue for f in store.sales.find()] == [1200.5, 80.0]
