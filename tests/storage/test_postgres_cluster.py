"""Without a configured server the PostgreSQL tests still run: the session starts a throwaway
cluster from the installed server binaries and removes it afterwards (as ``make test`` on a
fresh machine, and CI, rely on)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.helpers import REPO, require
from tests.postgres_cluster import SERVER_GLOB, server_binaries, throwaway_cluster

pytestmark = pytest.mark.postgres
ONE_POSTGRES_TEST = (
    "tests/storage/test_accounts.py::test_import_round_trip_returns_equal_domain_objects[postgres]"
)


def _require_binaries() -> None:
    require(server_binaries() is not None, f"PostgreSQL server binaries ({SERVER_GLOB})")


def _accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_throwaway_cluster_serves_and_is_gone_afterwards(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    _require_binaries()
    with throwaway_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        engine = create_engine(cluster.url)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE visits (id int PRIMARY KEY, name text)"))
            connection.execute(text("INSERT INTO visits VALUES (1, 'Bäckerei')"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT name FROM visits")).scalar() == "Bäckerei"
            assert connection.execute(text("SELECT current_database()")).scalar() == (
                "routeplanner_test"
            )
        engine.dispose()
        assert cluster.folder.is_dir()
        assert _accepts_connections(cluster.port)
    assert not cluster.folder.exists()
    assert not _accepts_connections(cluster.port)


def test_postgres_tests_run_without_a_configured_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A PostgreSQL test in a session with neither ``RP_TEST_POSTGRES_URL`` nor ``CI`` set
    passes rather than being skipped."""
    _require_binaries()
    env = {k: v for k, v in os.environ.items() if k not in ("RP_TEST_POSTGRES_URL", "CI")}
    base = tmp_path_factory.mktemp("inner-session")

    def clusters() -> set[Path]:  # where a cluster's folder goes, as root or not
        return {*base.glob("rp-test-pg-*"), *Path(tempfile.gettempdir()).glob("rp-test-pg-*")}

    before = clusters()
    # One xdist worker: it starts the cluster and the main process stops it, as in `make test`,
    # without a worker per core started for one test.
    command = [sys.executable, "-m", "pytest", ONE_POSTGRES_TEST, "-q", "-rs", "-n", "1"]
    command += ["-p", "no:cacheprovider", "--basetemp", str(base)]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "1 passed" in done.stdout
    assert "skipped" not in done.stdout
    assert clusters() <= before, "the cluster's folder was left behind"
