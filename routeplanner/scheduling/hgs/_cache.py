"""Keep numba's on-disk cache of this package consistent with its sources.

numba checks a cached function only against the file that defines it, but a compiled function
contains the functions it calls from the other modules of this package. So the cache is
dropped whenever any source file of the package changed (a fingerprint of all of them is kept
beside the cache files).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = "sources.fingerprint"


def drop_stale_cache() -> None:
    cache = HERE / "__pycache__"
    digest = hashlib.sha256()
    for src in sorted(HERE.glob("*.py")):
        digest.update(src.name.encode())
        digest.update(src.read_bytes())
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
