"""Helpers shared by command modules: settings, consoles and a rich progress bar adapter."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from routeplanner.roads.graph import load_road_graph
from routeplanner.settings import Settings
from routeplanner.travel.road import RoadTravel

# Piped output (CI logs, files) gets 120 columns so KPI tables are not cut to 80.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, soft_wrap=True)

ProgressFn = Callable[[str, float], None]


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with command-line overrides (``None`` means "not given")."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)  # type: ignore[arg-type]


@contextmanager
def progress_bar(title: str, *, enabled: bool = True) -> Iterator[ProgressFn]:
    """Yield ``report(message, fraction)`` that drives one rich bar on stderr.

    The core reports progress through plain callbacks so it stays ignorant of rich; this is the
    adapter. With ``enabled=False`` (``--json`` output) the callback does nothing.
    """
    if not enabled:
        yield lambda _message, _fraction: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[message]}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        task = progress.add_task(title, total=1.0, message="")

        def report(message: str, fraction: float) -> None:
            progress.update(task, completed=max(0.0, min(1.0, fraction)), message=message)

        yield report
        progress.update(task, completed=1.0)


def road_travel(osm: Path, settings: Settings | None = None) -> RoadTravel:
    """Road travel times for ``osm``, prepared with a progress bar (cached after the first run)."""
    settings = settings or Settings()
    with progress_bar(f"roads {osm.name}") as report:
        graph = load_road_graph(
            osm, cache_dir=settings.cache_dir, model=settings.road_model, progress=report
        )
    return RoadTravel(graph, max_snap_m=settings.max_snap_m)
