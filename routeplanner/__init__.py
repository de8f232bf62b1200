"""routeplanner: field-sales territories, visit schedules and daily routes on real OSM roads."""

__version__ = "0.1.0"

__all__ = ["__version__"]
