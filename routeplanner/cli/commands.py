"""Imports every command module; each one adds its commands to :data:`routeplanner.cli.app`."""

from routeplanner.cli import calendar, check_data, data, db, roads, route, serve, territories  # noqa: F401
