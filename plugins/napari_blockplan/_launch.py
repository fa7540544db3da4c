"""Start napari with the blockplan widgets docked and, optionally, a study loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DOCK_WIDGETS", "launch_viewer"]

DOCK_WIDGETS: tuple[str, ...] = ("Study browser",)
"""Display names (from napari.yaml) of the widgets docked at start, in order."""


def launch_viewer(path: Path | str | None = None, *, run: bool = True) -> Any:
    """Open a napari viewer with blockplan's dock widgets; open ``path`` if given."""
    import napari

    viewer = napari.Viewer(title="blockplan")
    for name in DOCK_WIDGETS:
        viewer.window.add_plugin_dock_widget("blockplan", name)
    if path is not None:
        viewer.open(str(path), plugin="blockplan")
    if run:
        napari.run()
    return viewer
