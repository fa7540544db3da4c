"""Radiological views of the canvas: axial, sagittal and coronal planes, upright.

napari world axes are LPS ``(z, y, x)`` (see `_convert`). A plane is shown by choosing
which world axis is sliced (``viewer.dims.order``) and which way the screen axes point
(``viewer.camera.orientation2d``) — the data are never flipped:

* **axial** — rows posterior downwards (anterior at the top), columns towards the
  patient's left (the patient's right on the viewer's left, radiological convention);
* **sagittal** — rows superior upwards, columns posterior to the right (anterior on the
  viewer's left);
* **coronal** — rows superior upwards, columns towards the patient's left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from napari_blockplan._convert import lps_to_world

if TYPE_CHECKING:
    import napari

__all__ = ["PLANES", "point_at", "show_plane"]

PLANES: dict[str, tuple[tuple[int, int, int], tuple[str, str]]] = {
    "axial": ((0, 1, 2), ("down", "right")),
    "sagittal": ((2, 0, 1), ("up", "right")),
    "coronal": ((1, 0, 2), ("up", "right")),
}
"""Plane → (dims order: sliced axis first, then rows, columns; camera orientation2d)."""


def show_plane(
    viewer: napari.viewer.Viewer, plane: str, centre_lps: Sequence[float] | None = None
) -> None:
    """Show ``plane`` upright, through and centred on ``centre_lps`` (LPS mm) when given,
    else through the current point (the last place clicked in any plane)."""
    order, orientation = PLANES[plane]
    point = np.asarray(viewer.dims.point, dtype=float)
    viewer.dims.ndisplay = 2
    viewer.dims.order = order
    viewer.camera.orientation2d = orientation
    viewer.reset_view()
    world = point if centre_lps is None else lps_to_world(np.asarray(centre_lps, dtype=float))
    viewer.dims.set_point(order[0], float(world[order[0]]))
    if centre_lps is not None:
        viewer.camera.center = tuple(float(world[a]) for a in order[1:])


def point_at(viewer: napari.viewer.Viewer, world: Sequence[float]) -> None:
    """Move the current point (where the other planes cut) to a clicked world position.

    The plane shown does not move; the next axial, sagittal or coronal view passes through
    the clicked place (linked planes).
    """
    shown = list(viewer.dims.displayed)
    viewer.dims.set_point(shown, tuple(float(world[a]) for a in shown))
