"""``routeplanner serve`` and ``routeplanner demo``: the web UI; the sample region end to end."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, road_travel
from routeplanner.settings import SAMPLE_DIR, Settings

if TYPE_CHECKING:
    from routeplanner.storage import Store

DEMO_USER = "manager"
DEMO_PASSWORD_ENV = "RP_DEMO_PASSWORD"


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
    from routeplanner.storage import Store
    from routeplanner.workflows import load_holidays, next_monday, replace_accounts_and_reps

    settings = load_settings(
        host=host,
        port=port,
        database_url=database_url,
        osm_path=SAMPLE_DIR / "heidelberg.osm.pbf",
        plan_time_limit_s=time_limit,
    )
    store = Store.open(settings.database_url)
    travel = road_travel(settings.osm_path, settings)
    current = store.plans.current()
    if current is None or replan:
        accounts, reps = read_inputs(SAMPLE_DIR / "accounts.csv", SAMPLE_DIR / "reps.csv")
        replace_accounts_and_reps(store, accounts, reps, source="sample_data")
        store.territories.save([], cause="import", detail="sample re-import", replace_all=True)
        console.print(f"imported {len(accounts)} sample accounts and {len(reps)} reps")
        snaps = travel.snap(
            [(a.account_id, a.location) for a in accounts] + [(r.rep_id, r.home) for r in reps]
        )
        console.print(f"{len(snaps.unreachable)} of {len(snaps.snaps)} points unreachable by road")
        horizon = Horizon(
            start=next_monday(settings.timezone), weeks=weeks, timezone=settings.timezone
        )
        holidays = load_holidays(settings.holidays_path)
        plan_stored(store, travel, horizon, holidays, settings)
        _demo_rules(store)
    else:
        console.print(f"using the stored plan {current[0]} (run with --replan to plan again)")
    hint = ensure_demo_login(store)
    if serve:
        _serve(settings, hint)
    else:
        console.print(hint, highlight=False, markup=False)


def _demo_rules(store: Store) -> None:
    """Store the sample assignment rules, so the rules page of the demo shows real ones.

    They are checked against the territories just designed; a sample that no longer fits is
    reported and skipped rather than stopping the demo.
    """
    from routeplanner.assignment import load_rules_file
    from routeplanner.errors import InputError
    from routeplanner.workflows import import_rules

    path = SAMPLE_DIR / "assignment_rules.json"
    try:
        import_rules(store, load_rules_file(path), source=path.name, user="demo")
    except InputError as exc:
        console.print(f"sample rules not stored: {exc}", highlight=False, markup=False)
        return
    console.print(f"stored the sample assignment rules from {path.name} (see /rules)")


def ensure_demo_login(store: Store, password: str | None = None) -> str:
    """Make sure the demo can be logged into; returns the hint to print next to the URL.

    The first run creates user ``manager`` with ``RP_DEMO_PASSWORD`` or a random password,
    printed once (only its hash is stored); with ``RP_DEMO_PASSWORD`` set, later runs reset the
    password to it, so a forgotten random password is never a dead end.
    """
    from routeplanner.auth import hash_password
    from routeplanner.storage import UserRole

    password = password if password is not None else os.environ.get(DEMO_PASSWORD_ENV) or None
    user = store.users.find(DEMO_USER)
    if user is None:
        chosen = password or secrets.token_urlsafe(12)
        store.users.create(DEMO_USER, hash_password(chosen), role=UserRole.MANAGER)
        return f"log in as {DEMO_USER!r} with password {chosen!r} (shown once)"
    if password:
        store.users.update(user.user_id, password_hash=hash_password(password), active=True)
        return f"log in as {DEMO_USER!r} with the password from {DEMO_PASSWORD_ENV}"
    return (
        f"log in as {DEMO_USER!r} (password printed on the first run; set {DEMO_PASSWORD_ENV} "
        "to reset it, or use: routeplanner user create)"
    )
