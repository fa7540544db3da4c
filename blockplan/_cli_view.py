"""``blockplan view``: open napari with the blockplan widgets docked."""

from __future__ import annotations

import os
from pathlib import Path

import click

from blockplan.errors import BlockplanError


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def view(path: Path | None) -> None:
    """Open napari with the blockplan dock widgets and, if given, the study at PATH."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise BlockplanError(
            "no display found (DISPLAY is not set); 'blockplan view' needs a screen — "
            "use 'blockplan demo' for the headless report"
        )
    try:
        from napari_blockplan._launch import launch_viewer
    except ImportError as err:
        raise BlockplanError(
            "napari is not installed; install it with: pip install 'blockplan[napari]'"
        ) from err
    launch_viewer(path, run=True)
