"""Latency, errors and lost writes under 50 clients mixing reads, visit reports and account edits.

Sets up the bundled Heidelberg sample as :mod:`benchmarks.web_latency` does (300 accounts, 4
reps, a real one-week plan, here starting this week's Monday so every reported visit is on a
day up to today), once on a SQLite file and once on PostgreSQL, and serves each with a real
``uvicorn`` (one worker, as ``routeplanner serve`` runs). PostgreSQL is the server
``RP_BENCH_POSTGRES_URL`` names, else a throwaway cluster from the installed server binaries
(:mod:`tests.postgres_cluster`); either way the data goes into a schema of its own.

Nine in ten clients are reps, spread over the 4 reps: each request is their day page (session
cookie, 40 %), the API day (bearer token, 40 %) or a visit report, ``POST /api/v1/visits`` of
one of their planned stops as done or checked in (20 %). The tenth is a manager: the API day of
a rep (80 %) or an account edit, ``PATCH /api/v1/accounts/{id}`` changing the visit minutes of
an account only that client edits (20 %). Paced, that is about 9 reports and 1 edit a second.
Two loads per database, ``--duration`` seconds each: paced (each client waits ``--think-ms`` x
0.5..1.5 after an answer, as people on phones do) and closed loop (the next request at once:
the server's limit, queueing included).

Every answer other than a 200, and every socket error, counts as an error. Afterwards the
database is read directly: every acknowledged visit report (each carries a unique note) must be
stored, and every edited account must hold the last visit minutes acknowledged for it. Target:
0 errors, p95 of writes under 200 ms, no lost write.

The load comes from an asyncio HTTP/1.1 client in this process (wrk cannot check which writes
were acknowledged); on 2 shared cores it takes CPU from the server, so the figures are an upper
bound. Usage: ``python -m benchmarks.web_writes [--clients 50] [--duration 60]
[--think-ms 1000] [--databases sqlite,postgres] [--time-limit 2] [--csv F]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from benchmarks.web_latency import Phase, exchange, log_in, prepare, server
from routeplanner.settings import Settings
from routeplanner.storage import Store
from tests.postgres_cluster import throwaway_cluster

TARGET_WRITE_P95_MS = 200.0
POSTGRES_ENV = "RP_BENCH_POSTGRES_URL"
READ_DAY_PAGE, READ_API_DAY = "read: day page", "read: API day"
WRITE_VISIT, WRITE_ACCOUNT = "write: visit report", "write: account edit"
OPERATIONS = (READ_DAY_PAGE, READ_API_DAY, WRITE_VISIT, WRITE_ACCOUNT)


@dataclass
class MixClient:
    """One simulated user: a rep (``visits`` to report) or a manager (``account`` to edit)."""

    index: int
    cookie: str
    bearer: str
    day_page: str
    api_day: str
    visits: list[str] = field(default_factory=list)
    account: str = ""


@dataclass
class Acknowledged:
    """The writes the server answered 200 to, for the check against the database."""

    notes: set[str] = field(default_factory=set)
    minutes: dict[str, int] = field(default_factory=dict)


def _request(port: int, method: str, path: str, header: str, body: object = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", header]
    lines.append("Accept: text/html,application/json")
    payload = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def _next_operation(
    client: MixClient, port: int, rng: random.Random, count: int
) -> tuple[str, bytes, tuple[str, object] | None]:
    """What the client sends next: the operation, the request, and what a 200 acknowledges."""
    pick = rng.random()
    if client.account:  # a manager
        if pick < 0.8:
            return READ_API_DAY, _request(port, "GET", client.api_day, client.bearer), None
        minutes = 15 + count % 60
        path = f"/api/v1/accounts/{client.account}"
        body: dict[str, object] = {"visit_minutes": minutes}
        request = _request(port, "PATCH", path, client.bearer, body)
        return WRITE_ACCOUNT, request, ("minutes", minutes)
    if pick < 0.4:
        return READ_DAY_PAGE, _request(port, "GET", client.day_page, client.cookie), None
    if pick < 0.8:
        return READ_API_DAY, _request(port, "GET", client.api_day, client.bearer), None
    note = f"bench {client.index}-{count}"
    report: dict[str, object] = {
        "visit_id": rng.choice(client.visits),
        "status": rng.choice(["done", "checked_in"]),
        "at": f"{rng.randint(8, 16):02d}:{rng.choice(['00', '15', '30', '45'])}",
        "note": note,
    }
    request = _request(port, "POST", "/api/v1/visits", client.bearer, report)
    return WRITE_VISIT, request, ("note", note)


async def drive_mix(
    port: int,
    clients: list[MixClient],
    duration_s: float,
    think_s: float,
    phases: dict[str, Phase],
    acked: Acknowledged,
) -> None:
    """Every client on its own keep-alive connection until the time is up."""
    deadline = time.perf_counter() + duration_s

    async def run(client: MixClient) -> None:
        rng = random.Random(client.index)
        if think_s:
            await asyncio.sleep(rng.uniform(0, think_s))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        count = 0
        try:
            while time.perf_counter() < deadline:
                count += 1
                name, request, acknowledges = _next_operation(client, port, rng, count)
                phase = phases[name]
                begin = time.perf_counter()
                try:
                    status, size = await exchange(reader, writer, request)
                except (OSError, RuntimeError, asyncio.IncompleteReadError, ValueError):
                    phase.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                phase.latencies_ms.append((time.perf_counter() - begin) * 1000)
                phase.bytes += size
                if status != 200:
                    phase.errors += 1
                elif acknowledges is not None:
                    kind, value = acknowledges
                    if kind == "note":
                        acked.notes.add(str(value))
                    else:
                        acked.minutes[client.account] = int(str(value))
                if think_s:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(run(c) for c in clients))
    for phase in phases.values():
        phase.seconds = time.perf_counter() - started


def lost_writes(url: str, acked: Acknowledged) -> list[str]:
    """Acknowledged writes the database does not hold (empty: none lost)."""
    store = Store.open(url)
    try:
        stored_notes = {r.note for r in store.visits.find()}
        lost = [f"visit report {n!r}" for n in sorted(acked.notes - stored_notes)]
        for account_id, minutes in sorted(acked.minutes.items()):
            account = store.accounts.get(account_id)
            found = None if account is None else account.visit_duration_s / 60
            if found != minutes:
                lost.append(f"account {account_id}: {found} minutes, acknowledged {minutes}")
        return lost
    finally:
        store.close()


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL of an empty schema on ``RP_BENCH_POSTGRES_URL`` or a throwaway cluster."""
    with contextlib.ExitStack() as stack:
        base = os.environ.get(POSTGRES_ENV, "")
        if not base:
            base = stack.enter_context(throwaway_cluster()).url
        schema = f"rp_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base)
        stack.callback(admin.dispose)
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


def _clients(
    data: dict[str, object], cookies: dict[str, str], count: int, today: date
) -> list[MixClient]:
    days: dict[str, date] = data["days"]  # type: ignore[assignment]
    tokens: dict[str, str] = data["tokens"]  # type: ignore[assignment]
    visits: dict[str, list[tuple[str, date]]] = data["visits"]  # type: ignore[assignment]
    accounts: list[str] = data["accounts"]  # type: ignore[assignment]
    reps = sorted(days)
    clients = []
    for i in range(count):
        rep = reps[i % len(reps)]
        day = days[rep]
        page, api = f"/route?day={day}", f"/api/v1/reps/{rep}/days/{day}"
        if i % 10 == 9:
            bearer = f"Authorization: Bearer {data['manager_token']}"
            clients.append(MixClient(i, "", bearer, page, api, account=accounts[i]))
            continue
        due = [v for v, d in visits[rep] if d <= today] or [v for v, _ in visits[rep]]
        bearer = f"Authorization: Bearer {tokens[rep]}"
        clients.append(MixClient(i, cookies[rep], bearer, page, api, visits=due))
    return clients


def run_database(
    name: str, url: str, args: argparse.Namespace, settings: Settings, folder: Path
) -> list[dict[str, object]]:
    """Prepare the data in ``url``, serve it and drive both loads; rows for the report."""
    today = datetime.now(tz=ZoneInfo(settings.timezone)).date()
    start = today - timedelta(days=today.weekday())
    data = prepare(folder, 1, args.time_limit, settings, url=url, start=start)
    rows = []
    with server(url, settings, cache=True) as port:
        reps = sorted(data["days"])  # type: ignore[call-overload]
        cookies = {r: log_in(port, f"bench-{r}") for r in reps}
        clients = _clients(data, cookies, args.clients, today)
        for think_s in (args.think_ms / 1000, 0.0):
            phases = {op: Phase(op, True, think_s) for op in OPERATIONS}
            acked = Acknowledged()
            asyncio.run(drive_mix(port, clients, args.duration, think_s, phases, acked))
            lost = lost_writes(url, acked)
            for phase in phases.values():
                row = {"database": name, **phase.row()}
                writes = phase.name.startswith("write")
                row["lost_writes"] = len(lost) if writes else ""
                rows.append(row)
                print(
                    f"  {name:10} {row['load']:12} {phase.name:20} {row['requests']:6} requests "
                    f"p50 {row['p50_ms']:7} ms  p95 {row['p95_ms']:7} ms  p99 {row['p99_ms']:7} ms"
                    f"  errors {row['errors']}"
                )
            print(f"  {name:10} {rows[-1]['load']:12} lost writes: {len(lost)} {lost[:5]}")
    return rows


def verdict(rows: list[dict[str, object]]) -> None:
    for row in rows:
        if not str(row["endpoint"]).startswith("write"):
            continue
        p95 = float(str(row["p95_ms"]))
        met = p95 < TARGET_WRITE_P95_MS and row["errors"] == 0 and row["lost_writes"] == 0
        print(
            f"{row['database']}, {row['load']}, {row['endpoint']}: p95 {p95:.1f} ms vs target "
            f"{TARGET_WRITE_P95_MS:.0f} ms, errors {row['errors']}, lost {row['lost_writes']}: "
            f"{'met' if met else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per load")
    parser.add_argument("--think-ms", type=float, default=1000.0, help="pause of the paced load")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--time-limit", type=float, default=2.0, help="planning s per territory")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    settings = Settings()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; {args.clients} clients x {args.duration:.0f} s "
        f"per load; paced clients wait {args.think_ms:.0f} ms after each answer"
    )
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.databases.split(","):
            if name == "sqlite":
                url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
                rows += run_database(name, url, args, settings, Path(tmp))
            elif name == "postgres":
                with postgres_schema() as url:
                    rows += run_database(name, url, args, settings, Path(tmp))
            else:
                parser.error(f"unknown database {name!r}: sqlite or postgres")
    print()
    verdict(rows)
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
