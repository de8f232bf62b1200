"""Latency of the rep's day page and of the API day endpoint under 50 concurrent clients.

Sets up the bundled Heidelberg sample in a temporary SQLite file (300 accounts, 4 reps; import,
territory design and a real one-week plan), adds a rep login and an API token per rep, then
starts a real ``uvicorn`` on 127.0.0.1 (one worker, as ``routeplanner serve`` runs) and drives
it with ``--clients`` concurrent keep-alive connections for ``--duration`` seconds per endpoint.
Each client is a rep on their planned day (clients spread over the 4 reps): the page
``/route?day=D`` with the rep's session cookie, the API ``/api/v1/reps/R/days/D`` with the rep's
bearer token. Every answer must be a complete 200; anything else counts as an error.

The load generator is ``wrk`` (C; ``apt-get install wrk``, ``make system-deps``) with
``benchmarks/web_latency.lua``, which sends each request with its rep's session cookie or bearer
token (round-robin over the clients' paths), adds the think time of the paced phases, counts
every answer other than 200 as an error and prints p50/p95/p99. wrk uses one thread: on 2 shared
cores a Python client spent as much CPU per request as the server, so the figures measured the
client. Without wrk the script falls back to a minimal HTTP/1.1 client on asyncio streams in
this process (``--tool python``) and says so. By default clients send the next request as soon
as the previous answer is complete (closed loop, no think time: ``wrk -c 50``), so p95 is
dominated by queueing (latency ~ clients / throughput). The paced phases make each client wait
``--think-ms`` (x 0.5..1.5, random) after each answer, as people on phones do; 50 reps
reloading every second is still far more than a field team does. The "gz" phases send the
same requests with ``Accept-Encoding: gzip``, as every phone browser does: they measure the
pre-compressed copies the cache keeps and how many bytes a phone really receives.

Baseline in the same run: the same load with the day-view cache switched off
(``RP_DAY_CACHE_SIZE=0``): every request then loads the plan and the accounts and draws the
map, as before the cache existed. Target: p95 under 50 ms and no errors.

Usage: ``python -m benchmarks.web_latency [--clients 50] [--duration 30] [--think-ms 1000]
[--weeks 1] [--time-limit 2] [--tool auto|wrk|python] [--workers 1] [--no-baseline] [--csv F]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import http.cookiejar
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from routeplanner.auth import hash_password, new_api_token
from routeplanner.io.accounts import read_accounts
from routeplanner.io.reps import read_reps
from routeplanner.roads.graph import load_road_graph
from routeplanner.services.imports import replace_accounts_and_reps
from routeplanner.services.planning import PlanningSetup, PlanParams, next_monday, run_planning
from routeplanner.settings import SAMPLE_DIR, Settings
from routeplanner.storage import Store
from routeplanner.travel.road import RoadTravel

TARGET_P95_MS = 50.0
PASSWORD = "benchmark password"


@dataclass
class Client:
    """What one simulated rep sends: a path, its auth header and, as phone browsers do,
    optionally ``Accept-Encoding: gzip`` (``gzip=True``)."""

    path: str
    header: str
    gzip: bool = False


@dataclass
class Phase:
    name: str
    cache: bool
    think_s: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    bytes: int = 0
    seconds: float = 0.0
    summary: dict[str, float] | None = None  # from wrk: requests, p50/p95/p99/mean in ms

    @property
    def requests(self) -> int:
        return int(self.summary["requests"]) if self.summary else len(self.latencies_ms)

    def quantile(self, q: float) -> float:
        if self.summary is not None:
            return self.summary[f"p{round(q * 100)}"]
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, round(q * (len(data) - 1)))]

    def row(self) -> dict[str, object]:
        n = self.requests
        mean = (
            self.summary["mean"]
            if self.summary
            else statistics.fmean(self.latencies_ms)
            if n
            else float("nan")
        )
        return {
            "endpoint": self.name,
            "load": f"paced {self.think_s:g} s" if self.think_s else "closed loop",
            "cache": "on" if self.cache else "off",
            "requests": n,
            "errors": self.errors,
            "req_per_s": round(n / self.seconds, 1) if self.seconds else 0,
            "p50_ms": round(self.quantile(0.50), 1),
            "p95_ms": round(self.quantile(0.95), 1),
            "p99_ms": round(self.quantile(0.99), 1),
            "mean_ms": round(mean, 1),
            "kb_per_answer": round(self.bytes / max(1, n) / 1024, 1),
        }


def prepare(
    folder: Path,
    weeks: int,
    time_limit_s: float,
    settings: Settings,
    *,
    url: str | None = None,
    start: date | None = None,
) -> dict[str, object]:
    """Import and plan the sample region (into ``url``, default a SQLite file in ``folder``;
    from ``start``, default next Monday); return logins, tokens (a manager's as well), each
    rep's planned day and every planned visit of each rep with its day."""
    url = url or f"sqlite:///{folder / 'bench.sqlite'}"
    store = Store.open(url)
    accounts = read_accounts(SAMPLE_DIR / "accounts.csv")
    reps = read_reps(SAMPLE_DIR / "reps.csv")
    replace_accounts_and_reps(store, accounts, reps, source="benchmark")
    graph = load_road_graph(settings.osm_path, cache_dir=settings.cache_dir)
    travel = RoadTravel(graph, max_snap_m=settings.max_snap_m)
    first = start or next_monday(settings.timezone)
    params = PlanParams(start=first, weeks=weeks, time_limit_s=time_limit_s)
    started = time.perf_counter()
    result = run_planning(store, travel, params, PlanningSetup.of(settings))
    print(
        f"planned {len(accounts)} accounts, {len(reps)} reps, {weeks} week(s) "
        f"in {time.perf_counter() - started:.0f} s (plan {result.plan_id})"
    )
    days: dict[str, date] = {}
    for route in sorted(result.plan.routes, key=lambda r: (-len(r.stops), r.day)):
        days.setdefault(route.rep_id, route.day)
    tokens: dict[str, str] = {}
    for rep in reps:
        user = store.users.create(
            f"bench-{rep.rep_id}", hash_password(PASSWORD), role="rep", rep_id=rep.rep_id
        )
        tokens[rep.rep_id] = new_api_token(store, user, label="benchmark")
    manager = store.users.create("bench-manager", hash_password(PASSWORD), role="admin")
    visits: dict[str, list[tuple[str, date]]] = {}
    for route in result.plan.routes:
        visits.setdefault(route.rep_id, []).extend((s.visit_id, route.day) for s in route.stops)
    stops = {r.rep_id: len(r.stops) for r in result.plan.routes if days.get(r.rep_id) == r.day}
    manager_token = new_api_token(store, manager, label="benchmark")
    store.close()
    return {
        "url": url,
        "days": days,
        "tokens": tokens,
        "stops": stops,
        "visits": visits,
        "manager_token": manager_token,
        "accounts": [a.account_id for a in accounts],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def server(
    url: str, settings: Settings, *, cache: bool, workers: int = 1, cache_size: int = 256
) -> Iterator[int]:
    """A real uvicorn process serving the app factory on a free port (``cache_size``: the
    answer cache's entries when ``cache``)."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RP_OSM_PATH": str(settings.osm_path),
        "RP_CACHE_DIR": str(settings.cache_dir),
        "RP_SECRET_KEY": "benchmark-secret",
        "RP_DAY_CACHE_SIZE": str(cache_size) if cache else "0",
    }
    command = [
        sys.executable, "-m", "uvicorn", "routeplanner.web.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--workers", str(workers),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def log_in(port: int, username: str) -> str:
    """The session cookie after a real login through the form (with its CSRF token)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/login").read().decode()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    form = {"username": username, "password": PASSWORD, "csrf_token": found.group(1)}
    opener.open(f"http://127.0.0.1:{port}/login", data=urlencode(form).encode()).read()
    for cookie in jar:
        if cookie.name == "rp_session":
            return f"Cookie: rp_session={cookie.value}"
    raise RuntimeError(f"login of {username} failed")


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, int]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
    if length is None:
        raise RuntimeError("answer without Content-Length")
    body = await reader.readexactly(int(length.group(1)))
    return status, len(head) + len(body)


async def drive(
    port: int, clients: list[Client], duration_s: float, think_s: float, phase: Phase
) -> None:
    """Every client on its own keep-alive connection until the time is up."""
    deadline = time.perf_counter() + duration_s

    async def run(index: int, client: Client) -> None:
        rng = random.Random(index)  # people are not synchronised: random offsets and pauses
        if think_s:
            await asyncio.sleep(rng.uniform(0, think_s))
        request = (
            f"GET {client.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{client.header}\r\n"
            + ("Accept-Encoding: gzip\r\n" if client.gzip else "")
            + "Accept: text/html,application/json\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
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
                if think_s:
                    await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(run(i, c) for i, c in enumerate(clients)))
    phase.seconds = time.perf_counter() - started


WRK_SCRIPT = Path(__file__).with_name("web_latency.lua")


def drive_wrk(
    port: int, clients: list[Client], duration_s: float, think_s: float, phase: Phase
) -> None:
    """The same load from ``wrk`` (C, one thread, ``len(clients)`` keep-alive connections): it
    costs the shared cores far less per request than any Python client. Requests go round-robin
    over the clients' paths; ``web_latency.lua`` adds the think time and counts non-200s."""
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as handle:
        for path, header, gz in dict.fromkeys((c.path, c.header, c.gzip) for c in clients):
            handle.write(f"{path}\t{header}\t{'gzip' if gz else ''}\n")
        requests_file = handle.name
    try:
        command = [
            "wrk", "-t", "1", "-c", str(len(clients)), "-d", f"{duration_s:g}s",
            "--timeout", "30s", "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}",
            "--", requests_file, str(round(think_s * 1000)),
        ]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        Path(requests_file).unlink()
    found = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no RESULT line:\n{out}")
    values = {k: float(v) for k, v in (item.split("=") for item in found.group(1).split())}
    phase.seconds = values["duration_us"] / 1e6
    phase.bytes = int(values["bytes"])
    phase.errors = int(sum(values[k] for k in ("connect", "read", "write", "timeout", "not_200")))
    phase.summary = {
        "requests": values["requests"],
        "p50": values["p50_us"] / 1000,
        "p95": values["p95_us"] / 1000,
        "p99": values["p99_us"] / 1000,
        "mean": values["mean_us"] / 1000,
    }


def _show(phase: Phase) -> None:
    row = phase.row()
    print(
        f"  {phase.name:9} {row['load']:14} cache {row['cache']:3}: {row['requests']:6} requests "
        f"{row['req_per_s']:7} req/s  p50 {row['p50_ms']:7} ms  p95 {row['p95_ms']:7} ms  "
        f"p99 {row['p99_ms']:7} ms  errors {row['errors']}  {row['kb_per_answer']} KB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    parser.add_argument(
        "--think-ms", type=float, default=1000.0, help="pause per answer in the paced phases"
    )
    parser.add_argument("--weeks", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=2.0, help="planning s per territory")
    parser.add_argument("--no-baseline", action="store_true", help="skip the cache-off runs")
    parser.add_argument(
        "--tool",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk if installed (auto), else the asyncio client in this file",
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    tool = args.tool
    if tool == "auto":
        tool = "wrk" if shutil.which("wrk") else "python"
    if tool == "wrk" and not shutil.which("wrk"):
        parser.error("wrk not found: apt-get install wrk (or make system-deps as root)")
    print(
        f"load generator: {tool}"
        + ("" if tool == "wrk" else " (wrk not installed: the Python client shares the cores)")
    )
    settings = Settings()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}; {args.clients} clients x {args.duration:.0f} s "
        f"per phase; paced phases wait {args.think_ms:.0f} ms after each answer"
    )
    phases: list[Phase] = []
    loads = [0.0, args.think_ms / 1000]
    with tempfile.TemporaryDirectory() as tmp:
        data = prepare(Path(tmp), args.weeks, args.time_limit, settings)
        days: dict[str, date] = data["days"]  # type: ignore[assignment]
        tokens: dict[str, str] = data["tokens"]  # type: ignore[assignment]
        print("stops on the benchmarked days:", data["stops"])
        reps = sorted(days)
        spread = [reps[i % len(reps)] for i in range(args.clients)]
        for cache in [True] if args.no_baseline else [True, False]:
            with server(str(data["url"]), settings, cache=cache, workers=args.workers) as port:
                cookies = {r: log_in(port, f"bench-{r}") for r in reps}
                targets = [
                    ("day page", [Client(f"/route?day={days[r]}", cookies[r]) for r in spread]),
                    (
                        "API day",
                        [
                            Client(
                                f"/api/v1/reps/{r}/days/{days[r]}",
                                f"Authorization: Bearer {tokens[r]}",
                            )
                            for r in spread
                        ],
                    ),
                ]
                if cache:  # what phones send: the same requests taking gzip
                    targets += [
                        (f"{name} gz", [Client(c.path, c.header, gzip=True) for c in group])
                        for name, group in list(targets)
                    ]
                if cache:  # the floor: the cheapest request the app serves (one small query)
                    targets.insert(
                        0, ("health", [Client("/api/health", "X-Floor: 1")] * args.clients)
                    )
                for name, clients in targets:
                    warm = Phase(name, cache, 0.0)
                    asyncio.run(drive(port, clients[: len(reps)], 2.0, 0.0, warm))
                    if warm.errors:
                        raise RuntimeError(f"{name}: {warm.errors} errors while warming up")
                    for think_s in loads[:1] if name == "health" else loads:
                        phase = Phase(name, cache, think_s)
                        if tool == "wrk":
                            drive_wrk(port, clients, args.duration, think_s, phase)
                        else:
                            asyncio.run(drive(port, clients, args.duration, think_s, phase))
                        phases.append(phase)
                        _show(phase)
    print()
    for phase in phases:
        if not phase.cache or phase.name == "health":
            continue
        p95 = phase.quantile(0.95)
        verdict = "met" if p95 < TARGET_P95_MS and not phase.errors else "MISSED"
        line = (
            f"{phase.name}, {phase.row()['load']}: p95 {p95:.1f} ms vs target "
            f"{TARGET_P95_MS:.0f} ms ({verdict}), errors {phase.errors}"
        )
        base = next(
            (
                p
                for p in phases
                if (p.name, p.think_s) == (phase.name, phase.think_s) and not p.cache
            ),
            None,
        )
        if base is not None:
            line += (
                f"; cache off: p95 {base.quantile(0.95):.0f} ms "
                f"({base.quantile(0.95) / p95:.1f}x slower), throughput "
                f"{phase.row()['req_per_s']} vs {base.row()['req_per_s']} req/s"
            )
        print(line)
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            rows = [p.row() for p in phases]
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
