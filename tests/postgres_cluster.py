"""A throwaway PostgreSQL cluster from the installed server binaries, for runs without a server.

The test session (and the write-load benchmark) starts one when ``RP_TEST_POSTGRES_URL`` names
no server and Debian's ``postgresql`` package is installed (``/usr/lib/postgresql/*/bin``), so
``make test`` on a fresh machine runs the PostgreSQL tests exactly as CI does. The cluster lives
in a new folder, listens on 127.0.0.1 at a free port with password-less (trust) logins for the
user ``postgres``, and is stopped and deleted when the run ends.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` system user the
package creates, in a folder under the system's temporary directory (a root-only test folder
could not be entered by it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SERVER_GLOB = "/usr/lib/postgresql/*/bin"
DATABASE = "routeplanner_test"
SYSTEM_USER = "postgres"


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running throwaway cluster: its SQLAlchemy URL and the folder it lives in."""

    url: str
    folder: Path
    port: int


def server_binaries() -> Path | None:
    """The newest installed server's ``bin`` folder (with initdb and pg_ctl), if any."""
    found = [
        folder
        for folder in Path("/").glob(SERVER_GLOB.lstrip("/"))
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file()
    ]
    return max(found, key=lambda f: _version_key(f.parent.name), default=None)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the unprivileged ``postgres`` user when we are root."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SYSTEM_USER, "--", *argv]


def _run(argv: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(
        _as_server_user(argv), capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:] if log else ""
        msg = f"{what} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
        raise RuntimeError(msg)


def _new_folder(parent: Path | None) -> Path:
    if os.geteuid() == 0:
        folder = Path(tempfile.mkdtemp(prefix="rp-test-pg-"))
        shutil.chown(folder, user=SYSTEM_USER)
        return folder
    return Path(tempfile.mkdtemp(prefix="rp-test-pg-", dir=parent))


def start_cluster(parent: Path | None = None) -> Cluster:
    """Create and start a cluster in a new folder (under ``parent`` unless root; default: the
    system's temporary directory) with an empty database ``routeplanner_test``;
    :func:`stop_cluster` stops it and deletes the folder.

    Raises
    ------
    RuntimeError
        No server binaries, or a step failed (the message carries the server log's end).
    """
    binaries = server_binaries()
    if binaries is None:
        msg = f"no PostgreSQL server binaries in {SERVER_GLOB}"
        raise RuntimeError(msg)
    folder = _new_folder(parent)
    data, log, port = folder / "data", folder / "server.log", _free_port()
    cluster = Cluster(f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}", folder, port)
    try:
        initdb = [str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        _run([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
        # Nothing here must survive a crash of the server, so it need not wait for the disk.
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log)]
        _run([*pg_ctl, "-o", options, "-w", "-t", "60", "start"], "starting the server", log)
        createdb = [str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port)]
        _run([*createdb, "-U", "postgres", DATABASE], "creating the test database", log)
    except BaseException:
        stop_cluster(folder)
        raise
    return cluster


def stop_cluster(folder: Path) -> None:
    """Stop the cluster living in ``folder`` (if it runs) and delete the folder."""
    binaries = server_binaries()
    data = folder / "data"
    if binaries is not None and (data / "postmaster.pid").exists():
        stop = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_server_user(stop), capture_output=True, check=False, timeout=120)
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster(parent: Path | None = None) -> Iterator[Cluster]:
    """A cluster from :func:`start_cluster` for the ``with`` block, stopped and deleted after."""
    cluster = start_cluster(parent)
    try:
        yield cluster
    finally:
        stop_cluster(cluster.folder)


class SharedCluster:
    """One throwaway cluster for a whole test run, however many processes it has.

    The run's main process makes a ``folder`` and hands it to its pytest-xdist workers; the
    first process that needs PostgreSQL starts the cluster under a lock on that folder and
    writes its URL and place there, the others read them. The main process stops it when the
    run ends (:meth:`stop`), after every worker is done.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.folder / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def url(self) -> str:
        """The cluster's URL, starting it if no process of this run has yet."""
        url_file, place_file = self.folder / "url", self.folder / "cluster"
        with self._locked():
            if not url_file.exists():
                cluster = start_cluster()
                place_file.write_text(str(cluster.folder), encoding="utf-8")
                url_file.write_text(cluster.url, encoding="utf-8")
            return url_file.read_text(encoding="utf-8")

    def stop(self) -> None:
        """Stop and delete the cluster if one was started, then the folder."""
        place_file = self.folder / "cluster"
        with self._locked():
            if place_file.exists():
                stop_cluster(Path(place_file.read_text(encoding="utf-8")))
        shutil.rmtree(self.folder, ignore_errors=True)
