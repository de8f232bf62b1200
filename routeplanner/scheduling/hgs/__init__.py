"""Hybrid genetic search for periodic routing (day patterns and routes), compiled with numba."""

from routeplanner.scheduling.hgs._cache import drop_stale_cache

drop_stale_cache()

from routeplanner.scheduling.hgs.search import solve_hgs, warm_up  # noqa: E402

__all__ = ["solve_hgs", "warm_up"]
