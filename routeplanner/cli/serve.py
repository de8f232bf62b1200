"""``routeplanner serve`` and ``routeplanner demo``: the web UI; the sample region end to end."""

from __future__ import annotations

from pathlib import Path

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, road_travel
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
    replan: bool = typer.Option(False, "--replan", help="Import and plan again from scratch."),
    weeks: int = typer.Option(4, "--weeks", min=1, max=13, help="Horizon length."),
    time_limit: float | None = typer.Option(
        None, "--time-limit", min=0.5, help="Search seconds per territory."
    ),
) -> None:
    """Take the bundled Heidelberg sample end to end: import, roads, territories, plan, serve.

    A second run reuses the stored plan (``--replan`` plans again), so the UI is up in seconds.
    """
    from routeplanner.cli.data import read_inputs
    from routeplanner.cli.plan import plan_stored
    from routeplanner.model import Horizon
    from routeplanner.storage.repository import Repository
    from routeplanner.workflows import load_holidays, next_monday

    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        osm_path=SAMPLE_DIR / "heidelberg.osm.pbf",
        plan_time_limit_s=time_limit,
    )
    repo = Repository.open(settings.database_url)
    travel = road_travel(settings.osm_path, settings)
    current = repo.current_plan()
    if current is None or replan:
        accounts, reps = read_inputs(SAMPLE_DIR / "accounts.csv", SAMPLE_DIR / "reps.csv")
        repo.replace_accounts_and_reps(accounts, reps, source="sample_data")
        repo.save_territories([], cause="import", detail="sample re-import", replace_all=True)
        console.print(f"imported {len(accounts)} sample accounts and {len(reps)} reps")
        snaps = travel.snap(
            [(a.account_id, a.location) for a in accounts] + [(r.rep_id, r.home) for r in reps]
        )
        console.print(f"{len(snaps.unreachable)} of {len(snaps.snaps)} points unreachable by road")
        horizon = Horizon(
            start=next_monday(settings.timezone), weeks=weeks, timezone=settings.timezone
        )
        holidays = load_holidays(settings.holidays_path)
        plan_stored(repo, travel, horizon, holidays, settings)
    else:
        console.print(f"using the stored plan {current[0]} (run with --replan to plan again)")
    if serve:
        _serve(settings)
