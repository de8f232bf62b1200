"""``routeplanner visit`` (record what happened) and ``routeplanner repair`` (re-plan the rest)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from routeplanner.cli import app
from routeplanner.cli._common import console, load_settings, progress_bar, road_travel
from routeplanner.errors import InputError, Problem
from routeplanner.model.history import VisitStatus
from routeplanner.services import planning, repair
from routeplanner.services.params import labelled
from routeplanner.services.planning import PlanningSetup
from routeplanner.services.repair import Absence, AdHocVisit, RepairParams, VisitParams
from routeplanner.storage import Store

REPAIR_OPTIONS = {"frozen_days": "--frozen-days", "time_limit_s": "--time-limit"}


@app.command("visit")
def visit_command(
    visit_id: Annotated[str, typer.Argument(help="Planned visit id, e.g. A001@2026-11-24.")],
    status: Annotated[
        VisitStatus, typer.Option("--status", help="What happened.", case_sensitive=False)
    ],
    at: Annotated[
        str | None, typer.Option("--at", help="Actual start HH:MM (done / checked in).")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Free text for the account's history.")] = "",
    outcome: Annotated[
        str, typer.Option("--outcome", help="Short result (order, no order, not met ...).")
    ] = "",
    order_value: Annotated[
        float | None, typer.Option("--order-value", help="Value of the order taken (done).")
    ] = None,
    next_step: Annotated[str, typer.Option("--next-step", help="What was agreed next.")] = "",
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")
    ] = None,
) -> None:
    """Record a planned visit as done, missed, cancelled or checked in (run `repair` after)."""
    settings = load_settings(database_url=database_url)
    store = Store.open(settings.database_url)
    names = {"at": "--at", "note": "--note", "outcome": "--outcome"}
    names |= {"order_value": "--order-value", "next_step": "--next-step"}
    with labelled("command line", names):
        params = VisitParams(
            visit_id=visit_id,
            status=status,
            at=at or "",
            note=note,
            outcome=outcome,
            order_value=order_value,
            next_step=next_step,
            grace_days=settings.visit_grace_days,
        )
    record = repair.record_visit(store, params, user=None)
    console.print(f"recorded {visit_id} ({record.rep_id}, {record.day}) as {status.value}")


def _absence(text: str) -> tuple[str, Absence]:
    """``R1:2026-11-25..2026-11-26`` or ``R1:2026-11-25`` (one day)."""
    rep_id, _, span = text.partition(":")
    first, _, last = span.partition("..")
    try:
        start = date.fromisoformat(first)
        end = date.fromisoformat(last) if last else start
        return rep_id, Absence(start=start, end=end)
    except ValueError as exc:
        msg = f"{text!r} is not REP:YYYY-MM-DD[..YYYY-MM-DD]"
        raise InputError(Problem("--absent", None, None, msg)) from exc


def _ad_hoc(text: str) -> AdHocVisit:
    account_id, _, day = text.partition("@")
    try:
        return AdHocVisit(account_id=account_id, day=date.fromisoformat(day))
    except ValueError as exc:
        msg = f"{text!r} is not ACCOUNT@YYYY-MM-DD"
        raise InputError(Problem("--adhoc", None, None, msg)) from exc


@app.command("repair")
def repair_command(
    today: Annotated[
        str | None, typer.Option("--today", help="Today's date, YYYY-MM-DD (default: today).")
    ] = None,
    frozen_days: Annotated[
        int, typer.Option("--frozen-days", help="Working days kept unchanged from today.")
    ] = 1,
    absent: Annotated[
        list[str] | None,
        typer.Option(
            "--absent", help="REP:FROM..TO absence (repeatable), e.g. R1:2026-11-25..2026-11-26."
        ),
    ] = None,
    adhoc: Annotated[
        list[str] | None,
        typer.Option("--adhoc", help="ACCOUNT@DAY extra visit (repeatable)."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Search seconds per rep.")
    ] = 10.0,
    rep: Annotated[
        str | None,
        typer.Option(
            "--rep",
            help="Repair only this rep's territory; the other reps' plans stay as they are.",
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")
    ] = None,
) -> None:
    """Repair the plan after visit reports, absences and ad-hoc visits; print changes and why."""
    settings = load_settings(database_url=database_url)
    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError as exc:
        raise InputError(Problem("--today", None, None, f"{today!r} is not YYYY-MM-DD")) from exc
    with labelled("command line", REPAIR_OPTIONS):
        params = RepairParams(
            today=day,
            frozen_days=frozen_days,
            time_limit_s=time_limit,
            absences=tuple(_absence(text) for text in absent or []),
            ad_hoc=tuple(_ad_hoc(text) for text in adhoc or []),
        )
    store = Store.open(settings.database_url)
    planning.current_plan(store)  # say so before loading the road network
    travel = road_travel(settings.osm_path, settings)
    with progress_bar("repair") as report:
        summary = repair.repair_current_plan(
            store, travel, params, PlanningSetup.of(settings), rep_id=rep, progress=report
        )
    for rep_id, changes in summary.changes.items():
        console.print(
            f"{rep_id}: frozen until {summary.frozen_until[rep_id]}; {len(changes.moved)} moved, "
            f"{len(changes.added)} added, {len(changes.dropped)} dropped, "
            f"{len(changes.reordered)} re-ordered"
        )
        for change in changes.changes:
            days = " -> ".join(str(d) for d in dict.fromkeys((change.old_day, change.new_day)) if d)
            console.print(
                f"  {change.kind} {change.account_id} {days}: {change.why}",
                markup=False,
                highlight=False,
            )
    console.print(
        f"plan {summary.plan_id} (repair of plan {summary.previous_plan_id}) is now current"
    )
