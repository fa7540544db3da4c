"""Up/Down and Page Up/Down on the canvas step the plane shown, as in a PACS viewer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _stack() -> np.ndarray:
    """40 axial slices, each one grey level brighter than the one below it."""
    values = np.arange(40, dtype=np.float32)[:, None, None] * 5.0
    return np.broadcast_to(values, (40, 32, 32)).copy()


def test_up_down_and_page_keys_step_the_plane_shown(make_napari_viewer: Any) -> None:
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from napari_blockplan._views import show_plane
    from napari_blockplan._workspace import workspace_for
    from tests.plugin._gui import canvas_widget, settle

    viewer = make_napari_viewer(show=True)
    workspace_for(viewer)  # as when any blockplan panel is docked
    layer = viewer.add_image(_stack(), contrast_limits=(0, 200), scale=(2.5, 1.0, 1.0))
    show_plane(viewer, "axial")
    viewer.dims.set_current_step(0, 20)
    settle()
    canvas = canvas_widget(viewer)
    canvas.setFocus()

    def shown() -> tuple[int, float]:
        settle()
        shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(float)
        return int(viewer.dims.current_step[0]), float(np.median(shot))

    at_20 = shown()
    QTest.keyClick(canvas, Qt.Key.Key_Up)
    at_21 = shown()
    assert at_21[0] == 21  # one slice towards the head
    assert at_21[1] > at_20[1]  # the brighter slice above is what the canvas shows
    QTest.keyClick(canvas, Qt.Key.Key_Down)
    QTest.keyClick(canvas, Qt.Key.Key_Down)
    assert shown()[0] == 19
    QTest.keyClick(canvas, Qt.Key.Key_PageUp)
    assert shown()[0] == 29
    QTest.keyClick(canvas, Qt.Key.Key_PageDown)
    QTest.keyClick(canvas, Qt.Key.Key_PageDown)
    QTest.keyClick(canvas, Qt.Key.Key_PageDown)
    assert shown()[0] == 0  # stops at the first slice
    at_0 = shown()
    assert at_0[1] < at_20[1]
    # the sagittal view steps along the patient's left-right axis
    show_plane(viewer, "sagittal")
    before = int(viewer.dims.current_step[2])
    QTest.keyClick(canvas, Qt.Key.Key_Up)
    settle()
    assert int(viewer.dims.current_step[2]) == min(before + 1, 31)
    assert int(viewer.dims.current_step[0]) == 0  # the axial position is left alone
    assert layer.visible
