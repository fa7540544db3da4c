"""Radiological views of the canvas: axial, sagittal and coronal planes, upright.

napari world axes are LPS ``(z, y, x)`` (see `_convert`). A plane is shown by choosing
which world axis is sliced (``viewer.dims.order``) and which way the screen axes point
(``viewer.scene.camera.orientation2d``) — the data are never flipped:

* **axial** — rows posterior downwards (anterior at the top), columns towards the
  patient's left (the patient's right on the viewer's left, radiological convention);
* **sagittal** — rows superior upwards, columns posterior to the right (anterior on the
  viewer's left);
* **coronal** — rows superior upwards, columns towards the patient's left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from napari_blockplan._convert import lps_to_world

if TYPE_CHECKING:
    import napari

__all__ = [
    "LETTER_OVERLAYS",
    "PLANES",
    "SLICE_KEYS",
    "centre_on",
    "point_at",
    "screen_letters",
    "show_orientation_letters",
    "show_plane",
    "step_slice",
]

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
    viewer.scene.camera.orientation2d = orientation
    viewer.reset_view()
    world = point if centre_lps is None else lps_to_world(np.asarray(centre_lps, dtype=float))
    viewer.dims.set_point(order[0], float(world[order[0]]))
    if centre_lps is not None:
        viewer.scene.camera.center = tuple(float(world[a]) for a in order[1:])


SLICE_KEYS: dict[str, int] = {"Up": 1, "Down": -1, "PageUp": 10, "PageDown": -10}
"""Canvas keys that step the plane shown, in slices (napari's own: Left and Right, one)."""


def step_slice(viewer: napari.viewer.Viewer, slices: int) -> None:
    """Move the plane shown by ``slices`` slices — positive: towards the head in the axial
    view, the patient's left in the sagittal, the back in the coronal — stopping at the
    first and the last (the 3-D view does not move)."""
    if viewer.dims.ndisplay != 2:
        return
    axis = viewer.dims.order[0]
    last = int(viewer.dims.nsteps[axis]) - 1
    now = int(viewer.dims.current_step[axis])
    viewer.dims.set_current_step(axis, int(np.clip(now + slices, 0, max(last, 0))))


def centre_on(viewer: napari.viewer.Viewer, centre_lps: Sequence[float]) -> None:
    """Put ``centre_lps`` (LPS mm) in the middle of the plane shown, and make every plane
    pass through it (the zoom and the plane shown are kept)."""
    world = lps_to_world(np.asarray(centre_lps, dtype=float))
    viewer.dims.set_point(range(3), tuple(float(w) for w in world))
    viewer.scene.camera.center = tuple(float(world[a]) for a in viewer.dims.displayed)


def point_at(viewer: napari.viewer.Viewer, world: Sequence[float]) -> None:
    """Move the current point (where the other planes cut) to a clicked world position.

    The plane shown does not move; the next axial, sagittal or coronal view passes through
    the clicked place (linked planes).
    """
    shown = list(viewer.dims.displayed)
    viewer.dims.set_point(shown, tuple(float(world[a]) for a in shown))


# --- orientation letters on the canvas ---------------------------------------------------
_WORLD_AXIS_LPS = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
"""World axis (z, y, x) → its LPS unit vector."""

LETTER_OVERLAYS: dict[str, str] = {
    "top": "blockplan_orientation_top",
    "bottom": "blockplan_orientation_bottom",
    "left": "blockplan_orientation_left",
    "right": "blockplan_orientation_right",
}
"""Canvas edge → key of its letter in ``viewer.canvas.overlays``."""

_POSITIONS = {
    "top": "top_center",
    "bottom": "bottom_center",
    "left": "middle_left",
    "right": "middle_right",
}


def screen_letters(
    order: Sequence[int], orientation2d: Sequence[str], ndisplay: int = 2
) -> dict[str, str]:
    """Patient-direction letters at the canvas edges for a napari 2-D view.

    ``order`` is ``viewer.dims.order`` (the last two axes are shown: rows, columns),
    ``orientation2d`` the camera's (``"up"``/``"down"``, ``"left"``/``"right"``: where
    increasing row and column coordinates point). Each edge's letter is the report's rule
    (`blockplan.report.keyimages.orientation_letter`) applied to the LPS direction that
    points to that edge. Empty in 3-D.
    """
    from blockplan.report.keyimages import orientation_letter

    if ndisplay != 2:
        return {}
    rows, cols = order[-2], order[-1]
    down = _WORLD_AXIS_LPS[rows] * (1.0 if orientation2d[0] == "down" else -1.0)
    right = _WORLD_AXIS_LPS[cols] * (1.0 if orientation2d[1] == "right" else -1.0)
    return {
        "top": orientation_letter(-down),
        "bottom": orientation_letter(down),
        "left": orientation_letter(-right),
        "right": orientation_letter(right),
    }


_LETTER_STEP_MS = 50
"""After the first layer, the letters appear one edge per step this long apart: drawing a
letter for the first time (its text visual's shader, its glyph) costs ~0.1-0.15 s of the
GUI thread in software GL, so each is a short step of its own — not one stall of ~0.6 s,
nor part of the first image's (issue 14 point 2: no GUI stall over 200 ms)."""


def show_orientation_letters(viewer: napari.viewer.Viewer) -> Callable[[], None]:
    """Put R/L/A/P/S/I letters at the canvas edges and keep them true as the view turns.

    Uses napari's public canvas overlays (`viewer.canvas.overlays`); follows the dims order,
    the camera orientation and 2-D/3-D; none while the viewer holds no layer (nothing to
    orient). Returns the function that removes them again (called when the widget that
    installed them closes).
    """
    from napari.components.overlays import TextOverlay
    from qtpy.QtCore import QTimer

    for edge, key in LETTER_OVERLAYS.items():
        if key not in viewer.canvas.overlays:
            viewer.canvas.overlays[key] = TextOverlay(
                position=_POSITIONS[edge], font_size=14, color="yellow", visible=False
            )
    from napari_blockplan._layers import is_spare

    def any_layer() -> bool:  # a spare (hidden, empty, made ahead) is nothing to orient
        return any(not is_spare(layer) for layer in viewer.layers)

    # how many edges may show: all of them, or none until the first layer is in
    shown = [len(LETTER_OVERLAYS) if any_layer() else 0]

    def update(*_: object) -> None:
        if not all(key in viewer.canvas.overlays for key in LETTER_OVERLAYS.values()):
            return  # removed meanwhile
        if not any_layer():
            shown[0] = 0
        letters = screen_letters(
            viewer.dims.order, viewer.scene.camera.orientation2d, viewer.dims.ndisplay
        )
        for n, (edge, key) in enumerate(LETTER_OVERLAYS.items()):
            overlay = viewer.canvas.overlays[key]
            overlay.text = letters.get(edge, "")
            overlay.visible = edge in letters and n < shown[0]

    revealing = [False]

    def reveal() -> None:
        shown[0] += 1
        update()  # back to 0 when the layers are gone meanwhile
        revealing[0] = 0 < shown[0] < len(LETTER_OVERLAYS)
        if revealing[0]:
            QTimer.singleShot(_LETTER_STEP_MS, reveal)

    def first_layer(*_: object) -> None:
        if not shown[0] and not revealing[0] and any_layer():
            revealing[0] = True
            QTimer.singleShot(_LETTER_STEP_MS, reveal)

    events = (
        viewer.dims.events.order,
        viewer.dims.events.ndisplay,
        viewer.scene.camera.events.orientation,
        viewer.layers.events.removed,
    )
    for event in events:
        event.connect(update)
    # a spare adopted by the first image is no insertion: its extent changes the ranges
    firsts = (viewer.layers.events.inserted, viewer.dims.events.range)
    for event in firsts:
        event.connect(first_layer)
    update()

    def remove() -> None:
        for event in events:
            event.disconnect(update)
        for event in firsts:
            event.disconnect(first_layer)
        for key in LETTER_OVERLAYS.values():
            if key in viewer.canvas.overlays:
                del viewer.canvas.overlays[key]

    return remove
