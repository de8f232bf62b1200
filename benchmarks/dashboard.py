"""Latency of the performance dashboard (``/performance``) and its JSON API
(``/api/v1/performance``) with 10,000 accounts, 50 reps and 24 months of history.

Builds the organisation deterministically (seeded) in a temporary SQLite file: the bundled
sample's 300 accounts and 4 reps copied up to ``--accounts`` and ``--reps``
(``sample_data/generate.py``: ``scaled_organisation``), one territory per rep (accounts in
west-to-east slices), then ``--months`` months of reported visits with outcomes and monthly
sales per account from the demo's history generator
(``routeplanner.services.sample_history.build_history``), up to today. A manager and every
rep get a login and an API token. A real ``uvicorn`` (one worker, as ``routeplanner serve``
runs) serves it and ``wrk`` (``benchmarks/web_latency.lua``) drives it with ``--clients``
keep-alive connections, closed loop, for ``--duration`` seconds per phase:

* organisation view: a manager's page and API answer for last month (every territory and rep);
* one rep's view: each rep's own page and API answer (clients round-robin over the reps).

Every answer must be a complete 200. Targets: p95 under 200 ms for the organisation view,
under 50 ms for one rep's.

Baseline in the same run: the first request of each distinct URL and login right after the
server started (nothing cached, timed alone; the median over the reps for the rep's view),
printed next to each p95 as a ratio. The dashboard's answers are cached until a visit is
recorded or sales, targets, territories, accounts, reps or the plan change, so under load the
p95 measures cached answers; the baseline is what the first request after such a change
costs.

Usage: ``python -m benchmarks.dashboard [--accounts 10000] [--reps 50] [--months 24]
[--clients 4] [--duration 10] [--db FILE] [--csv F]``; ``--db`` keeps the generated database
in FILE and reuses it on the next run (generation takes a while).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from benchmarks.web_latency import PASSWORD, Client, Phase, drive_wrk, log_in, server
from routeplanner.auth import hash_password, new_api_token
from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.model import Account, Territory
from routeplanner.model.history import OwnershipCause
from routeplanner.services.attribution import Month
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.sample_history import build_history
from routeplanner.settings import SAMPLE_DIR, Settings
from routeplanner.storage import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sample_data.generate import scaled_organisation

TARGETS_MS = {"organisation": 200.0, "rep": 50.0}
SEED = 20261206


def territories_of(accounts: list[Account], rep_ids: list[str]) -> list[Territory]:
    """One territory per rep: the accounts in west-to-east slices of equal size."""
    ordered = sorted(accounts, key=lambda a: (a.location.lon, a.account_id))
    size = -(-len(ordered) // len(rep_ids))
    return [
        Territory(
            territory_id=f"T{i + 1:02d}",
            name=f"Territory {i + 1}",
            rep_id=rep,
            account_ids=tuple(a.account_id for a in ordered[i * size : (i + 1) * size]),
        )
        for i, rep in enumerate(rep_ids)
    ]


def prepare(url: str, accounts_n: int, reps_n: int, months: int, today: date) -> None:
    """The organisation and its history (see the module's description)."""
    started = time.perf_counter()
    store = Store.open(url)
    accounts, reps = scaled_organisation(
        read_accounts(SAMPLE_DIR / "accounts.csv"),
        read_reps(SAMPLE_DIR / "reps.csv"),
        accounts_n,
        reps_n,
        seed=SEED,
    )
    replace_accounts_and_reps(store, accounts, reps, source="benchmark")
    territories = territories_of(accounts, [r.rep_id for r in reps])
    store.territories.save(territories, cause=OwnershipCause.IMPORT, replace_all=True)
    weeks = round(months * 52 / 12)
    history = build_history(
        accounts, territories, today=today, rng=random.Random(SEED), weeks=weeks, months=months
    )
    with store.transaction("storing the benchmark history") as tx:
        tx.visits.record_all(history.visits)
        tx.sales.replace_periods(history.sales, source="benchmark")
    for rep in reps:
        store.users.create(
            f"bench-{rep.rep_id}", hash_password(PASSWORD), role="rep", rep_id=rep.rep_id
        )
    store.users.create("bench-manager", hash_password(PASSWORD), role="admin")
    store.close()
    print(
        f"generated {len(accounts)} accounts, {len(reps)} reps, {len(history.visits)} visit "
        f"records, {len(history.sales)} sales figures in {time.perf_counter() - started:.0f} s"
    )


def tokens(url: str) -> dict[str, str]:
    """A fresh API token per benchmark user (tokens are stored hashed, so new ones)."""
    store = Store.open(url)
    found = {}
    for user in store.users.all():
        if user.username.startswith("bench-"):
            found[user.username] = new_api_token(store, user, label="benchmark run")
    store.close()
    return found


@dataclass
class Baseline:
    """The first request of a kind, timed alone on a fresh server."""

    name: str
    ms: float


def first_request(port: int, client: Client) -> float:
    name, _, value = client.header.partition(": ")
    request = urllib.request.Request(f"http://127.0.0.1:{port}{client.path}")
    request.add_header(name, value)
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as answer:
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{client.path}: status {answer.status}")
    return (time.perf_counter() - started) * 1000


def phases_for(port: int, keys: dict[str, str], month: Month) -> dict[str, list[Client]]:
    reps = sorted(k.removeprefix("bench-") for k in keys if k != "bench-manager")
    cookies = {user: log_in(port, user) for user in keys}
    query = f"?month={month}"
    manager = "bench-manager"
    return {
        "org page": [Client(f"/performance{query}", cookies[manager])],
        "org API": [
            Client(f"/api/v1/performance{query}", f"Authorization: Bearer {keys[manager]}")
        ],
        "rep page": [Client(f"/performance{query}", cookies[f"bench-{r}"]) for r in reps],
        "rep API": [
            Client(f"/api/v1/performance{query}", f"Authorization: Bearer {keys[f'bench-{r}']}")
            for r in reps
        ],
    }


def run(url: str, args: argparse.Namespace, month: Month) -> list[tuple[Phase, float]]:
    settings = Settings()
    keys = tokens(url)
    measured: list[tuple[Phase, float]] = []
    # room for every user's dashboard, page and answer (three entries each) and the logins'
    # entries, as RP_DAY_CACHE_SIZE should be set for a team of this size
    size = 8 * (args.reps + 1) + 256
    with server(url, settings, cache=True, cache_size=size) as port:
        groups = phases_for(port, keys, month)
        # every distinct request once, uncached: the baseline, and the cache warmed as a
        # day's first visitors would warm it
        firsts = {
            name: statistics.median(first_request(port, c) for c in clients)
            for name, clients in groups.items()
        }
        for name, clients in groups.items():
            spread = [clients[i % len(clients)] for i in range(max(args.clients, 1))]
            phase = Phase(name, True, 0.0)
            drive_wrk(port, spread, args.duration, 0.0, phase)
            measured.append((phase, firsts[name]))
            row = phase.row()
            print(
                f"  {name:9}: {row['requests']:5} requests {row['req_per_s']:6} req/s  "
                f"p50 {row['p50_ms']:7} ms  p95 {row['p95_ms']:7} ms  p99 {row['p99_ms']:7} ms  "
                f"errors {row['errors']}  {row['kb_per_answer']} KB; uncached "
                f"{firsts[name]:.0f} ms"
            )
    return measured


def report(measured: list[tuple[Phase, float]], csv_path: Path | None) -> None:
    print()
    rows = []
    for phase, first in measured:
        view = "organisation" if phase.name.startswith("org") else "rep"
        target = TARGETS_MS[view]
        p95 = phase.quantile(0.95)
        verdict = "met" if p95 < target and not phase.errors else "MISSED"
        print(
            f"{phase.name}: p95 {p95:.1f} ms vs target {target:.0f} ms ({verdict}), errors "
            f"{phase.errors}; uncached first request {first:.0f} ms ({first / p95:.1f}x the p95)"
        )
        rows.append({**phase.row(), "first_ms": round(first, 1), "target_ms": target})
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--months", type=int, default=24, help="months of history")
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--db", type=Path, help="keep (and reuse) the generated SQLite file")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        parser.error("wrk not found: apt-get install wrk (or make system-deps as root)")
    today = date.today()
    month = Month.of(today).previous
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; {args.clients} clients x "
        f"{args.duration:.0f} s per phase, closed loop; month {month}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "dashboard.sqlite"
        url = f"sqlite:///{path}"
        if not path.exists():
            prepare(url, args.accounts, args.reps, args.months, today)
        report(run(url, args, month), args.csv)


if __name__ == "__main__":
    main()
