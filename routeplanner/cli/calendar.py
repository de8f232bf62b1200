"""``routeplanner calendar ...``: export a rep's visits as .ics and manage feed URLs.

Feed tokens are attached to users (see :mod:`routeplanner.services.calendar`): ``--rep R`` uses
the rep's
user, creating a login-less ``calendar-R`` user when the rep has none; ``--team`` uses the
manager user ``calendar-team``. Only hashes are stored, so a URL is printed once, when issued.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.errors import InputError, NotFoundError, Problem

if TYPE_CHECKING:
    from routeplanner.services.calendar import CalendarFeeds

calendar_app = typer.Typer(
    name="calendar",
    help="Calendar feeds: .ics export of a date range, feed URLs (create, rotate, revoke).",
    no_args_is_help=True,
)
app.add_typer(calendar_app)

DB_OPTION = typer.Option(None, "--database-url", help="Overrides DATABASE_URL.")


def _feeds(database_url: str | None) -> CalendarFeeds:
    from routeplanner.services.calendar import CalendarFeeds
    from routeplanner.storage import Store

    settings = load_settings(database_url=database_url)
    return CalendarFeeds(Store.open(settings.database_url), settings)


def _base_url(settings_public: str, host: str, port: int) -> str:
    return settings_public or f"http://{host}:{port}"


def _problem(field: str, message: str) -> Problem:
    return Problem("command line", None, field, message)


@calendar_app.command("export")
def export(
    rep: str = typer.Option(..., "--rep", help="Rep id."),
    first: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD)."),
    last: str = typer.Option(..., "--to", help="Last day (YYYY-MM-DD), inclusive."),
    output: Path = typer.Option(..., "-o", "--output", help="The .ics file to write."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Write the rep's planned visits from FROM to TO (current plan) as an .ics file."""
    from routeplanner.services.calendar import ExportParams, export_range

    problems: list[Problem] = []
    names = {"rep": "--rep", "first": "--from", "last": "--to"}
    params = None
    try:
        texts = {"--rep": rep, "--from": first, "--to": last}
        params = ExportParams.from_text(texts, source="command line", names=names)
    except InputError as exc:
        problems += exc.problems
    feeds = _feeds(database_url)
    if feeds.store.reps.get(rep) is None:  # said with the other problems, not on its own
        problems.append(_problem("--rep", f"no rep {rep!r} in the database"))
    if problems or params is None:
        raise InputError(problems)
    settings = feeds.settings
    base_url = _base_url(settings.public_url, settings.host, settings.port)
    rep_obj, feed = export_range(feeds, params, base_url=base_url)
    output.write_bytes(feed.text.encode("utf-8"))
    console.print(
        f"{output}: {feed.events} events of {rep_obj.name} ({first} .. {last})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@calendar_app.command("token")
def token(
    rep: str | None = typer.Option(None, "--rep", help="Rep id (the rep's own feed)."),
    team: bool = typer.Option(False, "--team", help="The team feed (all reps)."),
    manager: str = typer.Option(
        "calendar-team", "--manager", help="With --team: the manager user owning the feed."
    ),
    rotate: bool = typer.Option(False, "--rotate", help="Revoke the old URL, print a new one."),
    revoke: bool = typer.Option(False, "--revoke", help="Revoke the feed URL(s)."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Print a new feed URL when none is active (or with --rotate); --revoke stops the feed."""
    problems: list[Problem] = []
    if (rep is None) == (not team):
        problems.append(_problem("--rep", "give either --rep R or --team"))
    if rotate and revoke:
        problems.append(_problem("--revoke", "cannot be used with --rotate"))
    if problems:
        raise InputError(problems)
    from routeplanner.services.calendar import feed_user

    feeds = _feeds(database_url)
    try:
        user = feed_user(feeds, rep=rep, team=team, manager=manager)
    except NotFoundError as exc:
        raise InputError([_problem("--manager" if team else "--rep", str(exc))]) from None
    who = "the team" if team else f"rep {rep}"
    if revoke:
        count = feeds.revoke(user)
        console.print(f"revoked {count} feed URL(s) of {who}", markup=False, highlight=False)
        return
    if not rotate and feeds.active_tokens(user):
        console.print(
            f"{who} has an active feed URL (only its hash is stored); "
            "use --rotate for a new URL or --revoke to stop it",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return
    from routeplanner.services.calendar import feed_urls

    settings = feeds.settings
    base = _base_url(settings.public_url, settings.host, settings.port)
    url, webcal = feed_urls(base, feeds.rotate(user))
    console.print(url, markup=False, highlight=False, soft_wrap=True)
    console.print(webcal, markup=False, highlight=False, soft_wrap=True)
