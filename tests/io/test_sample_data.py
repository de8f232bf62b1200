"""The committed sample region: its CSVs import cleanly, the generator reproduces them byte for
byte from the OSM extract, and the holiday list matches the Baden-Württemberg rules."""

from __future__ import annotations

import csv
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import TimeWindow
from routeplanner.units import HOUR, haversine_m
from tests.helpers import SAMPLE_DIR


def test_sample_accounts_import_cleanly() -> None:
    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")
    assert 280 <= len(accounts) <= 320
    freq = Counter(str(a.visit_rule) for a in accounts)
    assert set(freq) == {"weekly", "every 2 weeks", "every 4 weeks"}
    assert min(freq.values()) >= 20  # a real mix, not one frequency with a sprinkle of others
    assert {a.value_class for a in accounts} == {"A", "B", "C"}
    assert len({a.category for a in accounts}) >= 20
    real = [a for a in accounts if a.notes.startswith("OSM ")]
    assert len(real) >= 100  # real businesses of the extract, with their real names
    assert any("ä" in a.name or "ö" in a.name or "ü" in a.name for a in accounts)
    # every account can be visited on at least two weekdays inside the reps' 08:00-17:00 shift
    shift = TimeWindow(8 * HOUR, 17 * HOUR)
    for a in accounts:
        days = [
            d
            for d in range(5)
            if d not in a.forbidden_weekdays
            and any(
                w.length_s >= a.visit_duration_s for w in a.opening_hours.intersect_day(d, shift)
            )
        ]
        assert len(days) >= 2, (a.account_id, str(a.opening_hours))
    # all inside the extract's bounding box (lon 8.580-9.102, lat 49.334-49.512, README)
    assert all(
        49.30 <= a.location.lat <= 49.55 and 8.55 <= a.location.lon <= 9.13 for a in accounts
    )


def test_sample_reps_live_in_different_parts_of_the_region() -> None:
    reps = read_reps(SAMPLE_DIR / "reps.csv")
    assert len(reps) == 4
    homes = [r.home for r in reps]
    gaps = [
        haversine_m(a.lat, a.lon, b.lat, b.lon) for i, a in enumerate(homes) for b in homes[i + 1 :]
    ]
    # k-means centres of the accounts (three quarters of them in the city): no two reps in the
    # same neighbourhood, and the homes span the region
    assert min(gaps) > 2000
    assert max(gaps) > 10_000
    for rep in reps:
        assert rep.lunch is not None
        assert rep.lunch.duration_s == 30 * 60
        assert rep.days_off
        assert rep.email.isascii()
    assert any(not r.name.isascii() for r in reps)  # umlauts in names survive the CSV


@pytest.mark.slow
def test_generator_reproduces_the_committed_files(tmp_path: Path) -> None:
    """Runs the committed script as documented; reading the whole extract takes a few seconds."""
    script = SAMPLE_DIR / "generate.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("accounts.csv", "reps.csv"):
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), name


def _easter(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher), independent of the data file."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month = (h + l_ - 7 * m + 114) // 31
    day = (h + l_ - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def test_holidays_match_the_baden_wuerttemberg_rules() -> None:
    """§ 1 Feiertagsgesetz BW: 12 holidays, five of them moving with Easter."""
    with (SAMPLE_DIR / "holidays-de-bw.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = {date.fromisoformat(r["date"]): r["name"] for r in rows}
    expected: dict[date, str] = {}
    for year in (2026, 2027):
        easter = _easter(year)
        expected |= {
            date(year, 1, 1): "Neujahr",
            date(year, 1, 6): "Heilige Drei Könige",
            easter - timedelta(days=2): "Karfreitag",
            easter + timedelta(days=1): "Ostermontag",
            date(year, 5, 1): "Tag der Arbeit",
            easter + timedelta(days=39): "Christi Himmelfahrt",
            easter + timedelta(days=50): "Pfingstmontag",
            easter + timedelta(days=60): "Fronleichnam",
            date(year, 10, 3): "Tag der Deutschen Einheit",
            date(year, 11, 1): "Allerheiligen",
            date(year, 12, 25): "1. Weihnachtstag",
            date(year, 12, 26): "2. Weihnachtstag",
        }
    assert _easter(2026) == date(2026, 4, 5)
    assert got == expected
    assert len(rows) == 24
