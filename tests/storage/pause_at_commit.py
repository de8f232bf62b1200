"""Run ``routeplanner`` so that it stops itself (SIGSTOP) just before a commit, once it has
written ``ROWS`` rows of ``TABLE``: ``python pause_at_commit.py TABLE ROWS ARGS...`` runs
``routeplanner ARGS``.

The crash-safety test kills the stopped process. Stopping there, rather than killing when a
probe happens to see a write, puts the kill inside the write however short the write and however
busy the machine: the transaction has run every statement, its COMMIT is not sent. It is also
the hardest place for a writer that commits in pieces: by the commit that completes ``ROWS``
rows, such a writer has committed all its earlier pieces. Nothing of the command is replaced;
the hook only counts rows and pauses.
"""

from __future__ import annotations

import os
import re
import runpy
import signal
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

PENDING = "pause_at_commit_rows"
"""Rows the open transaction on a connection wrote to the table (kept in its ``info``)."""


def install(table: str, rows: int) -> None:
    """Listen on every engine the command creates: count the rows its statements insert,
    update or delete in ``table``; stop the process at the commit of a transaction that wrote
    some, once ``rows`` are written in all."""
    write = re.compile(
        rf'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?{re.escape(table)}"?[\s(]', re.IGNORECASE
    )
    committed = 0

    @event.listens_for(Engine, "after_cursor_execute")
    def _count(
        connection: Connection, cursor: Any, statement: str, params: Any, _ctx: Any, many: bool
    ) -> None:
        if write.match(statement):
            pending = connection.info.get(PENDING, 0)
            connection.info[PENDING] = pending + _rows(cursor, params, many=many)

    @event.listens_for(Engine, "commit")
    def _pause(connection: Connection) -> None:  # SQLAlchemy calls this before the driver's
        nonlocal committed
        pending = connection.info.pop(PENDING, 0)
        if pending and committed + pending >= rows:
            os.kill(os.getpid(), signal.SIGSTOP)
        committed += pending

    @event.listens_for(Engine, "rollback")
    def _forget(connection: Connection) -> None:
        connection.info.pop(PENDING, None)


def _rows(cursor: Any, params: Any, *, many: bool) -> int:
    """Rows a write statement wrote: one per parameter set of an ``executemany``, else the
    driver's count (SQLite reports none for an INSERT .. RETURNING of one row: that is one)."""
    if many and isinstance(params, list):
        return len(params)
    return max(int(cursor.rowcount), 1)


if __name__ == "__main__":
    install(sys.argv[1], int(sys.argv[2]))
    sys.argv = ["routeplanner", *sys.argv[3:]]
    runpy.run_module("routeplanner", run_name="__main__", alter_sys=True)
