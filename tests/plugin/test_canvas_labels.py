"""A target's name on the canvas stands beside its marker, never over it (Xvfb)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from napari_blockplan._convert import lps_to_world
from napari_blockplan._layers import layer_for
from tests.plugin._gui import Physician, pixel_of, settle
from tests.plugin.test_needle_on_slice import demo_in_planning

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
MARKER_MM = 5.0  # the targets layer's point size


def _text_pixels(viewer: Any, layer: Any) -> np.ndarray:
    """Canvas pixels that change when the layer's text is hidden: the text, (row, col)."""
    with_text = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    layer.text.visible = False
    settle()
    without = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    layer.text.visible = True
    settle()
    return np.argwhere(np.abs(with_text - without).sum(axis=2) > 60)


@pytest.mark.parametrize("plane", ["axial", "sagittal", "coronal"])
def test_a_targets_name_is_beside_its_marker(make_napari_viewer, tmp_path, plane: str) -> None:
    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    target = case.targets[0]
    Physician(viewer).click(planning.view_buttons[plane], plane.capitalize())
    world = lps_to_world(np.asarray(target.position.lps, dtype=float))
    viewer.dims.point = tuple(world)
    viewer.scene.camera.center = tuple(world[list(viewer.dims.order)])  # in the displayed order
    viewer.scene.camera.zoom = 6.0
    settle(10)
    layer = layer_for(viewer, "targets")
    for other in layer_for(viewer, "levels"), layer_for(viewer, "trajectories"):
        other.visible = False
    centre = pixel_of(viewer, target.position.lps)
    radius_px = MARKER_MM / 2 * viewer.scene.camera.zoom
    text = _text_pixels(viewer, layer)
    near = text[np.hypot(text[:, 0] - centre.y(), text[:, 1] - centre.x()) < 12 * radius_px]
    assert len(near) > 50, "the target's name is drawn near its marker"
    assert near[:, 1].min() >= centre.x() + radius_px - 1  # starts right of the marker's edge
