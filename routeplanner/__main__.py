"""Allow ``python -m routeplanner`` as an alias of the ``routeplanner`` command."""

from routeplanner.cli import main

main()
