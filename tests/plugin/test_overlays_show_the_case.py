"""blockplan's overlays are views of the case: napari's own layer editing (its keys, the
layer list's delete button) never empties or removes them (Xvfb, real events)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_blockplan._layers import layer_for
from tests.plugin._gui import (
    activate,
    canvas_widget,
    canvas_with_and_without,
    click_layer_row,
    settle,
)

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _layer_list(viewer: Any) -> Any:
    return viewer.window._qt_viewer.layers


def _drawn(layer: Any) -> tuple[Any, ...]:
    """What a points or shapes layer draws: its data and its per-item look."""
    data = [np.asarray(d, dtype=float).round(6).tolist() for d in np.asarray(layer.data)]
    if hasattr(layer, "symbol"):
        return (
            data,
            layer.features.to_dict("list"),
            np.asarray(layer.face_color).round(3).tolist(),
            [str(s) for s in layer.symbol],
            np.asarray(layer.size).tolist(),
            np.asarray(layer.shown).tolist(),
        )
    return (data, np.asarray(layer.edge_color).round(3).tolist(), list(layer.shape_type))


def _stored(ws: Any) -> Any:
    """The case as the store holds it (and its version: unchanged means nothing saved)."""
    return ws.store.load(ws.case.case_id)


@pytest.mark.parametrize("role", ["targets", "levels", "landmarks", "target names", "trajectories"])
def test_select_all_and_delete_on_an_overlay_leaves_it_and_the_case(
    planning_demo: Any, role: str
) -> None:
    viewer, ws, _planning, _case, doc = planning_demo
    layer = layer_for(viewer, role)
    assert layer is not None and len(layer.data)
    before, case, stored = _drawn(layer), ws.case, _stored(ws)
    click_layer_row(doc, layer.name)
    assert viewer.layers.selection.active is layer
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    settle()
    doc.key(canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.key(canvas, Qt.Key.Key_Delete, what="Delete")
    doc.key(canvas, Qt.Key.Key_Backspace, what="Backspace")
    settle(10)
    layer = layer_for(viewer, role)
    assert layer is not None and _drawn(layer) == before  # the canvas still shows the case
    assert ws.case == case and _stored(ws) == stored  # and the case is unchanged
    assert "Planning" in viewer.status  # where to edit it instead


def test_select_all_and_delete_leaves_the_target_markers_drawn(planning_demo: Any) -> None:
    """The physician's report: Ctrl+A then Delete on the targets layer left paths with no
    target dot at their end."""
    viewer, ws, _planning, _case, doc = planning_demo
    layer = layer_for(viewer, "targets")
    viewer.dims.set_point(0, float(layer.data[0][0]))
    settle(5)
    click_layer_row(doc, layer.name)
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    doc.key(canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.key(canvas, Qt.Key.Key_Delete, what="Delete")
    settle(10)
    shown, hidden = canvas_with_and_without(viewer, layer_for(viewer, "targets"))
    assert (np.abs(shown - hidden).max(axis=-1) > 30).sum() > 20  # the dots are drawn
    assert len(layer_for(viewer, "targets").data) == len(ws.case.targets)


def test_copy_and_paste_on_the_targets_layer_adds_no_marker(planning_demo: Any) -> None:
    viewer, ws, _planning, _case, doc = planning_demo
    layer = layer_for(viewer, "targets")
    before, case = _drawn(layer), ws.case
    click_layer_row(doc, layer.name)
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    doc.key(canvas, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier, "Ctrl+A")
    doc.key(canvas, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier, "Ctrl+C")
    doc.key(canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier, "Ctrl+V")
    settle(10)
    assert _drawn(layer_for(viewer, "targets")) == before
    assert ws.case == case


@pytest.mark.parametrize(
    "role",
    ["targets", "levels", "landmarks", "target names", "trajectories", "scar"],
)
def test_deleting_an_overlay_from_the_layer_list_brings_it_back(
    planning_demo: Any, role: str
) -> None:
    viewer, ws, _planning, _case, doc = planning_demo
    layer = layer_for(viewer, role)
    assert layer is not None
    name, case, stored = layer.name, ws.case, _stored(ws)
    before = None if role == "scar" else _drawn(layer)
    scar_before = np.asarray(layer.data).copy() if role == "scar" else None
    click_layer_row(doc, name)
    doc.click(viewer.window._qt_viewer.layerButtons.deleteButton, "the layer list's delete")
    settle(10)
    back = layer_for(viewer, role)
    assert back is not None and back.name == name  # drawn again from the case
    if role == "scar":
        assert np.array_equal(np.asarray(back.data), np.asarray(scar_before))
    else:
        assert _drawn(back) == before
    assert ws.case == case and _stored(ws) == stored
    assert "Planning" in viewer.status
    viewer.dims.set_point(0, float(viewer.dims.point[0]) + 3.0)  # a later view change
    settle(5)
    assert layer_for(viewer, role) is not None


def test_the_delete_key_in_the_layer_list_brings_the_targets_back(planning_demo: Any) -> None:
    viewer, ws, _planning, _case, doc = planning_demo
    layer = layer_for(viewer, "targets")
    before, case = _drawn(layer), ws.case
    click_layer_row(doc, layer.name)
    view = _layer_list(viewer)
    activate(view)
    view.setFocus()
    doc.key(view, Qt.Key.Key_Delete, what="Delete in the layer list")
    settle(10)
    back = layer_for(viewer, "targets")
    assert back is not None and _drawn(back) == before
    assert ws.case == case


def test_the_scar_layer_drawn_again_is_still_painted_into_the_case(planning_demo: Any) -> None:
    """The scar layer is the one overlay the physician edits on the canvas (paint mode):
    after the layer list removed it, the layer drawn again is painted as before."""
    viewer, ws, planning, _case, doc = planning_demo
    click_layer_row(doc, "blockplan: scar")
    doc.click(viewer.window._qt_viewer.layerButtons.deleteButton, "the layer list's delete")
    settle(10)
    old = ws.case.scar_regions[0].voxel_count
    planning.start_painting()
    scar = layer_for(viewer, "scar")
    assert scar is not None and scar.mode == "paint"
    scar_voxels = np.argwhere(np.asarray(scar.data) > 0)
    with scar.block_history():  # one brush stroke: napari's paint event once painted
        scar.paint(tuple(scar_voxels[len(scar_voxels) // 2]), 0)
    settle(5)
    assert ws.case.scar_regions[0].voxel_count < old
    assert _stored(ws)[0].scar_regions[0].voxel_count < old


@pytest.mark.parametrize("role", ["targets", "trajectories"])
def test_an_overlay_napari_changes_anyway_is_drawn_again(planning_demo: Any, role: str) -> None:
    """What no key reaches (the console, a plugin, napari's layer controls): the change
    is undone at once by drawing the overlay from the case."""
    viewer, ws, _planning, _case, _doc = planning_demo
    layer = layer_for(viewer, role)
    before, case = _drawn(layer), ws.case
    layer.selected_data = set(range(len(layer.data)))
    layer.remove_selected()
    settle(5)
    assert _drawn(layer_for(viewer, role)) == before
    assert ws.case == case
    assert "Planning" in viewer.status


def test_the_paths_layer_stays_read_only_after_it_is_redrawn(planning_demo: Any) -> None:
    """napari makes a shapes layer editable again whenever its data is set (each slice
    redraws the paths), which let its mode keys (select, direct) move a path's ends."""
    viewer, _ws, _planning, _case, _doc = planning_demo
    layer = layer_for(viewer, "trajectories")
    for step in (3.0, -6.0):
        viewer.dims.set_point(0, float(viewer.dims.point[0]) + step)
        settle(3)
        assert not layer.editable
        layer.mode = "select"
        assert layer.mode == "pan_zoom"


def test_napari_undo_on_the_scar_layer_leaves_the_canvas_and_the_case_alike(
    planning_demo: Any,
) -> None:
    """napari's Ctrl+Z on a focused canvas took a stroke off the scar layer without a
    paint event: the case kept the scar the canvas no longer showed. Ctrl+Z there undoes
    the case's last edit — the stroke — and the layer shows the case again; Ctrl+Shift+Z
    redoes it."""
    viewer, ws, planning, _case, doc = planning_demo
    planning.start_painting()
    scar = layer_for(viewer, "scar")
    before_stroke = np.asarray(scar.data).copy()
    voxels = np.argwhere(np.asarray(scar.data) > 0)
    with scar.block_history():  # one brush stroke
        scar.paint(tuple(voxels[len(voxels) // 2]), 0)
    settle(5)
    painted, case = np.asarray(layer_for(viewer, "scar").data).copy(), ws.case
    assert not np.array_equal(painted, before_stroke) and ws.last_action == "paint scar"
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    doc.key(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier, "Ctrl+Z")
    settle(5)
    settle(5)
    assert ws.case != case  # the stroke is undone in the case ...
    assert np.array_equal(np.asarray(layer_for(viewer, "scar").data) > 0, before_stroke > 0)
    assert "undone: paint scar" in viewer.status  # ... and on the canvas
    doc.key(
        canvas,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        "Ctrl+Shift+Z",
    )
    settle(5)
    assert ws.case == case
    assert np.array_equal(np.asarray(layer_for(viewer, "scar").data) > 0, painted > 0)


def test_closing_napari_draws_nothing_back_and_leaves_the_stored_case(planning_demo: Any) -> None:
    """napari's close removes every layer one by one. The series going made every panel
    measure the paths again and draw the case's seven overlays back while napari was
    removing them (a second or more of a closing window, and layers added to a list being
    emptied). Now nothing is added while napari closes, and the stored case is untouched."""
    viewer, ws, _planning, _case, _doc = planning_demo
    case_id, stored = ws.case.case_id, _stored(ws)
    added: list[str] = []
    viewer.layers.events.inserted.connect(lambda event: added.append(event.value.name))
    viewer.close()
    settle(10)
    assert added == []
    assert len(viewer.layers) == 0
    assert ws.store.load(case_id) == stored
