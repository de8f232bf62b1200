"""The two ways this package compiles functions with numba.

Both are cached on disk and release the interpreter lock (islands run in threads). A
:func:`kernel` does not allocate and is compiled without numba's reference counting: with it,
every call of a small helper that takes arrays paid an atomic increment and decrement per
array, which made a move evaluation some 70 times slower. A :func:`step` is a small kernel
inlined into its callers by numba: a call passes every array of the problem and solution
tuples as separate arguments (over 400), which cost more than the move evaluations themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F) -> F:
    return cast(F, njit(cache=True, nogil=True, _nrt=False)(fn))


def step(fn: F) -> F:
    return cast(F, njit(cache=True, nogil=True, _nrt=False, inline="always")(fn))
