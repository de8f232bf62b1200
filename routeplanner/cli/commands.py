"""Imports every command module; each one adds its commands to :data:`routeplanner.cli.app`."""

from routeplanner.cli import territories  # noqa: F401
