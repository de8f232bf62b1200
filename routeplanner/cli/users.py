"""``routeplanner user ...``: web logins (manager or rep) and their API tokens.

Passwords are read from stdin (``--password-stdin``, for scripts) or prompted twice; they are
never command-line arguments, which other users of the machine could see in the process list.
"""

from __future__ import annotations

import sys

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.errors import InputError, Problem
from routeplanner.storage import Store, UserRole

user_app = typer.Typer(
    name="user", help="Web users: create, list, issue API tokens.", no_args_is_help=True
)
app.add_typer(user_app)

DB_OPTION = typer.Option(None, "--database-url", help="Overrides DATABASE_URL.")


def _store(database_url: str | None) -> Store:
    return Store.open(load_settings(database_url=database_url).database_url)


def _problem(field: str, message: str) -> Problem:
    return Problem("command line", None, field, message)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
def create_command(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help="manager or rep."),
    rep: str | None = typer.Option(None, "--rep", help="The rep id a rep user sees."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    database_url: str | None = DB_OPTION,
) -> None:
    """Create a login; a rep user sees only their own routes and calendar."""
    from routeplanner.auth import MIN_PASSWORD, hash_password

    store = _store(database_url)
    problems = []
    if role not in {r.value for r in UserRole}:
        problems.append(_problem("--role", f"{role!r} is not one of manager, rep"))
    elif role == UserRole.REP and rep is None:
        problems.append(_problem("--rep", "a rep user needs --rep (the rep id)"))
    if rep is not None and store.reps.get(rep) is None:
        problems.append(_problem("--rep", f"no rep {rep!r}"))
    if not username.strip():
        problems.append(_problem("USERNAME", "must not be empty"))
    elif store.users.find(username) is not None:
        problems.append(_problem("USERNAME", f"user {username!r} already exists"))
    if problems:
        raise InputError(problems)
    password = _read_password(password_stdin)
    if len(password) < MIN_PASSWORD:
        raise InputError([_problem("password", f"must have at least {MIN_PASSWORD} characters")])
    user = store.users.create(username, hash_password(password), role=role, rep_id=rep)
    console.print(f"created {user.role.value} user {user.username!r}", highlight=False)


@user_app.command("list")
def list_command(database_url: str | None = DB_OPTION) -> None:
    """Users with role, rep and state (calendar-only users cannot log in)."""
    from routeplanner.feeds import NO_LOGIN

    for user in _store(database_url).users.all():
        state = "active" if user.active else "inactive"
        if user.password_hash == NO_LOGIN:
            state += ", calendar only"
        rep = user.rep_id or "-"
        console.print(f"{user.username}\t{user.role.value}\t{rep}\t{state}", highlight=False)


@user_app.command("token")
def token_command(
    username: str = typer.Argument(..., help="Whose token."),
    label: str = typer.Option("", "--label", help="What the token is for."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Print a new API token (``Authorization: Bearer <token>``) once; only its hash is kept."""
    from routeplanner.auth import new_api_token

    store = _store(database_url)
    user = store.users.find(username)
    if user is None:
        raise InputError([_problem("USERNAME", f"no user {username!r}")])
    typer.echo(new_api_token(store, user, label=label))
