"""``python -m blockplan`` runs the command line."""

from blockplan.cli import main

main()
