"""``routeplanner check-data``: exit 0 with a summary for good files, exit 2 listing every problem
of both files for bad ones."""

from __future__ import annotations

import pytest

from routeplanner.cli import main
from tests.helpers import DATA_DIR, SAMPLE_DIR


def test_good_files_exit_zero_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "check-data",
            "--accounts",
            str(SAMPLE_DIR / "accounts.csv"),
            "--reps",
            str(SAMPLE_DIR / "reps.csv"),
        ]
    )
    out = capsys.readouterr().out
    assert "accounts.csv: 300 accounts ok (" in out
    assert "reps.csv: 4 reps ok" in out


def test_bad_files_exit_two_listing_problems_of_both(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(
            [
                "check-data",
                "--accounts",
                str(DATA_DIR / "accounts_duplicate_id.csv"),
                "--reps",
                str(DATA_DIR / "reps_bad_email.csv"),
            ]
        )
    assert info.value.code == 2
    err = " ".join(capsys.readouterr().err.split())  # the console may wrap long lines
    assert "accounts_duplicate_id.csv:5: id: duplicate id 'A1' (first used in row 2)" in err
    assert "reps_bad_email.csv:3: email: 'juergen.weiss' is not an e-mail address" in err
