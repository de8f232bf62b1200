"""Imports every command module; each one adds its commands to :data:`routeplanner.cli.app`."""

from routeplanner.cli import (  # noqa: F401
    assignment,
    calendar,
    check_data,
    data,
    db,
    learning,
    performance,
    plan,
    regions,
    repair,
    roads,
    route,
    serve,
    territories,
    users,
)
