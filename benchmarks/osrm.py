"""OSRM's car profile as a reference engine, for benchmarks only (never used by the planner).

The ``osrm-bindings`` wheel ships OSRM's executables and profiles. It is fetched by pip for the
benchmark only and unpacked under ``var/osrm`` (ignored by git; nothing of it is committed):

    bash benchmarks/osrm_setup.sh        # pip download osrm-bindings + unzip into var/osrm

An extract is prepared once per file content (``osrm-extract`` with ``car.lua``, then
``osrm-contract``) under ``var/osrm/data/<sha>``; ``osrm-routed`` then serves it on 127.0.0.1 on
a free port with a raised ``--max-table-size`` while the benchmark runs, and is stopped after.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

from routeplanner.roads.osm_filter import sniff_format

REPO = Path(__file__).resolve().parent.parent
DEFAULT_HOME = REPO / "var" / "osrm"


class OsrmMissingError(RuntimeError):
    """The OSRM executables are not unpacked where the benchmark looks for them."""


def find_osrm(home: Path = DEFAULT_HOME) -> Path:
    """The unpacked wheel's ``osrm`` folder (holding ``bin/`` and ``share/profiles/car.lua``)."""
    for base in (home / "osrm", home):
        if (base / "bin" / "osrm-routed").is_file() and (base / "share/profiles/car.lua").is_file():
            return base
    msg = (
        f"OSRM not found under {home}: run `bash benchmarks/osrm_setup.sh` first (pip download"
        " osrm-bindings --no-deps --only-binary=:all: --python-version 3.12 --platform"
        " manylinux_2_28_x86_64, then unzip into var/osrm)"
    )
    raise OsrmMissingError(msg)


def prepare(osrm: Path, osm: Path, home: Path = DEFAULT_HOME) -> Path:
    """Extract and contract ``osm`` with the car profile once; returns the ``.osrm`` base path."""
    digest = hashlib.sha256(osm.read_bytes()).hexdigest()[:16]
    folder = home / "data" / digest
    base = folder / "region.osrm"
    if (folder / "region.osrm.hsgr").is_file():
        return base
    folder.mkdir(parents=True, exist_ok=True)
    fmt = sniff_format(osm)
    source = folder / ("region.osm.pbf" if fmt == "pbf" else "region.osm")
    if fmt == "osm.gz":  # osrm-extract reads PBF, XML and bz2 XML, not gzip
        with gzip.open(osm, "rb") as src, source.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    elif fmt == "osm.bz2":
        source = folder / "region.osm.bz2"
        shutil.copyfile(osm, source)
    else:
        shutil.copyfile(osm, source)
    profile = osrm / "share" / "profiles" / "car.lua"
    log = folder / "prepare.log"
    with log.open("w", encoding="utf-8") as out:
        for cmd in (
            [str(osrm / "bin" / "osrm-extract"), "-p", str(profile), "-t", "1", str(source)],
            [str(osrm / "bin" / "osrm-contract"), "-t", "1", str(base)],
        ):
            subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, cwd=folder)
    return base


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(osrm: Path, base: Path, max_table: int) -> Iterator[str]:
    """Run ``osrm-routed`` on 127.0.0.1 for the duration of the block; yields its URL."""
    port = _free_port()
    log = base.parent / "routed.log"
    cmd = [
        str(osrm / "bin" / "osrm-routed"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--threads",
        "1",
        "--max-table-size",
        str(max_table),
        str(base),
    ]
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, proc)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            msg = f"osrm-routed exited with code {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"{url}/nearest/v1/driving/0,0", timeout=2):
                return
        except OSError as exc:
            if getattr(exc, "code", None) is not None:  # an HTTP error: the server answers
                return
            time.sleep(0.1)
    msg = "osrm-routed did not start within 30 s"
    raise RuntimeError(msg)


def table(
    url: str, lat: Sequence[float], lon: Sequence[float]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """OSRM's duration matrix (s) and each point's distance to where OSRM snapped it (m)."""
    coords = ";".join(f"{b:.7f},{a:.7f}" for a, b in zip(lat, lon, strict=True))
    body = f"{url}/table/v1/driving/{coords}?annotations=duration"
    with urllib.request.urlopen(body, timeout=600) as response:
        answer = json.load(response)
    if answer.get("code") != "Ok":
        msg = f"OSRM table failed: {answer.get('code')} {answer.get('message', '')}"
        raise RuntimeError(msg)
    durations = np.array(
        [[np.nan if d is None else d for d in row] for row in answer["durations"]], dtype=float
    )
    moved = np.array([w["distance"] for w in answer["sources"]], dtype=float)
    return durations, moved
