"""``routeplanner user ...``: web logins (manager or rep) and their API tokens.

Passwords are read from stdin (``--password-stdin``, for scripts) or prompted twice; they are
never command-line arguments, which other users of the machine could see in the process list.
"""

from __future__ import annotations

import sys

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.services import regions as region_service
from routeplanner.services import users as user_service
from routeplanner.services.params import PARAMETERS, labelled
from routeplanner.services.scope import Scope
from routeplanner.storage import Store

user_app = typer.Typer(
    name="user", help="Web users: create, list, issue API tokens.", no_args_is_help=True
)
app.add_typer(user_app)

DB_OPTION = typer.Option(None, "--database-url", help="Overrides DATABASE_URL.")


def _store(database_url: str | None) -> Store:
    return Store.open(load_settings(database_url=database_url).database_url)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


USER_OPTIONS = {"username": "USERNAME", "role": "--role", "rep": "--rep"}


@user_app.command("create")
def create_command(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(
        ..., "--role", help="admin (sees everything), manager (their regions) or rep."
    ),
    rep: str | None = typer.Option(None, "--rep", help="The rep id a rep user sees."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    database_url: str | None = DB_OPTION,
) -> None:
    """Create a login; a rep user sees only their own routes and calendar."""
    from routeplanner.auth import PasswordCost

    settings = load_settings(database_url=database_url)
    store = Store.open(settings.database_url)
    fields = {"username": username.strip(), "role": role, "rep": rep or ""}
    with labelled("command line", USER_OPTIONS):
        # Everything but the password first, so nobody types one for a login that fails.
        user_service.check_identity(store, **fields, source=PARAMETERS)
        fields["password"] = _read_password(password_stdin)
        cost = PasswordCost.from_settings(settings)
        user = user_service.create_user(store, fields, source=PARAMETERS, cost=cost)
    console.print(f"created {user.role.value} user {user.username!r}", highlight=False)


@user_app.command("list")
def list_command(database_url: str | None = DB_OPTION) -> None:
    """Users with role, rep and state (calendar-only users cannot log in)."""
    for row in user_service.users(_store(database_url)):
        user = row.user
        state = "active" if user.active else "inactive"
        if row.calendar_only:
            state += ", calendar only"
        regions = ",".join(sorted(row.regions)) or "-"
        console.print(
            f"{user.username}\t{user.role.value}\t{user.rep_id or '-'}\t{state}\t{regions}",
            highlight=False,
        )


@user_app.command("regions")
def regions_command(
    username: str = typer.Argument(..., help="A manager's login name."),
    regions: list[str] = typer.Argument(None, help="Region ids (none: the manager sees nothing)."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Scope a manager to exactly these regions: they then see and change only those
    regions' territories, accounts, reps, plans, feeds and figures."""
    store = _store(database_url)
    with labelled("command line", {"username": "USERNAME", "regions": "REGIONS"}):
        user = region_service.set_scope(
            store, username, Scope.everything(), regions=regions or [], source=PARAMETERS
        )
    shown = ", ".join(sorted(set(regions or []))) or "none"
    console.print(f"{user.username} manages regions: {shown}", highlight=False)


@user_app.command("role")
def role_command(
    username: str = typer.Argument(..., help="Login name of an admin or manager."),
    role: str = typer.Argument(..., help="admin (sees everything) or manager (their regions)."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Make a user an admin or a region-scoped manager."""
    store = _store(database_url)
    with labelled("command line", {"username": "USERNAME", "role": "ROLE"}):
        user = region_service.set_scope(
            store, username, Scope.everything(), role=role, source=PARAMETERS
        )
    console.print(f"{user.username} is now {role}", highlight=False)


@user_app.command("token")
def token_command(
    username: str = typer.Argument(..., help="Whose token."),
    label: str = typer.Option("", "--label", help="What the token is for."),
    expires_days: int | None = typer.Option(
        None, "--expires-days", help="Days until the token stops working (default: never)."
    ),
    database_url: str | None = DB_OPTION,
) -> None:
    """Print a new API token (``Authorization: Bearer <token>``) once; only its hash is kept."""
    store = _store(database_url)
    typer.echo(user_service.issue_api_token_for(store, username, label, expires_days))
