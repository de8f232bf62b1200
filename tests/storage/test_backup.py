"""``routeplanner db backup`` / ``db restore``: an online SQLite backup that round-trips, and
clear pg_dump/pg_restore advice for PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from routeplanner.auth import hash_password
from routeplanner.cli import EXIT_INPUT, main
from routeplanner.model import DayRoute, Horizon, Plan
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.storage import Store, head_revision
from tests.conftest import small_region
from tests.web.test_route_page import DAY


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch | None = None, stdin: str = "") -> int:
    if monkeypatch is not None:
        import io

        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def live(tmp_path: Path) -> tuple[str, Store]:
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    store = Store.open(url)
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    store.users.create("boss", hash_password("a long password"), role="manager")
    route = DayRoute(rep_id="R1", day=DAY, start_s=8 * 3600, end_s=9 * 3600, stops=())
    plan_id = store.plans.start(Horizon(start=DAY, weeks=1))
    store.plans.complete(plan_id, Plan(routes=(route,)))
    return url, store


def _state(store: Store) -> tuple[object, ...]:
    return (
        store.accounts.all(),
        store.reps.all(),
        store.plans.current(),
        [(u.username, u.role, u.password_hash) for u in store.users.all()],
    )


def test_backup_and_restore_round_trip(
    live: tuple[str, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, store = live
    before = _state(store)
    backup = tmp_path / "backups" / "rp.sqlite"
    assert _run(["db", "backup", str(backup), "--url", url]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"schema {head_revision()}" in out
    assert str(backup) in out
    # the day goes on: data changes after the backup ...
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts[:1], reps, source="later")
    store.users.create("late", hash_password("another password"), role="manager")
    assert _state(store) != before
    # ... and the restore brings back exactly what was backed up, in the running database
    assert _run(["db", "restore", str(backup), "--url", url, "--yes"]) == 0
    assert _state(store) == before
    assert not list(backup.parent.glob("*.partial"))


def test_a_backup_holds_committed_data_only_and_does_not_wait_for_writers(
    live: tuple[str, Store], tmp_path: Path
) -> None:
    url, _ = live
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE accounts SET name = 'uncommitted' WHERE account_id = 'A1'")
    try:
        assert _run(["db", "backup", str(tmp_path / "b.sqlite"), "--url", url]) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    copy = Store.open(f"sqlite:///{tmp_path / 'b.sqlite'}", upgrade=False)
    account = copy.accounts.get("A1")
    assert account is not None
    assert account.name == "Bäckerei Müller"
    copy.close()


def test_a_backup_never_overwrites(live: tuple[str, Store], tmp_path: Path) -> None:
    url, _ = live
    target = tmp_path / "exists.sqlite"
    target.write_bytes(b"precious")
    assert _run(["db", "backup", str(target), "--url", url]) == EXIT_INPUT
    assert target.read_bytes() == b"precious"


def test_restore_refuses_what_is_not_a_backup(
    live: tuple[str, Store], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, store = live
    before = _state(store)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database", encoding="utf-8")
    assert _run(["db", "restore", str(junk), "--url", url, "--yes"]) == EXIT_INPUT
    assert "not a routeplanner database" in capsys.readouterr().err
    newer = tmp_path / "newer.sqlite"
    assert _run(["db", "backup", str(newer), "--url", url]) == 0
    with sqlite3.connect(newer) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '9999'")
    assert _run(["db", "restore", str(newer), "--url", url, "--yes"]) == EXIT_INPUT
    assert "9999" in capsys.readouterr().err
    assert _state(store) == before


def test_restore_asks_first(
    live: tuple[str, Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, store = live
    backup = tmp_path / "b.sqlite"
    assert _run(["db", "backup", str(backup), "--url", url]) == 0
    store.users.create("late", hash_password("another password"), role="manager")
    after = _state(store)
    code = _run(["db", "restore", str(backup), "--url", url], monkeypatch, stdin="n\n")
    assert code != 0
    assert _state(store) == after


def test_postgresql_gets_pg_dump_advice(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://rp:geheim@db.example.org:5432/routes"
    assert _run(["db", "backup", "/tmp/x.dump", "--url", url]) == EXIT_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "pg_dump --format=custom --file=/tmp/x.dump" in err
    assert "postgresql://rp@db.example.org:5432/routes" in err
    assert "geheim" not in err
    assert _run(["db", "restore", "/tmp/x.dump", "--url", url, "--yes"]) == EXIT_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "pg_restore --clean --if-exists --no-owner" in err
