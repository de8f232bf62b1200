"""What an engine hands back: stop orders only; timing and feasibility are ours (eta.py)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineResult:
    """Ordered visit ids per vehicle id; vehicles without visits may be absent.

    ``status`` is the engine's own word ("ok", "no_solution", "not_applicable", ...), kept for
    logs and benchmarks; the router never trusts it for feasibility. ``starts`` (visit id ->
    earliest start of service in the engine's own model, where it reports one) lets a test
    compare the engine's timing with the checker's.
    """

    engine: str
    routes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    status: str = "ok"
    seconds: float = 0.0
    detail: str = ""
    starts: dict[str, int] = field(default_factory=dict)
