"""``routeplanner`` command line: one Typer app, one module per concern, errors mapped once.

Exit codes: 0 ok, 1 error (refused, storage, internal), 2 bad input or nothing found, 3
road-network problem, mapped from the error's type in :func:`main` only. Errors print as
``file:row: field: problem`` without a traceback unless ``--debug`` is given. Commands parse
options, call one use case of :mod:`routeplanner.services` and print.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from routeplanner.errors import InputError, NotFoundError, RoadNetworkError, RoutePlannerError

EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_ROADS = 3

app = typer.Typer(
    name="routeplanner",
    help="Plan field-sales territories, visit schedules and daily routes on real OSM roads.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    _state["debug"] = debug


def _register() -> None:
    """Import command modules so their ``@app.command`` decorators run (kept out of import time)."""
    from routeplanner.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app and turn our exceptions into messages and exit codes."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except InputError as exc:
        if _state["debug"]:
            raise
        for problem in exc.problems:
            err_console.print(str(problem), markup=False, highlight=False)
        sys.exit(EXIT_INPUT)
    except NotFoundError as exc:
        if _state["debug"]:
            raise
        err_console.print(str(exc), markup=False, highlight=False)
        sys.exit(EXIT_INPUT)
    except RoadNetworkError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"road network: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_ROADS)
    except RoutePlannerError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(EXIT_INTERNAL)
    except SystemExit:
        raise
    except Exception as exc:
        if _state["debug"]:
            raise
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        err_console.print(f"internal error: {exc!r} (run with --debug for details)")
        sys.exit(EXIT_INTERNAL)
