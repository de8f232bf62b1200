"""Daily and multi-day vehicle routing with time windows (OR-Tools, optionally PyVRP)."""
