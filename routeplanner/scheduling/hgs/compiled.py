"""How this package compiles its functions with numba.

Every function is cached on disk and releases the interpreter lock (islands run in threads).
None of them allocates, so they are compiled without numba's reference counting: with it, each
call of a small helper that takes arrays paid an atomic increment and decrement per array,
which made a move evaluation some 70 times slower.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

_NO_REFCOUNTS: dict[str, Any] = {"_nrt": False}
"""numba's switch (missing from its type stubs) for compiling without reference counting."""


def kernel(fn: F) -> F:
    return cast(F, njit(cache=True, nogil=True, **_NO_REFCOUNTS)(fn))


def inlined(fn: F) -> F:
    """A kernel that numba copies into each caller (no call at all)."""
    return cast(F, njit(cache=True, nogil=True, inline="always", **_NO_REFCOUNTS)(fn))
