"""``routeplanner user``: create (stdin or prompt), list, API tokens that the web API accepts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from routeplanner.auth import verify_password
from routeplanner.cli import main
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.users import ensure_demo_login
from routeplanner.settings import Settings
from routeplanner.storage import Store
from routeplanner.web.app import create_app
from tests.conftest import small_region
from tests.databases import MigratedSqlite


@pytest.fixture
def db(tmp_path: Path, migrated_sqlite: MigratedSqlite) -> str:
    url = migrated_sqlite.copy(tmp_path / "users.sqlite")
    store = Store.open(url)
    accounts, reps = small_region()
    replace_accounts_and_reps(store, accounts, reps, source="test")
    store.close()
    return url


def run(
    args: list[str], db: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None
) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        main([*args, "--database-url", db])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_create_list_and_token(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["user", "create", "anna", "--role", "rep", "--rep", "R1", "--password-stdin"]
    assert run(args, db, "s3cret-pass\n", monkeypatch) == 0
    assert "created rep user 'anna'" in capsys.readouterr().out
    store = Store.open(db)
    user = store.users.find("anna")
    assert user is not None
    assert user.rep_id == "R1"
    assert user.password_hash.startswith("$argon2")
    assert verify_password(user.password_hash, "s3cret-pass")
    assert run(["user", "list"], db) == 0
    assert capsys.readouterr().out.split() == ["anna", "rep", "R1", "active", "-"]
    assert run(["user", "token", "anna"], db) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) == 43
    settings = Settings(database_url=db)
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/reps", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200


def test_create_rejects_bad_input_listing_every_problem(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["user", "create", "x", "--role", "boss", "--rep", "R9"], db) == 2
    err = capsys.readouterr().err
    assert "--role: 'boss' is not one of admin, manager, rep" in err
    assert "--rep: no rep 'R9'" in err
    assert run(["user", "create", "y", "--role", "rep"], db) == 2
    assert "--rep: a rep user needs a rep" in capsys.readouterr().err


def test_short_password_and_duplicate_user(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["user", "create", "boss", "--role", "manager", "--password-stdin"]
    assert run(args, db, "short\n", monkeypatch) == 2
    assert "must have at least 8 characters" in capsys.readouterr().err
    assert run(args, db, "long enough\n", monkeypatch) == 0
    assert run(args, db, "long enough\n", monkeypatch) == 2
    assert "user 'boss' already exists" in capsys.readouterr().err
    assert run(["user", "token", "nobody"], db) == 2


def test_demo_creates_a_manager_once_and_can_reset_the_password(db: str) -> None:
    store = Store.open(db)
    hint = ensure_demo_login(store)
    password = hint.split("'")[3]
    user = store.users.find("manager")
    assert user is not None
    assert verify_password(user.password_hash, password)
    assert "printed on the first run" in ensure_demo_login(store)
    ensure_demo_login(store, "demo-password")
    user = store.users.find("manager")
    assert user is not None
    assert verify_password(user.password_hash, "demo-password")


def test_create_prompts_for_the_password_twice(db: str) -> None:
    from typer.testing import CliRunner

    from routeplanner.cli import _register, app

    _register()
    runner = CliRunner()
    args = ["user", "create", "boss", "--role", "manager", "--database-url", db]
    mismatch = runner.invoke(app, args, input="first-password\nother-password\n" * 1)
    assert "do not match" in mismatch.output
    ok = runner.invoke(app, args, input="first-password\nfirst-password\n")
    assert ok.exit_code == 0, ok.output
    user = Store.open(db).users.find("boss")
    assert user is not None
    assert verify_password(user.password_hash, "first-password")
