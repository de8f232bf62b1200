"""Keep numba's on-disk cache of this package consistent with its sources.

numba checks a cached function only against the file that defines it, but a compiled function
contains the functions it calls from the other modules of this package. So the cache is
dropped whenever a source file with compiled code changed (a fingerprint of them is kept
beside the cache files).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = "sources.fingerprint"
COMPILED = (
    "compiled.py",
    "instance.py",
    "routes.py",
    "moves.py",
    "swapstar.py",
    "patterns.py",
    "population.py",
    "genetic.py",
)
"""Modules with compiled code or the types it is compiled for; editing others keeps the cache."""


def drop_stale_cache() -> None:
    cache = HERE / "__pycache__"
    digest = hashlib.sha256()
    for name in COMPILED:
        digest.update(name.encode())
        digest.update((HERE / name).read_bytes())
    want = digest.hexdigest()
    stamp = cache / STAMP
    try:
        if stamp.read_text() == want:
            return
    except OSError:
        pass  # no fingerprint yet: treat the cache as stale
    try:
        for old in (*cache.glob("*.nbi"), *cache.glob("*.nbc")):
            old.unlink(missing_ok=True)
        cache.mkdir(exist_ok=True)
        stamp.write_text(want)
    except OSError:
        # A read-only install: numba then cannot cache either and compiles in memory.
        return
