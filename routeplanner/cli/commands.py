"""Imports every command module; each one adds its commands to :data:`routeplanner.cli.app`."""

from routeplanner.cli import db  # noqa: F401 - registers `routeplanner db ...`
