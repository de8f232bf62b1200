"""``routeplanner serve`` and ``routeplanner demo``: the web UI; the sample region end to end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, road_travel
from routeplanner.settings import SAMPLE_DIR, Settings

if TYPE_CHECKING:
    from routeplanner.storage import Store


def _serve(settings: Settings, login_hint: str = "") -> None:
    import uvicorn

    from routeplanner.web.app import create_app

    web = create_app(settings)
    console.print(
        f"serving routeplanner on http://{settings.host}:{settings.port}/  (Ctrl+C stops)"
    )
    if login_hint:
        console.print(login_hint, highlight=False, markup=False)
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
    weeks: int = typer.Option(4, "--weeks", help="Horizon length in weeks."),
    time_limit: float | None = typer.Option(
        None, "--time-limit", help="Search seconds per territory."
    ),
) -> None:
    """Take the bundled Heidelberg sample end to end: import, roads, territories, plan, serve.

    A second run reuses the stored plan (``--replan`` plans again), so the UI is up in seconds.
    """
    from routeplanner.auth import PasswordCost
    from routeplanner.cli.plan import plan_stored
    from routeplanner.services.imports import read_files, replace_accounts_and_reps
    from routeplanner.services.params import labelled
    from routeplanner.services.planning import PlanningSetup, PlanParams, next_monday
    from routeplanner.services.users import ensure_demo_login
    from routeplanner.storage import Store

    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        osm_path=SAMPLE_DIR / "heidelberg.osm.pbf",
        plan_time_limit_s=time_limit,
    )
    with labelled("command line", {"weeks": "--weeks", "time_limit_s": "--time-limit"}):
        params = PlanParams(
            start=next_monday(settings.timezone),
            weeks=weeks,
            time_limit_s=settings.plan_time_limit_s,
        )
    store = Store.open(settings.database_url)
    travel = road_travel(settings.osm_path, settings)
    current = store.plans.current()
    if current is None or replan:
        accounts, reps = read_files(SAMPLE_DIR / "accounts.csv", SAMPLE_DIR / "reps.csv")
        replace_accounts_and_reps(
            store, accounts, reps, source="sample_data", forget_territories=True
        )
        console.print(f"imported {len(accounts)} sample accounts and {len(reps)} reps")
        snaps = travel.snap(
            [(a.account_id, a.location) for a in accounts] + [(r.rep_id, r.home) for r in reps]
        )
        console.print(f"{len(snaps.unreachable)} of {len(snaps.snaps)} points unreachable by road")
        plan_stored(store, travel, params, PlanningSetup.of(settings), settings)
        _demo_rules(store)
        _demo_history(store, settings)
    else:
        console.print(f"using the stored plan {current[0]} (run with --replan to plan again)")
    hint = ensure_demo_login(store, cost=PasswordCost.from_settings(settings))
    if serve:
        _serve(settings, hint)
    else:
        console.print(hint, highlight=False, markup=False)


def _demo_history(store: Store, settings: Settings) -> None:
    """Twelve weeks of reported visits and twelve months of sales, so /performance has
    something to show."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from routeplanner.services.sample_history import seed_history

    today = datetime.now(tz=ZoneInfo(settings.timezone)).date()
    found = seed_history(store, today=today)
    console.print(
        f"stored a sample history: {found.visits} visit reports, {found.sales} monthly sales "
        f"figures; under target: {', '.join(found.weak_territories) or 'none'} (see /performance)"
    )


def _demo_rules(store: Store) -> None:
    """Store the sample assignment rules, so the rules page of the demo shows real ones.

    They are checked against the territories just designed; a sample that no longer fits is
    reported and skipped rather than stopping the demo.
    """
    from routeplanner.errors import InputError
    from routeplanner.services.assignment import import_rules, load_rules_file

    path = SAMPLE_DIR / "assignment_rules.json"
    try:
        import_rules(store, load_rules_file(path), source=path.name, user="demo")
    except InputError as exc:
        console.print(f"sample rules not stored: {exc}", highlight=False, markup=False)
        return
    console.print(f"stored the sample assignment rules from {path.name} (see /rules)")
