"""``routeplanner territories design|realign|show|history``: on CSV files or on the database.

Without ``--accounts``/``--reps`` the accounts and reps come from the database (as imported by
``routeplanner import``); ``design --save`` and ``realign --apply N`` store the result there with
an ownership record per changed account, which is what scheduling reads as the current
assignment and what ``history`` shows. The work is :mod:`routeplanner.services.territories`,
the same the territories page runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from routeplanner.cli import app, err_console
from routeplanner.cli._common import console, pick_travel, progress_bar, store_of
from routeplanner.errors import InputError, Problem
from routeplanner.io.territory_export import (
    kpis_csv,
    read_territories_csv,
    write_territories_csv,
)
from routeplanner.model import Account, Territory
from routeplanner.services import planning
from routeplanner.services import territories as territory_service
from routeplanner.services.imports import read_files
from routeplanner.services.params import labelled
from routeplanner.services.scope import scope_of_named_regions
from routeplanner.services.territories import (
    DESIGN_TIME_LIMIT_S,
    MAX_TIME_LIMIT_S,
    REALIGN_TIME_LIMIT_S,
    DesignParams,
    KpiComparison,
    PlanKpis,
    Proposal,
    TerritoryInputs,
    TerritoryKpis,
)
from routeplanner.services.territory_moves import MoveFigures, MoveResult, move_accounts
from routeplanner.settings import Settings
from routeplanner.travel.provider import TravelTimeProvider

territories_app = typer.Typer(
    help="Design, realign and inspect sales territories.", no_args_is_help=True
)
app.add_typer(territories_app, name="territories")
out_console = console

AccountsOpt = Annotated[
    Path | None,
    typer.Option("--accounts", help="Accounts CSV (default: the database).", exists=True),
]
RepsOpt = Annotated[
    Path | None, typer.Option("--reps", help="Reps CSV (default: the database).", exists=True)
]
DbOpt = Annotated[str | None, typer.Option("--database-url", help="Overrides DATABASE_URL.")]
UserOpt = Annotated[str, typer.Option("--user", help="Who made the change (ownership history).")]
RegionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--region",
        help="Only this region's territories, accounts and reps (repeatable; database inputs).",
    ),
]
OsmOpt = Annotated[
    Path | None,
    typer.Option("--osm", help="OSM extract for road travel times (default: settings)."),
]
StraightOpt = Annotated[
    bool, typer.Option("--straight-line", help="Use straight-line travel instead of roads.")
]
HorizonOpt = Annotated[int, typer.Option("--horizon-days", help="Workload period, 1..366.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]
DesignTimeLimitOpt = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        help=f"Seconds for the whole design, 0.5..{MAX_TIME_LIMIT_S:g} "
        f"(default {DESIGN_TIME_LIMIT_S:g}).",
    ),
]
RealignTimeLimitOpt = Annotated[
    float | None,
    typer.Option(
        "--time-limit",
        help=f"Seconds for the whole realignment, 0.5..{MAX_TIME_LIMIT_S:g} "
        f"(default {REALIGN_TIME_LIMIT_S:g}).",
    ),
]
ObjectiveOpt = Annotated[
    str,
    typer.Option(
        "--objective",
        help="Compactness measured from the rep's home (default) or the territory's centre.",
    ),
]
StartOpt = Annotated[
    str,
    typer.Option(
        "--start",
        help="First split for the home objective: auto (centre split above 6,000 accounts x "
        "reps), home or centre; for realign it applies to the fair option.",
    ),
]
WorkloadWeightOpt = Annotated[
    float,
    typer.Option(
        "--workload-weight",
        help="Weight of workload in the balanced quantity (with --value-weight), 0..100.",
    ),
]
ValueWeightOpt = Annotated[
    float,
    typer.Option(
        "--value-weight",
        help="Weight of account value (potential) in the balanced quantity, 0..100: 1 with "
        "--workload-weight 1 balances both equally; 0 (default) balances workload only.",
    ),
]
OPTIONS = {
    "horizon_days": "--horizon-days",
    "tolerance_pct": "--tolerance (as %)",
    "max_moves": "--max-moves",
    "move_penalty_s": "--move-penalty",
    "workload_weight": "--workload-weight",
    "value_weight": "--value-weight",
    "objective": "--objective",
    "start": "--start",
    "keep": "--keep",
    "time_limit_s": "--time-limit",
}
"""How the problems of the design parameters name the options."""


def load_inputs(
    accounts: Path | None,
    reps: Path | None,
    territories: Path | None,
    database_url: str | None,
    *,
    need_territories: bool = False,
    regions: list[str] | None = None,
) -> TerritoryInputs:
    """Accounts and reps from both CSV files or (neither given) the database; territories
    from an exported CSV, else the stored ones when the accounts come from the database."""
    if (accounts is None) != (reps is None):
        missing = "--reps" if reps is None else "--accounts"
        raise InputError(
            Problem(missing, None, None, "give both --accounts and --reps, or neither (database)")
        )
    if regions and accounts is not None:
        raise InputError(Problem("--region", None, None, "works on the database's inputs only"))
    if accounts is not None and reps is not None:
        acc, rp = read_files(accounts, reps)
        inputs = TerritoryInputs(tuple(acc), tuple(rp), (), from_store=False, where="")
    else:
        store = store_of(database_url)
        try:
            scope = scope_of_named_regions(store, regions or [], source="--region")
            inputs = territory_service.stored_inputs(store, scope)
        finally:
            store.close()
    if territories is not None:
        current = tuple(read_territories_csv(territories))
        inputs = TerritoryInputs(
            inputs.accounts, inputs.reps, current, from_store=False, where=str(territories)
        )
    if need_territories and not inputs.territories:
        raise InputError(
            Problem("database", None, "territories", "no territories stored; run design --save")
        )
    return inputs


def _params(**values: object) -> DesignParams:
    with labelled("command line", OPTIONS):
        return DesignParams(**values)  # type: ignore[arg-type]


def _propose(
    inputs: TerritoryInputs,
    params: DesignParams,
    osm: Path | None,
    straight_line: bool,
    *,
    quiet: bool,
) -> tuple[Proposal, TravelTimeProvider]:
    travel = pick_travel(osm, straight_line=straight_line)
    with progress_bar(params.kind, enabled=not quiet) as report, labelled("command line", OPTIONS):
        jobs = planning.workers(Settings())
        return territory_service.propose(inputs, travel, params, report, jobs=jobs), travel


def _save(
    proposal: Proposal, option: int, database_url: str | None, *, user: str, kind: str
) -> None:
    store = store_of(database_url)
    try:
        territory_service.apply_option(
            store, proposal, option, user=user, name=f"the {kind}", via=kind
        )
    finally:
        store.close()


# -- output ----------------------------------------------------------------------------------


def kpi_table(kpis: PlanKpis, title: str = "Territories") -> Table:
    """Per-territory KPI table with a caption of the plan-wide figures.

    Simple rules and no edge padding, as the plan table, so that thirteen columns fit the 120
    columns of piped output without cutting the headers.
    """
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for col in (
        "territory",
        "rep",
        "accounts",
        "visits/wk",
        "workload h",
        "capacity h",
        "util %",
        "drive h",
        "drive %",
        "value",
        "dev %",
        "value dev %",
        "enclaves",
    ):
        table.add_column(col, justify="left" if col in ("territory", "rep") else "right")
    for k in kpis.territories:
        table.add_row(
            k.territory_id + (" (locked)" if k.locked else ""),
            k.rep_id,
            str(k.accounts),
            f"{k.visits_per_week:.1f}",
            f"{k.workload_h:.1f}",
            f"{k.capacity_h:.1f}",
            f"{k.utilisation_pct:.0f}",
            f"{k.drive_h:.1f}",
            f"{k.drive_share_pct:.0f}",
            f"{k.value:.0f}",
            f"{k.balance_dev_pct:+.1f}",
            f"{k.value_dev_pct:+.1f}",
            str(k.enclave_accounts),
        )
    table.caption = (
        f"max deviation {kpis.max_workload_dev_pct:.1f} % (value "
        f"{kpis.max_value_dev_pct:.1f} %) | mean travel to home "
        f"{kpis.mean_travel_to_home_s / 60:.1f} min ({kpis.compactness_ratio:.2f} x nearest-home) "
        f"| contiguity violations {kpis.contiguity_violations}{_open_note(kpis)} "
        f"| {kpis.horizon_days} days"
    )
    return table


def _open_note(kpis: PlanKpis) -> str:
    """How many enclaves accounts that need a qualification do not cause, when that differs."""
    if kpis.open_enclave_accounts == kpis.contiguity_violations:
        return ""
    return f" ({kpis.open_enclave_accounts} not caused by accounts needing a qualification)"


def _comparison_table(comparison: KpiComparison) -> Table:
    table = Table(title="Before / after")
    for col in ("rep", "accounts", "workload h", "dev %", "drive h"):
        table.add_column(col, justify="left" if col == "rep" else "right")
    for rep, before, after in comparison.rows():
        table.add_row(
            rep,
            _pair(before, after, lambda k: str(k.accounts)),
            _pair(before, after, lambda k: f"{k.workload_h:.1f}"),
            _pair(before, after, lambda k: f"{k.balance_dev_pct:+.1f}"),
            _pair(before, after, lambda k: f"{k.drive_h:.1f}"),
        )
    return table


def _pair(
    before: TerritoryKpis | None, after: TerritoryKpis | None, get: Callable[[TerritoryKpis], str]
) -> str:
    b = get(before) if before is not None else "-"
    a = get(after) if after is not None else "-"
    return f"{b} -> {a}"


def _write(
    territories: Sequence[Territory],
    accounts: Sequence[Account],
    kpis: PlanKpis,
    out_csv: Path | None,
    out_geojson: Path | None,
    out_kpis: Path | None,
    travel: TravelTimeProvider,
) -> None:
    if out_csv is not None:
        write_territories_csv(out_csv, territories, accounts)
    if out_geojson is not None:
        data = territory_service.areas_geojson(territories, accounts, travel, kpis=kpis)
        out_geojson.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    if out_kpis is not None:
        out_kpis.write_text(kpis_csv(kpis), encoding="utf-8")


OutCsv = Annotated[Path | None, typer.Option("--out-csv", help="Account-territory CSV.")]
OutGeo = Annotated[
    Path | None,
    typer.Option("--out-geojson", help="GeoJSON of the territories' areas (they never overlap)."),
]
OutKpi = Annotated[Path | None, typer.Option("--out-kpis", help="KPI CSV, one row per territory.")]


def _parse_locks(values: list[str]) -> tuple[tuple[str, str], ...]:
    locks: dict[str, str] = {}
    problems = []
    for v in values:
        aid, sep, rid = v.partition("=")
        if not sep or not aid.strip() or not rid.strip():
            problems.append(Problem("--lock", None, None, f"{v!r} is not ACCOUNT=REP"))
            continue
        locks[aid.strip()] = rid.strip()
    if problems:
        raise InputError(problems)
    return tuple(locks.items())


def _notes(proposal: Proposal) -> None:
    for note in proposal.notes:
        err_console.print(f"note: {note}", markup=False)


@territories_app.command("design")
def design_command(
    accounts: AccountsOpt = None,
    reps: RepsOpt = None,
    osm: OsmOpt = None,
    straight_line: StraightOpt = False,
    horizon_days: HorizonOpt = 28,
    tolerance: Annotated[
        float, typer.Option(help="Allowed workload deviation (0.05 = 5 %).")
    ] = 0.05,
    lock: Annotated[list[str] | None, typer.Option("--lock", help="Pin ACCOUNT=REP.")] = None,
    territories: Annotated[
        Path | None,
        typer.Option(
            "--territories",
            help="Current territories CSV (as exported) whose locked territories are kept; "
            "default with database inputs: the stored ones.",
            exists=True,
        ),
    ] = None,
    keep: Annotated[
        list[str] | None,
        typer.Option("--keep", help="Keep this territory as it is (repeatable), like a lock."),
    ] = None,
    objective: ObjectiveOpt = "home",
    start: StartOpt = "auto",
    workload_weight: WorkloadWeightOpt = 1.0,
    value_weight: ValueWeightOpt = 0.0,
    out_csv: OutCsv = None,
    out_geojson: OutGeo = None,
    out_kpis: OutKpi = None,
    quiet: QuietOpt = False,
    time_limit: DesignTimeLimitOpt = None,
    save: Annotated[
        bool, typer.Option("--save", help="Store as the current territories (with history).")
    ] = False,
    region: RegionOpt = None,
    database_url: DbOpt = None,
    user: UserOpt = "",
) -> None:
    """Divide accounts into balanced, compact territories, one per rep."""
    params = _params(
        kind="design",
        horizon_days=horizon_days,
        tolerance_pct=round(100.0 * tolerance, 9),
        objective=objective,
        start=start,
        workload_weight=workload_weight,
        value_weight=value_weight,
        pins=_parse_locks(lock or []),
        keep=tuple(keep or ()),
        time_limit_s=time_limit,
    )
    inputs = load_inputs(accounts, reps, territories, database_url, regions=region)
    if keep and not inputs.territories and accounts is not None:
        raise InputError(
            Problem("--keep", None, None, "give --territories (CSV) to keep territories from")
        )
    with labelled("command line", OPTIONS):
        kept = territory_service.kept_territories(params, inputs)
    if kept:
        names = ", ".join(t.territory_id for t in kept)
        err_console.print(
            f"keeping {len(kept)} locked territories as they are: {names}", markup=False
        )
    proposal, travel = _propose(inputs, params, osm, straight_line, quiet=quiet)
    (option,) = proposal.options
    out_console.print(kpi_table(option.kpis))
    _notes(proposal)
    _write(option.territories, inputs.accounts, option.kpis, out_csv, out_geojson, out_kpis, travel)
    if save:
        _save(proposal, 1, database_url, user=user, kind="design")
        out_console.print(f"saved {len(option.territories)} territories")


def _options_table(proposal: Proposal, params: DesignParams) -> Table:
    table = Table(title="Realignment options")
    with_value = params.value_weight > 0
    for col in (
        "#",
        "option",
        "moved",
        "new/orphaned",
        "max dev %",
        *(["max value dev %"] if with_value else []),
        "travel to home min",
        "enclaves",
    ):
        table.add_column(col, justify="left" if col == "option" else "right")
    for n, opt in enumerate(proposal.options, start=1):
        table.add_row(
            str(n),
            opt.label,
            str(opt.moved_accounts),
            str(opt.new_accounts),
            f"{opt.kpis.max_workload_dev_pct:.1f}",
            *([f"{opt.kpis.max_value_dev_pct:.1f}"] if with_value else []),
            f"{opt.kpis.mean_travel_to_home_s / 60:.1f}",
            str(opt.kpis.contiguity_violations),
        )
    return table


@territories_app.command("realign")
def realign_command(
    territories: Annotated[
        Path | None,
        typer.Option(
            "--territories",
            help="Current territories CSV (as exported; default: the database).",
            exists=True,
        ),
    ] = None,
    accounts: AccountsOpt = None,
    reps: RepsOpt = None,
    osm: OsmOpt = None,
    straight_line: StraightOpt = False,
    horizon_days: HorizonOpt = 28,
    max_moves: Annotated[int | None, typer.Option(help="Cap on moved accounts.")] = None,
    move_penalty: Annotated[
        float | None,
        typer.Option(help="Price of a move in seconds of road time (one more option)."),
    ] = None,
    choose: Annotated[
        int | None, typer.Option(help="Option number to write (1 = first listed).")
    ] = None,
    objective: ObjectiveOpt = "home",
    start: StartOpt = "auto",
    workload_weight: WorkloadWeightOpt = 1.0,
    value_weight: ValueWeightOpt = 0.0,
    out_csv: OutCsv = None,
    out_geojson: OutGeo = None,
    out_kpis: OutKpi = None,
    quiet: QuietOpt = False,
    time_limit: RealignTimeLimitOpt = None,
    apply: Annotated[
        int | None,
        typer.Option("--apply", help="Option number to store as the current territories."),
    ] = None,
    region: RegionOpt = None,
    database_url: DbOpt = None,
    user: UserOpt = "",
) -> None:
    """Rebalance current territories; lists options from stable to fair with their KPIs.

    Also always offered: 3600 s per move, territories in one piece with few moves.
    """
    if choose is not None and apply is not None and choose != apply:
        raise InputError(Problem("--apply", None, None, "differs from --choose; give one"))
    choose = apply if apply is not None else choose
    params = _params(
        kind="realign",
        horizon_days=horizon_days,
        max_moves=max_moves,
        move_penalty_s=move_penalty,
        objective=objective,
        start=start,
        workload_weight=workload_weight,
        value_weight=value_weight,
        time_limit_s=time_limit,
    )
    inputs = load_inputs(
        accounts, reps, territories, database_url, need_territories=True, regions=region
    )
    proposal, travel = _propose(inputs, params, osm, straight_line, quiet=quiet)
    out_console.print(_options_table(proposal, params))
    _notes(proposal)
    if choose is None:
        return
    name = "the realignment"
    picked = territory_service.pick(
        proposal, choose, name=name, source="command line", field_name="--choose"
    )
    if picked.comparison is not None:
        out_console.print(_comparison_table(picked.comparison))
    out_console.print(kpi_table(picked.kpis, title=f"Option {choose}: {picked.label}"))
    _write(picked.territories, inputs.accounts, picked.kpis, out_csv, out_geojson, out_kpis, travel)
    if apply is not None:
        _save(proposal, choose, database_url, user=user, kind="realignment")
        out_console.print(f"saved option {choose} as the current territories")


@territories_app.command("show")
def show_command(
    territories: Annotated[
        Path | None,
        typer.Option(
            "--territories",
            help="Territories CSV (as exported; default: the database).",
            exists=True,
        ),
    ] = None,
    accounts: AccountsOpt = None,
    reps: RepsOpt = None,
    osm: OsmOpt = None,
    straight_line: StraightOpt = False,
    horizon_days: HorizonOpt = 28,
    out_geojson: OutGeo = None,
    out_kpis: OutKpi = None,
    database_url: DbOpt = None,
) -> None:
    """KPIs of existing territories (accounts off the road network are left out and named)."""
    inputs = load_inputs(accounts, reps, territories, database_url, need_territories=True)
    travel = pick_travel(osm, straight_line=straight_line)
    kpis, off = territory_service.kpis_of(inputs, travel, horizon_days=horizon_days)
    out_console.print(kpi_table(kpis))
    if off:
        err_console.print(f"note: left out, off the road network: {', '.join(off)}", markup=False)
    _write(inputs.territories, inputs.accounts, kpis, None, out_geojson, out_kpis, travel)


@territories_app.command("history")
def history_command(
    account_id: Annotated[str, typer.Argument(help="Account whose owners to list.")],
    database_url: DbOpt = None,
) -> None:
    """Who owned an account when, and why (from the database)."""
    store = store_of(database_url)
    try:
        records = territory_service.history(store, account_id)
    finally:
        store.close()
    table = Table(title=f"Ownership of {account_id}")
    for col in ("from", "to", "territory", "rep", "cause", "by", "detail"):
        table.add_column(col)
    for r in records:
        table.add_row(
            r.valid_from.isoformat(timespec="seconds"),
            r.valid_to.isoformat(timespec="seconds") if r.valid_to else "now",
            r.territory_id,
            r.rep_id or "-",
            str(r.cause),
            r.changed_by,
            r.detail,
        )
    out_console.print(table)


FIGURES: tuple[tuple[str, Callable[[MoveFigures], str]], ...] = (
    ("max workload deviation %", lambda f: f"{f.max_workload_dev_pct:.1f}"),
    ("max value deviation %", lambda f: f"{f.max_value_dev_pct:.1f}"),
    ("travel to home min", lambda f: f"{(f.mean_travel_to_home_s or 0.0) / 60:.1f}"),
    ("drive h", lambda f: f"{f.drive_h:.1f}"),
    ("enclave accounts", lambda f: str(f.enclave_accounts)),
)


def _figure_rows(result: MoveResult) -> list[tuple[str, str, str]]:
    b, a = result.before, result.after
    rows = []
    if b.kpis is not None and a.kpis is not None:
        rows = [(label, get(b), get(a)) for label, get in FIGURES]
    conflicts = (len(b.qualification_conflicts), len(a.qualification_conflicts))
    return [*rows, ("qualification conflicts", str(conflicts[0]), str(conflicts[1]))]


@territories_app.command("move")
def move_command(
    account_ids: Annotated[list[str], typer.Argument(help="Accounts to move.")],
    to: Annotated[str, typer.Option("--to", help="Territory the accounts go to.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show the figures before and after.")
    ] = False,
    osm: OsmOpt = None,
    straight_line: StraightOpt = False,
    region: RegionOpt = None,
    database_url: DbOpt = None,
    user: UserOpt = "",
) -> None:
    """Move accounts into another territory in the database, with the figures before and
    after; the moves go into the ownership history (cause manual)."""
    store = store_of(database_url)
    try:
        result = move_accounts(
            store,
            account_ids,
            to,
            user,
            dry_run,
            travel=lambda: pick_travel(osm, straight_line=straight_line),
            scope=scope_of_named_regions(store, region or [], source="--region"),
        )
    finally:
        store.close()
    table = Table(title=f"Moving {len(result.moves)} account(s) to {to}", box=box.SIMPLE)
    for col in ("", "before", "after"):
        table.add_column(col)
    for row in _figure_rows(result):
        table.add_row(*row)
    out_console.print(table)
    for aid, lacking in result.unqualified:
        err_console.print(f"note: {to}'s rep lacks {', '.join(lacking)} for {aid}", markup=False)
    if result.already_there:
        err_console.print(f"note: already in {to}: {', '.join(result.already_there)}", markup=False)
    if result.kpi_error:
        err_console.print(f"note: no KPIs: {result.kpi_error}", markup=False)
    if result.applied:
        out_console.print(f"moved {len(result.moves)} account(s) to {to}")
