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


def test_ctrl_z_on_the_canvas_undoes_the_click_just_made(make_napari_viewer, tmp_path) -> None:
    """A physician's trial: after Shift-T and a click on the canvas, the focus stays on the
    canvas, where Ctrl+Z did nothing (only a panel heard it). It undoes the target now, and
    Ctrl+Shift+Z redoes it, saying so in the Planning panel's message line."""
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from napari_blockplan._workspace import workspace_for
    from tests.plugin._gui import Physician, canvas_widget, demo_in_planning, settle

    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    doc = Physician(viewer)
    doc.click(planning.view_buttons["axial"], "Axial")
    ws = workspace_for(viewer)
    canvas = canvas_widget(viewer)
    near = [case.targets[0].position.lps[0] + 6.0, *case.targets[0].position.lps[1:]]
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient(near, "a new target")
    assert len(ws.case.targets) == len(case.targets) + 1
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert len(ws.case.targets) == len(case.targets)
    assert planning.message.text().startswith("undone: add target")
    QTest.keyClick(
        canvas,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    settle()
    assert len(ws.case.targets) == len(case.targets) + 1
    assert planning.message.text().startswith("redone: add target")
