"""The core must not know about the edges: checked on the source with ``ast``, not by convention."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "routeplanner"
CORE = [
    "model",
    "roads",
    "travel",
    "learning",
    "territories",
    "assignment",
    "scheduling",
    "routing",
    "planner.py",
    "units.py",
    "errors.py",
]
EDGE_LIBRARIES = {
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "jinja2",
    "typer",
    "click",
    "uvicorn",
}
# model is the bottom layer: it may import nothing of ours but units/errors.
MODEL_ALLOWED = {"routeplanner.model", "routeplanner.units", "routeplanner.errors"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(entry: str) -> list[Path]:
    target = PKG / entry
    if target.is_file():
        return [target]
    return sorted(target.rglob("*.py"))


@pytest.mark.parametrize("entry", CORE)
def test_core_does_not_import_edge_libraries(entry: str) -> None:
    for path in _files(entry):
        bad = {n for n in _imports(path) if n.split(".")[0] in EDGE_LIBRARIES}
        assert not bad, f"{path.relative_to(PKG.parent)} imports {sorted(bad)}"


@pytest.mark.parametrize("entry", CORE)
def test_core_does_not_import_io_storage_web_cli(entry: str) -> None:
    edges = ("routeplanner.io", "routeplanner.storage", "routeplanner.web", "routeplanner.cli")
    for path in _files(entry):
        bad = {n for n in _imports(path) if n.startswith(edges)}
        assert not bad, f"{path.relative_to(PKG.parent)} imports {sorted(bad)}"


def test_model_imports_nothing_else_of_ours() -> None:
    for path in _files("model"):
        ours = {n for n in _imports(path) if n.startswith("routeplanner")}
        bad = {n for n in ours if not n.startswith(tuple(MODEL_ALLOWED))}
        assert not bad, f"{path.relative_to(PKG.parent)} imports {sorted(bad)}"


def test_only_the_ortools_adapter_imports_ortools() -> None:
    users = [
        p.relative_to(PKG).as_posix()
        for p in PKG.rglob("*.py")
        if any(n.split(".")[0] == "ortools" for n in _imports(p))
    ]
    assert set(users) <= {"routing/ortools_vrptw.py"}, users


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    """Guard the guard: a file importing fastapi must be reported by the scan."""
    bad = tmp_path / "bad.py"
    bad.write_text("import fastapi\nfrom sqlalchemy.orm import Session\n", encoding="utf-8")
    assert _imports(bad) == {"fastapi", "sqlalchemy.orm"}
