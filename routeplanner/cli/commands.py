"""Imports every command module; each one adds its commands to :data:`routeplanner.cli.app`."""

from routeplanner.cli import check_data, data, db, plan, roads, route, serve, territories  # noqa: F401
