"""``python -m hub`` is the ``custhub`` command."""

from hub.cli import main

main()
