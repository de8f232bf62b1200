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
    "fanout.py",
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


ALGORITHMS = (
    "routeplanner.territories",
    "routeplanner.assignment",
    "routeplanner.scheduling",
    "routeplanner.routing",
    "routeplanner.planner",
    "routeplanner.fanout",
)
"""What the entry points reach only through :mod:`routeplanner.services` (they re-export the
result types the entry points show)."""


def _reaches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules(path: Path) -> set[str]:
    """:func:`_imports` plus each ``from X import y`` as ``X.y``, which may be a module
    (``from routeplanner import planner``)."""
    names = _imports(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize("entry", ["web", "cli"])
def test_entry_points_do_not_import_the_algorithms(entry: str) -> None:
    for path in _files(entry):
        bad = {n for n in _modules(path) if _reaches(n, ALGORITHMS)}
        assert not bad, f"{path.relative_to(PKG.parent)} imports {sorted(bad)}"


def test_services_do_not_import_the_entry_points() -> None:
    edges = ("routeplanner.web", "routeplanner.cli", "fastapi", "starlette", "typer", "click")
    for path in _files("services"):
        bad = {n for n in _modules(path) if _reaches(n, edges)}
        assert not bad, f"{path.relative_to(PKG.parent)} imports {sorted(bad)}"


def test_http_exceptions_are_raised_in_one_place() -> None:
    """Status codes come from error types in web/errors.py; nothing else raises HTTP errors."""
    users = [
        p.relative_to(PKG).as_posix()
        for p in _files("web")
        if "HTTPException" in p.read_text(encoding="utf-8")
    ]
    assert users == ["web/errors.py"]


def test_the_entry_point_check_catches_a_violation(tmp_path: Path) -> None:
    """Guard the guard: an algorithm import, plain or from a submodule, is found."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from routeplanner.territories.design import design_territories\n"
        "from routeplanner import planner\nfrom routeplanner.services import planning\n",
        encoding="utf-8",
    )
    found = {n for n in _modules(bad) if _reaches(n, ALGORITHMS)}
    assert found == {
        "routeplanner.territories.design",
        "routeplanner.territories.design.design_territories",
        "routeplanner.planner",
    }


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
