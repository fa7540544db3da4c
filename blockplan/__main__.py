"""``python -m blockplan`` runs the command line."""

from blockplan.cli import main

if __name__ == "__main__":
    main()
