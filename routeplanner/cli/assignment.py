"""``routeplanner rules import|show|check`` and ``routeplanner assign --dry-run|--apply``.

Rules live in the database (imported from a JSON rules file, see ``docs/assignment.md``);
``assign`` evaluates them on the stored accounts and prints every account that would change
owner with the reason, and ``--apply`` stores those moves with ownership history.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from routeplanner.cli import app
from routeplanner.cli._common import console, err_console, pick_travel, progress_bar, store_of
from routeplanner.errors import InputError, Problem
from routeplanner.services import assignment as svc
from routeplanner.services.assignment import (
    AssignmentReport,
    AssignmentRule,
    AssignMode,
    AssignParams,
    load_rules_file,
)
from routeplanner.services.params import labelled
from routeplanner.settings import Settings
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider

rules_app = typer.Typer(
    help="Account assignment rules: import a rules file, show or check them.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")

DbOpt = Annotated[str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")]
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: the OS user).")
]
OsmOpt = Annotated[
    Path | None,
    typer.Option("--osm", help="OSM extract for road travel times (default: settings)."),
]
StraightOpt = Annotated[
    bool, typer.Option("--straight-line", help="Use straight-line travel instead of roads.")
]


def os_user() -> str:
    """The login name of whoever runs the command: the default author of a change."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return ""


def import_travel(osm: Path | None, *, straight_line: bool) -> TravelTimeProvider:
    """Travel to assign imported accounts with: as :func:`pick_travel`, except that a missing
    *configured* extract means straight-line travel and a note, so importing accounts never
    fails for want of a road network; an extract named with ``--osm`` must exist."""
    path = osm or Settings().osm_path
    if not straight_line and osm is None and not path.is_file():
        err_console.print(
            f"note: OSM extract {path} not found; assigning with straight-line travel",
            markup=False,
            highlight=False,
        )
        return HaversineTravel()
    return pick_travel(osm, straight_line=straight_line)


def rules_table(rules: list[AssignmentRule], title: str = "Assignment rules") -> Table:
    table = Table(title=title)
    for col in ("#", "id", "name", "when", "target", "enabled"):
        table.add_column(col, justify="right" if col == "#" else "left")
    for rule in rules:
        table.add_row(
            str(rule.position),
            rule.rule_id,
            rule.name,
            rule.describe(),
            rule.describe_target(),
            "yes" if rule.enabled else "no",
        )
    return table


@rules_app.command("import")
def rules_import_command(
    path: Annotated[Path, typer.Argument(help="JSON rules file (areas relative to it).")],
    by: ByOpt = None,
    database_url: DbOpt = None,
) -> None:
    """Check a rules file against the stored territories and store it, replacing all rules."""
    rules_file = load_rules_file(path)
    store = store_of(database_url)
    try:
        user = by if by is not None else os_user()
        svc.import_rules(store, rules_file, source=str(path), user=user)
        stored = store.rules.all()
    finally:
        store.close()
    console.print(rules_table(stored, title=f"Imported {len(stored)} rules from {path}"))
    if rules_file.segments:
        pairs = ", ".join(f"{t} = {s or '-'}" for t, s in sorted(rules_file.segments.items()))
        console.print(f"segments: {pairs}", markup=False, highlight=False)


@rules_app.command("show")
def rules_show_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the rules as a rules file (areas embedded).")
    ] = False,
    database_url: DbOpt = None,
) -> None:
    """List the stored rules in order (first matching rule wins)."""
    store = store_of(database_url)
    try:
        rules = store.rules.all()
        document = svc.rules_document(store)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    if not rules:
        console.print("no assignment rules stored: accounts go to the best-fitting territory")
        return
    console.print(rules_table(rules))


@rules_app.command("check")
def rules_check_command(
    path: Annotated[
        Path | None, typer.Argument(help="Rules file to check (default: the stored rules).")
    ] = None,
    database_url: DbOpt = None,
) -> None:
    """Check rules against the stored territories and reps: unknown targets, rules that can
    never match or never win. Exit code 2 when any rule is wrong."""
    store = store_of(database_url)
    try:
        if path is not None:
            rules_file = load_rules_file(path)
            svc.check_rules(store, rules_file.rules, segments=rules_file.segments, source=str(path))
            count = len(rules_file.rules)
        else:
            rules = store.rules.all()
            svc.check_rules(store, rules, source="stored rules")
            count = len(rules)
    finally:
        store.close()
    console.print(f"{count} rules OK")


def changes_table(report: AssignmentReport, limit: int) -> Table:
    changes = report.changes
    shown = changes if limit <= 0 else changes[:limit]
    table = Table(title=f"{len(changes)} accounts would change owner")
    for col in ("account", "from", "to", "cause", "reason"):
        table.add_column(col, overflow="fold")
    for d in shown:
        table.add_row(
            d.account_id,
            "-" if d.previous_territory_id is None else d.previous_territory_id,
            f"{d.territory_id} ({d.rep_id})",
            d.cause.value,
            d.reason,
        )
    if len(shown) < len(changes):
        table.caption = f"{len(changes) - len(shown)} more not shown (--show 0 shows all)"
    return table


def balance_table(report: AssignmentReport, title: str = "Balance afterwards") -> Table:
    table = Table(title=title)
    for col in ("territory", "rep", "segment", "accounts", "+", "-", "workload h", "capacity h"):
        table.add_column(col, justify="left" if col in ("territory", "rep", "segment") else "right")
    table.add_column("util %", justify="right")
    table.add_column("dev %", justify="right")
    for b in report.balance:
        table.add_row(
            b.territory_id + (" (locked)" if b.locked else ""),
            b.rep_id or "-",
            b.segment or "-",
            str(b.accounts),
            str(b.added),
            str(b.removed),
            f"{b.workload_h:.1f}",
            f"{b.capacity_h:.1f}",
            f"{b.utilisation_pct:.0f}",
            f"{b.deviation_pct:+.1f}",
        )
    table.caption = (
        f"max deviation {report.max_deviation_pct:.1f} % (tolerance "
        f"{report.tolerance_pct:.0f} %) | {report.horizon_days} days | travel: {report.travel}"
    )
    return table


def print_balance(report: AssignmentReport) -> None:
    """Balance table plus the realignment hint, shared with ``import``."""
    console.print(balance_table(report))
    if report.suggest_realignment:
        console.print(
            f"balance drifted beyond {report.tolerance_pct:.0f} % "
            f"(max {report.max_deviation_pct:.1f} %): consider `routeplanner territories "
            "realign`",
            markup=False,
            highlight=False,
        )
    unassigned = report.unassigned
    if unassigned:
        console.print(f"{len(unassigned)} accounts could not be assigned:")
        for d in unassigned[:20]:
            console.print(f"  {d.account_id}: {d.reason}", markup=False, highlight=False)


@app.command("assign")
def assign_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show who would change owner and why.")
    ] = False,
    apply: Annotated[bool, typer.Option("--apply", help="Store the changes with history.")] = False,
    new_only: Annotated[
        bool, typer.Option("--new-only", help="Only accounts in no territory (as on import).")
    ] = False,
    by: ByOpt = None,
    osm: OsmOpt = None,
    straight_line: StraightOpt = False,
    horizon_days: Annotated[int, typer.Option("--horizon-days", help="Period, 1..366.")] = 28,
    tolerance: Annotated[
        float, typer.Option(help="Balance band (0.05 = 5 %) beyond which to suggest realigning.")
    ] = 0.05,
    show: Annotated[int, typer.Option("--show", help="Changes to list (0 = all).")] = 50,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    database_url: DbOpt = None,
) -> None:
    """Evaluate the stored rules on the stored accounts: lock > first matching rule > best fit."""
    if dry_run == apply:
        raise InputError(Problem("assign", None, None, "give exactly one of --dry-run, --apply"))
    with labelled("command line", ASSIGN_OPTIONS):
        params = AssignParams(
            mode=AssignMode.NEW if new_only else AssignMode.ALL,
            horizon_days=horizon_days,
            tolerance_pct=round(100.0 * tolerance, 9),
        )
    travel = pick_travel(osm, straight_line=straight_line)
    store = store_of(database_url)
    try:
        with progress_bar("assignment", enabled=not quiet) as report_progress:
            report = svc.stored_assignment(store, travel, params, progress=report_progress)
        console.print(changes_table(report, show))
        print_balance(report)
        if apply:
            user = by if by is not None else os_user()
            moved = svc.apply_decisions(store, report.decisions, user=user)
            console.print(f"applied: {moved} accounts changed owner")
        else:
            console.print("dry run: nothing stored (use --apply to store these changes)")
    finally:
        store.close()


ASSIGN_OPTIONS = {"horizon_days": "--horizon-days", "tolerance_pct": "--tolerance (as %)"}
