"""``routeplanner learning ...``: planned against actual times from recorded visits, and the
learned travel factors and visit lengths the next plan applies."""

from __future__ import annotations

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings
from routeplanner.services import learning as svc
from routeplanner.services.learning import AccountTimes, LearningParams, RepTimes
from routeplanner.services.params import labelled
from routeplanner.storage import LearnedKind, Store

learning_app = typer.Typer(
    name="learning",
    help="Planned against actual times; confirm learned drive factors and visit lengths.",
    no_args_is_help=True,
)
app.add_typer(learning_app)

DB_OPTION = typer.Option(None, "--database-url", help="Overrides DATABASE_URL.")
WEEKS_OPTION = typer.Option(8, "--weeks", help="Weeks of recorded visits to learn from (1-52).")
DRIVES_OPTION = typer.Option(15, "--min-drives", help="Recorded drives a rep's factor needs.")
VISITS_OPTION = typer.Option(5, "--min-visits", help="Recorded visits an account's length needs.")
OPTIONS = {"weeks": "--weeks", "min_drives": "--min-drives", "min_visits": "--min-visits"}
KIND_HELP = "travel_factor (KEY is a rep id) or visit_seconds (KEY is an account id)."


def _store(database_url: str | None) -> Store:
    return Store.open(load_settings(database_url=database_url).database_url)


def _params(weeks: int, min_drives: int, min_visits: int) -> LearningParams:
    with labelled("command line", OPTIONS):
        return LearningParams(weeks=weeks, min_drives=min_drives, min_visits=min_visits)


def _rep_line(r: RepTimes) -> str:
    estimate = "too few drives"
    if r.estimate is not None:
        e = r.estimate
        estimate = f"x{e.value:.2f} ({e.low:.2f}-{e.high:.2f}, {e.n} drives)"
    in_force = f"x{r.in_force.value:.2f}" if r.in_force is not None else "-"
    planned, actual = r.planned_drive_s / 60, r.actual_drive_s / 60
    return f"{r.rep_id}\t{r.drives}\t{planned:.0f}\t{actual:.0f}\t{estimate}\t{in_force}"


def _account_line(a: AccountTimes) -> str:
    estimate = "too few visits"
    if a.estimate is not None:
        e = a.estimate
        estimate = f"{e.value / 60:.0f} min ({e.low / 60:.0f}-{e.high / 60:.0f}, {e.n} visits)"
    in_force = f"{a.in_force.value / 60:.0f} min" if a.in_force is not None else "-"
    planned, actual = a.planned_s / 60, a.actual_s / 60
    return f"{a.account_id}\t{a.visits}\t{planned:.0f}\t{actual:.0f}\t{estimate}\t{in_force}"


@learning_app.command("show")
def show_command(
    weeks: int = WEEKS_OPTION,
    min_drives: int = DRIVES_OPTION,
    min_visits: int = VISITS_OPTION,
    database_url: str | None = DB_OPTION,
) -> None:
    """Planned against actual minutes per rep (drives) and per account (visit length), with
    each estimate, its 90 % interval and the value in force."""
    times = svc.field_times(_store(database_url), _params(weeks, min_drives, min_visits), user=None)
    # Tab-separated plain lines (not rich, which expands tabs), for a spreadsheet or a script.
    typer.echo(f"{times.start} to {times.end}: {times.recorded_stops} stops recorded")
    typer.echo("rep\tdrives\tplanned min\tactual min\testimate\tin force")
    for rep in times.reps:
        typer.echo(_rep_line(rep))
    typer.echo("account\tvisits\tplanned min\tactual min\testimate\tin force")
    for account in times.accounts:
        typer.echo(_account_line(account))


@learning_app.command("confirm")
def confirm_command(
    kind: LearnedKind = typer.Argument(..., help=KIND_HELP),
    key: str = typer.Argument(..., help="Rep or account id."),
    weeks: int = WEEKS_OPTION,
    min_drives: int = DRIVES_OPTION,
    min_visits: int = VISITS_OPTION,
    database_url: str | None = DB_OPTION,
) -> None:
    """Put the current estimate in force: the next plan uses it."""
    params = _params(weeks, min_drives, min_visits)
    value = svc.confirm_learned(_store(database_url), kind, key, params, user=None)
    console.print(f"{value.key}: {value.kind.value} {value.value:.2f} confirmed", highlight=False)


@learning_app.command("withdraw")
def withdraw_command(
    kind: LearnedKind = typer.Argument(..., help=KIND_HELP),
    key: str = typer.Argument(..., help="Rep or account id."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Stop applying a learned value (plans go back to the road model or the account's length)."""
    svc.withdraw_learned(_store(database_url), kind, key, user=None)
    console.print(f"{key}: {kind.value} withdrawn", highlight=False)
