"""A real calendar client reads the feed: Debian's ``khal`` imports it and lists the events.

Plan v1 is imported, then the feed after plan v2 (one visit moved, one removed) is imported over
it: khal must show the moved visit once at its new time (same UID, higher SEQUENCE) and the
removed one as CANCELLED, in local Berlin time on both sides of the DST change.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from routeplanner.services.calendar import CalendarFeeds
from routeplanner.storage import Store
from tests.calendar.conftest import LONG_NAME, Clock, plan_v1, plan_v2, store_plan
from tests.helpers import require

CONFIG = """\
[calendars]
[[visits]]
path = {vdir}
type = calendar

[locale]
local_timezone = Europe/Berlin
default_timezone = Europe/Berlin
timeformat = %H:%M
dateformat = %Y-%m-%d
longdateformat = %Y-%m-%d
datetimeformat = %Y-%m-%d %H:%M
longdatetimeformat = %Y-%m-%d %H:%M

[default]
default_calendar = visits
"""


def _khal(tmp_path: Path, *args: str) -> str:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    done = subprocess.run(
        ["khal", "-c", str(tmp_path / "khal.conf"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _import(tmp_path: Path, feeds: CalendarFeeds, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(feeds.feed(["R1"], name="Visits", base_url="https://p.example").text.encode())
    _khal(tmp_path, "import", "--batch", "-a", "visits", str(path))


def _listing(tmp_path: Path) -> list[str]:
    out = _khal(
        tmp_path,
        "list",
        "--format",
        "{start} {end} {title} | {location} | {status}",
        "2027-03-20",
        "30d",
    )
    return [line.strip() for line in out.splitlines() if "|" in line]


def test_khal_imports_the_feed_and_follows_a_replan(
    tmp_path: Path, feeds: CalendarFeeds, cal_store: Store, clock: Clock
) -> None:
    require(shutil.which("khal") is not None, "khal")
    vdir = tmp_path / "vdir"
    vdir.mkdir()
    (tmp_path / "khal.conf").write_text(CONFIG.format(vdir=vdir), encoding="utf-8")

    store_plan(cal_store, plan_v1())
    _import(tmp_path, feeds, "v1.ics")
    assert _listing(tmp_path) == [
        f"2027-03-26 09:00 2027-03-26 09:30 {LONG_NAME} | Hauptstraße 1, 69117 Heidelberg"
        " | CONFIRMED",
        f"2027-03-29 09:00 2027-03-29 09:30 {LONG_NAME} | Hauptstraße 1, 69117 Heidelberg"
        " | CONFIRMED",
        "2027-03-29 10:00 2027-03-29 10:45 Apotheke am Bismarckplatz"
        " | Bismarckplatz 2, Heidelberg | CONFIRMED",
    ]
    assert len(list(vdir.glob("*.ics"))) == 3

    clock.advance(hours=1)
    store_plan(cal_store, plan_v2())
    _import(tmp_path, feeds, "v2.ics")
    assert _listing(tmp_path) == [
        f"2027-03-26 09:00 2027-03-26 09:30 {LONG_NAME} | Hauptstraße 1, 69117 Heidelberg"
        " | CONFIRMED",
        "2027-03-29 10:00 2027-03-29 10:45 Apotheke am Bismarckplatz"
        " | Bismarckplatz 2, Heidelberg | CANCELLED",
        f"2027-03-30 11:00 2027-03-30 11:30 {LONG_NAME} | Hauptstraße 1, 69117 Heidelberg"
        " | CONFIRMED",
    ]
    assert len(list(vdir.glob("*.ics"))) == 3  # updated in place, nothing duplicated
