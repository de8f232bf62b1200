"""``routeplanner db upgrade|current``: the schema commands a deployment runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeplanner.cli import EXIT_INTERNAL, main
from routeplanner.storage import head_revision


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_upgrade_then_current_on_database_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'rp.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert _run(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{url}: schema empty, newest {head_revision()}"
    assert _run(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"{url}: schema is up to date"
    assert _run(["db", "current"]) == 0
    assert (
        capsys.readouterr().out.strip()
        == f"{url}: schema {head_revision()}, newest {head_revision()}"
    )


def test_unreachable_database_prints_one_line_without_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql+psycopg://rp:geheim@127.0.0.1:9/rp?connect_timeout=2"
    assert _run(["db", "upgrade", "--url", url]) == EXIT_INTERNAL
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines at the terminal width
    assert err.startswith(
        "error: cannot migrate database postgresql+psycopg://rp:***@127.0.0.1:9/rp"
    )
    assert "geheim" not in err
    assert "Traceback" not in err


def test_revision_autogenerates_an_empty_migration_when_models_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run on a copy of the migrations folder so the package itself is not touched."""
    import shutil

    from routeplanner.storage import engine as engine_module

    copy = tmp_path / "migrations"
    shutil.copytree(
        engine_module.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    existing = {p.name for p in (copy / "versions").glob("*.py")}
    monkeypatch.setattr(engine_module, "MIGRATIONS_DIR", copy)
    url = f"sqlite:///{tmp_path / 'rp.sqlite'}"
    head = head_revision()
    assert _run(["db", "revision", "-m", "nothing changed", "--url", url]) == 0
    # compare with the files copied before: a random revision id may start with "0" too
    [new] = [p for p in (copy / "versions").glob("*.py") if p.name not in existing]
    body = new.read_text(encoding="utf-8")
    assert f"down_revision: str | None = '{head}'" in body
    upgrade = body.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    assert "pass" in upgrade
    assert "op." not in upgrade
