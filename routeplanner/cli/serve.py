"""``routeplanner serve`` and ``routeplanner demo``: the web UI; the sample region end to end."""

from __future__ import annotations

from pathlib import Path

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, progress_bar
from routeplanner.settings import SAMPLE_DIR, Settings


def _serve(settings: Settings) -> None:
    import uvicorn

    from routeplanner.web.app import create_app

    web = create_app(settings)
    console.print(
        f"serving routeplanner on http://{settings.host}:{settings.port}/  (Ctrl+C stops)"
    )
    uvicorn.run(web, host=settings.host, port=settings.port, log_level="warning")


@app.command("serve")
def serve_command(
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
    osm: Path | None = typer.Option(None, "--osm", help="OSM extract of the region."),
) -> None:
    """Serve the web UI and JSON API."""
    settings = load_settings(host=host, port=port, database_url=database_url, osm_path=osm)
    _serve(settings)


@app.command("demo")
def demo_command(
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
    database_url: str | None = typer.Option(None, "--database-url", help="Overrides DATABASE_URL."),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the web UI afterwards."),
) -> None:
    """Take the bundled Heidelberg sample end to end: import, prepare roads, snap, plan, serve."""
    from routeplanner.cli.data import read_inputs
    from routeplanner.roads.graph import load_road_graph
    from routeplanner.storage.engine import make_engine, migrate, session_factory
    from routeplanner.storage.repository import Repository
    from routeplanner.travel.road import RoadTravel

    settings = load_settings(
        host=host, port=port, database_url=database_url, osm_path=SAMPLE_DIR / "heidelberg.osm.pbf"
    )
    accounts, reps = read_inputs(SAMPLE_DIR / "accounts.csv", SAMPLE_DIR / "reps.csv")
    migrate(settings.database_url)
    repo = Repository(session_factory(make_engine(settings.database_url)))
    repo.replace_accounts_and_reps(accounts, reps, source="sample_data")
    console.print(f"imported {len(accounts)} sample accounts and {len(reps)} reps")
    with progress_bar("road network") as report:
        graph = load_road_graph(settings.osm_path, cache_dir=settings.cache_dir, progress=report)
    travel = RoadTravel(graph, max_snap_m=settings.max_snap_m)
    points = [(a.account_id, a.location) for a in accounts] + [(r.rep_id, r.home) for r in reps]
    report_ = travel.snap(points)
    console.print(
        f"road network: {graph.nodes} nodes, {graph.edges} edges; "
        f"{len(report_.unreachable)} of {len(points)} points unreachable"
    )
    if serve:
        _serve(settings)
