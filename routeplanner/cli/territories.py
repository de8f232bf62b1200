"""``routeplanner territories design|realign|show|history``: on CSV files or on the database.

Without ``--accounts``/``--reps`` the accounts and reps come from the database (as imported by
``routeplanner import``); ``design --save`` and ``realign --apply N`` store the result there with
an ownership record per changed account, which is what scheduling reads as the current
assignment and what ``history`` shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from routeplanner.cli import app, err_console
from routeplanner.cli._common import console, load_settings, progress_bar, road_travel
from routeplanner.cli.data import read_inputs
from routeplanner.errors import InputError, Problem
from routeplanner.io.territory_export import (
    kpis_csv,
    read_territories_csv,
    write_territories_csv,
    write_territories_geojson,
)
from routeplanner.model import (
    Account,
    Rep,
    Territory,
)
from routeplanner.model.history import OwnershipCause
from routeplanner.settings import Settings
from routeplanner.territories.design import OBJECTIVES, STARTS, DesignWeights, design_territories
from routeplanner.territories.metrics import (
    KpiComparison,
    PlanKpis,
    TerritoryKpis,
    compute_kpis,
)
from routeplanner.territories.realign import realign_territories
from routeplanner.travel.haversine import HaversineTravel
from routeplanner.travel.provider import TravelTimeProvider

if TYPE_CHECKING:
    from routeplanner.storage import Store

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
OsmOpt = Annotated[
    Path | None,
    typer.Option("--osm", help="OSM extract for road travel times (default: settings)."),
]
StraightOpt = Annotated[
    bool, typer.Option("--straight-line", help="Use straight-line travel instead of roads.")
]
HorizonOpt = Annotated[int, typer.Option("--horizon-days", min=1, help="Workload period.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="No progress bar.")]
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
        help="Weight of workload in the balanced quantity (with --value-weight).",
    ),
]
ValueWeightOpt = Annotated[
    float,
    typer.Option(
        "--value-weight",
        help="Weight of account value (potential) in the balanced quantity: 1 with "
        "--workload-weight 1 balances both equally; 0 (default) balances workload only.",
    ),
]


def _weights(
    objective: str, start: str = "auto", workload: float = 1.0, value: float = 0.0
) -> DesignWeights:
    problems = []
    if objective not in OBJECTIVES:
        problems.append(
            Problem("--objective", None, None, f"must be one of {', '.join(OBJECTIVES)}")
        )
    if start not in STARTS:
        problems.append(Problem("--start", None, None, f"must be one of {', '.join(STARTS)}"))
    for name, w in (("--workload-weight", workload), ("--value-weight", value)):
        if not math.isfinite(w) or w < 0:
            problems.append(Problem(name, None, None, f"must be a number >= 0, got {w}"))
    if not problems and workload + value <= 0:
        problems.append(Problem("--workload-weight", None, None, "and --value-weight are both 0"))
    if problems:
        raise InputError(problems)
    return DesignWeights(objective=objective, start=start, workload=workload, value=value)


def load_travel(osm: Path | None, *, straight_line: bool) -> TravelTimeProvider:
    """Road travel on ``osm`` (cached graph) or the straight-line estimate when asked."""
    if straight_line:
        return HaversineTravel()
    return road_travel(osm or Settings().osm_path)


def _open_store(database_url: str | None) -> Store:
    from routeplanner.storage import Store

    return Store.open(load_settings(database_url=database_url).database_url)


def load_inputs(
    accounts: Path | None, reps: Path | None, database_url: str | None
) -> tuple[list[Account], list[Rep]]:
    """Both CSV files, or (neither given) the accounts and reps stored in the database."""
    if accounts is not None and reps is not None:
        return read_inputs(accounts, reps)
    if accounts is not None or reps is not None:
        missing = "--reps" if reps is None else "--accounts"
        raise InputError(
            Problem(missing, None, None, "give both --accounts and --reps, or neither (database)")
        )
    store = _open_store(database_url)
    try:
        acc, rp = store.accounts.all(), store.reps.all()
    finally:
        store.close()
    problems = []
    if not acc:
        problems.append(Problem("database", None, "accounts", "no accounts stored; run import"))
    if not rp:
        problems.append(Problem("database", None, "reps", "no reps stored; run import"))
    if problems:
        raise InputError(problems)
    return acc, rp


def _stored_territories(database_url: str | None) -> list[Territory]:
    store = _open_store(database_url)
    try:
        return store.territories.all()
    finally:
        store.close()


def load_territories(path: Path | None, database_url: str | None) -> list[Territory]:
    """Territories from an exported CSV, or (no path) the current ones in the database."""
    if path is not None:
        return list(read_territories_csv(path))
    current = _stored_territories(database_url)
    if not current:
        raise InputError(
            Problem("database", None, "territories", "no territories stored; run design --save")
        )
    return current


def kept_territories(
    path: Path | None, keep: Sequence[str], *, from_database: bool, database_url: str | None
) -> list[Territory]:
    """The territories a design keeps as they are: the locked ones, and those named by --keep.

    They come from ``path`` (an exported CSV, whose ``territory_locked`` column carries the
    lock) or, when the accounts come from the database, from the stored current territories:
    a territory a manager locked on the page must survive a design run from the command line.
    """
    if path is not None:
        current = list(read_territories_csv(path))
    elif from_database:
        current = _stored_territories(database_url)
    elif keep:
        raise InputError(
            Problem("--keep", None, None, "give --territories (CSV) to keep territories from")
        )
    else:
        return []
    known = {t.territory_id for t in current}
    unknown = [k for k in keep if k not in known]
    if unknown:
        source = str(path) if path is not None else "the stored territories"
        raise InputError(
            [Problem("--keep", None, None, f"no territory {k} in {source}") for k in unknown]
        )
    return [replace(t, locked=True) for t in current if t.locked or t.territory_id in keep]


def save_territories(
    territories: Sequence[Territory],
    database_url: str | None,
    *,
    cause: OwnershipCause,
    user: str,
    detail: str,
) -> None:
    """Store ``territories`` as the whole current set, recording every ownership change.

    A territory without a segment keeps the one stored under its id: a new design knows
    nothing of segments, and assignment rules targeting a segment must survive a re-design.
    """
    store = _open_store(database_url)
    try:
        stored = {t.territory_id: t.segment for t in store.territories.all()}
        territories = [
            t if t.segment else replace(t, segment=stored.get(t.territory_id, ""))
            for t in territories
        ]
        store.territories.save(territories, cause=cause, user=user, detail=detail, replace_all=True)
    finally:
        store.close()


# -- output ----------------------------------------------------------------------------------


def kpi_table(kpis: PlanKpis, title: str = "Territories") -> Table:
    """Per-territory KPI table with a caption of the plan-wide figures.

    Simple rules and no edge padding, as the plan table: thirteen columns with boxes and
    padding need ~140 characters, and piped output (120 wide) cut the headers to "worklo…".
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
        f"| contiguity violations {kpis.contiguity_violations} | {kpis.horizon_days} days"
    )
    return table


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
    territories: tuple[Territory, ...] | list[Territory],
    accounts: list[Account],
    kpis: PlanKpis,
    out_csv: Path | None,
    out_geojson: Path | None,
    out_kpis: Path | None,
) -> None:
    if out_csv is not None:
        write_territories_csv(out_csv, territories, accounts)
    if out_geojson is not None:
        write_territories_geojson(out_geojson, territories, accounts, kpis=kpis)
    if out_kpis is not None:
        out_kpis.write_text(kpis_csv(kpis), encoding="utf-8")


OutCsv = Annotated[Path | None, typer.Option("--out-csv", help="Account-territory CSV.")]
OutGeo = Annotated[Path | None, typer.Option("--out-geojson", help="Territory hulls GeoJSON.")]
OutKpi = Annotated[Path | None, typer.Option("--out-kpis", help="KPI CSV, one row per territory.")]


def _parse_locks(values: list[str]) -> dict[str, str]:
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
    return locks


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
    save: Annotated[
        bool, typer.Option("--save", help="Store as the current territories (with history).")
    ] = False,
    database_url: DbOpt = None,
    user: UserOpt = "",
) -> None:
    """Divide accounts into balanced, compact territories, one per rep."""
    weights = _weights(objective, start, workload_weight, value_weight)
    acc, rp = load_inputs(accounts, reps, database_url)
    locks = _parse_locks(lock or [])
    kept = kept_territories(
        territories, keep or [], from_database=accounts is None, database_url=database_url
    )
    if kept:
        names = ", ".join(t.territory_id for t in kept)
        err_console.print(
            f"keeping {len(kept)} locked territories as they are: {names}", markup=False
        )
    travel = load_travel(osm, straight_line=straight_line)
    with progress_bar("design", enabled=not quiet) as report:
        plan = design_territories(
            acc,
            rp,
            travel,
            horizon_days=horizon_days,
            tolerance=tolerance,
            locked=locks,
            locked_territories=kept,
            weights=weights,
            progress=report,
        )
    out_console.print(kpi_table(plan.kpis))
    for note in plan.notes:
        err_console.print(f"note: {note}", markup=False)
    _write(plan.territories, acc, plan.kpis, out_csv, out_geojson, out_kpis)
    if save:
        k = plan.kpis
        detail = (
            f"design: max dev {k.max_workload_dev_pct:.1f} %, "
            f"{k.contiguity_violations} enclave accounts"
        )
        save_territories(
            plan.territories,
            database_url,
            cause=OwnershipCause.REALIGNMENT,
            user=user,
            detail=detail,
        )
        out_console.print(f"saved {len(plan.territories)} territories")


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
    max_moves: Annotated[int | None, typer.Option(min=0, help="Cap on moved accounts.")] = None,
    move_penalty: Annotated[
        float | None,
        typer.Option(min=0.0, help="Price of a move in seconds of road time (one more option)."),
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
    apply: Annotated[
        int | None,
        typer.Option("--apply", help="Option number to store as the current territories."),
    ] = None,
    database_url: DbOpt = None,
    user: UserOpt = "",
) -> None:
    """Rebalance current territories; lists options from stable to fair with their KPIs.

    Also always offered: 3600 s per move, territories in one piece with few moves.
    """
    if choose is not None and apply is not None and choose != apply:
        raise InputError(Problem("--apply", None, None, "differs from --choose; give one"))
    choose = apply if apply is not None else choose
    weights = _weights(objective, start, workload_weight, value_weight)
    acc, rp = load_inputs(accounts, reps, database_url)
    current = load_territories(territories, database_url)
    travel = load_travel(osm, straight_line=straight_line)
    with progress_bar("realign", enabled=not quiet) as report:
        options = realign_territories(
            current,
            acc,
            rp,
            travel,
            max_moves=max_moves,
            move_penalty=move_penalty,
            horizon_days=horizon_days,
            weights=weights,
            progress=report,
        )
    table = Table(title="Realignment options")
    for col in (
        "#",
        "option",
        "moved",
        "new/orphaned",
        "max dev %",
        *(["max value dev %"] if weights.value > 0 else []),
        "travel to home min",
        "enclaves",
    ):
        table.add_column(col, justify="left" if col == "option" else "right")
    for n, opt in enumerate(options, start=1):
        table.add_row(
            str(n),
            opt.label,
            str(opt.moved_accounts),
            str(len(opt.comparison.moves) - opt.moved_accounts),
            f"{opt.kpis.max_workload_dev_pct:.1f}",
            *([f"{opt.kpis.max_value_dev_pct:.1f}"] if weights.value > 0 else []),
            f"{opt.kpis.mean_travel_to_home_s / 60:.1f}",
            str(opt.kpis.contiguity_violations),
        )
    out_console.print(table)
    if choose is not None:
        if not 1 <= choose <= len(options):
            raise InputError(
                Problem("--choose", None, None, f"pick an option 1..{len(options)}, got {choose}")
            )
        picked = options[choose - 1]
        out_console.print(_comparison_table(picked.comparison))
        out_console.print(kpi_table(picked.kpis, title=f"Option {choose}: {picked.label}"))
        _write(picked.territories, acc, picked.kpis, out_csv, out_geojson, out_kpis)
        if apply is not None:
            detail = f"realignment option {choose}: {picked.label}, {picked.moved_accounts} moved"
            save_territories(
                picked.territories,
                database_url,
                cause=OwnershipCause.REALIGNMENT,
                user=user,
                detail=detail,
            )
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
    """KPIs of existing territories."""
    acc, rp = load_inputs(accounts, reps, database_url)
    current = load_territories(territories, database_url)
    travel = load_travel(osm, straight_line=straight_line)
    kpis = compute_kpis(current, acc, rp, travel, horizon_days=horizon_days)
    out_console.print(kpi_table(kpis))
    _write(current, acc, kpis, None, out_geojson, out_kpis)


@territories_app.command("history")
def history_command(
    account_id: Annotated[str, typer.Argument(help="Account whose owners to list.")],
    database_url: DbOpt = None,
) -> None:
    """Who owned an account when, and why (from the database)."""
    store = _open_store(database_url)
    try:
        records = store.territories.ownership_history(account_id)
    finally:
        store.close()
    if not records:
        raise InputError(
            Problem("database", None, "account_id", f"no ownership history for {account_id}")
        )
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
