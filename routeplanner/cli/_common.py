"""Helpers shared by command modules: settings, consoles and a rich progress bar adapter."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from routeplanner.roads.graph import load_road_graph
from routeplanner.settings import Settings
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider
from routeplanner.travel.road import RoadTravel

# Piped output (CI logs, files) gets 120 columns so KPI tables are not cut to 80.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, soft_wrap=True)

if TYPE_CHECKING:
    from routeplanner.storage import Store

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


def pick_travel(
    osm: Path | None, *, straight_line: bool, settings: Settings | None = None
) -> TravelTimeProvider:
    """Road travel on ``osm`` (default: the configured extract), or the straight-line estimate
    when ``--straight-line`` asks for it."""
    if straight_line:
        return HaversineTravel()
    settings = settings or Settings()
    return road_travel(osm or settings.osm_path, settings)


def store_of(database_url: str | None) -> Store:
    """The database of ``--database-url`` (default: the settings), migrated to the newest
    schema."""
    from routeplanner.storage import Store

    return Store.open(load_settings(database_url=database_url).database_url)
