"""napari's layer-list actions on blockplan's overlays (Xvfb, real events).

The context menu is opened with a right click on the layer's row and its action picked by
its text: a click on the item for the menu's own items, ``QAction.trigger`` for an item of
a sub-menu (opening one needs a hover Xvfb does not deliver reliably) — the same action
the click runs. The tests share what one set-up can show (the suite is near its time
budget): three viewers in all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt, QTimer
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QLineEdit, QMenu

from napari_blockplan._layers import COPY_NAME, ROLES, layer_for
from tests.plugin._gui import (
    Physician,
    activate,
    canvas_widget,
    click_layer_row,
    layer_row_centre,
    layer_rows,
    select_target,
    settle,
)
from tests.plugin.test_overlays_show_the_case import _drawn, _stored

pytestmark = pytest.mark.gui


def _find(menu: QMenu, text: str) -> tuple[QMenu, Any] | None:
    for action in menu.actions():
        if action.text() == text:
            return menu, action
        sub = action.menu()
        if sub is not None and (found := _find(sub, text)) is not None:
            return found
    return None


def _menu(doc: Physician, viewer: Any, name: str, text: str) -> None:
    """Right-click the row of layer ``name`` (the selection is kept when it holds the
    layer, as in napari) and pick ``text`` in the context menu."""
    view = viewer.window._qt_viewer.layers
    if name not in {layer.name for layer in viewer.layers.selection}:
        click_layer_row(doc, name)
    picked: dict[str, bool] = {}

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        found = None if menu is None else _find(menu, text)
        if menu is None or found is None:
            if menu is not None:
                menu.close()
            return
        owner, action = found
        picked["enabled"] = action.isEnabled()
        if owner is menu:
            centre = menu.actionGeometry(action).center()
            QTest.mouseClick(
                menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre
            )
        else:
            action.trigger()
            menu.close()

    QTimer.singleShot(200, pick)
    doc._count(f"right-click the {name!r} row, {text}")
    QTest.mouseClick(
        view.viewport(),
        Qt.MouseButton.RightButton,
        Qt.KeyboardModifier.NoModifier,
        layer_row_centre(viewer, name),
    )
    settle(10)
    assert picked.get("enabled"), f"{text!r} was not offered for {name!r}"


def _claimers(viewer: Any, role: str) -> list[Any]:
    return [lay for lay in viewer.layers if lay.metadata.get("blockplan", {}).get("role") == role]


UNUSED_TARGET = "t2"
"""The demo case's target no block injected (the others cannot be deleted)."""


def _delete_a_target(doc: Physician, planning: Any) -> None:
    """An edit of the case in the Planning panel: a target deleted."""
    select_target(doc, planning, UNUSED_TARGET)
    kind = type(planning.view_buttons["axial"])
    button = next(
        b for b in planning.findChildren(kind) if b.text().startswith("Delete selected target")
    )
    doc.click(button, "Delete selected target")
    settle(10)


def _on_canvas(doc: Physician, viewer: Any, *keys: tuple[Any, Any]) -> None:
    canvas = canvas_widget(viewer)
    activate(canvas)
    canvas.setFocus()
    for key, modifier in keys:
        doc.key(canvas, key, modifier)
    settle(10)


CTRL = Qt.KeyboardModifier.ControlModifier
SELECT_ALL_AND_DELETE = ((Qt.Key.Key_A, CTRL), (Qt.Key.Key_Delete, None))


def test_a_duplicated_overlay_is_the_physicians_copy(planning_demo: Any) -> None:
    """Duplicate Layer on the targets, paths and scar layers: each copy keeps the drawn
    look but is the physician's (named as a copy, claiming no role); emptying the copy
    leaves the case, and an edit of the case redraws the overlay, not the copy. Painting
    the scar's copy leaves the case's scar; painting the scar layer still edits it."""
    viewer, ws, planning, _case, doc = planning_demo
    roles = ("targets", "trajectories", "scar")
    overlays = {role: layer_for(viewer, role) for role in roles}
    looks = {role: _drawn(overlays[role]) for role in roles if role != "scar"}
    scar_shown = np.asarray(overlays["scar"].data).copy()
    for role in roles:
        _menu(doc, viewer, f"blockplan: {role}", "Duplicate Layer")
    names = layer_rows(viewer)
    copies = {role: viewer.layers[COPY_NAME.format(f"blockplan: {role}")] for role in roles}
    assert not [n for n in names if n.endswith(" copy")]  # napari's "blockplan: targets copy"
    for role in roles:
        assert f"blockplan: {role}" in names
        assert _claimers(viewer, role) == [overlays[role]]  # one layer per role: blockplan's
        assert layer_for(viewer, role) is overlays[role]
        assert "blockplan" not in copies[role].metadata
    assert _drawn(copies["targets"]) == looks["targets"]  # the drawn look is kept
    assert _drawn(copies["trajectories"]) == looks["trajectories"]
    assert np.array_equal(np.asarray(copies["scar"].data), scar_shown)

    # the copy is the physician's to edit: emptied, it stays empty and the case is kept
    case, stored = ws.case, _stored(ws)
    click_layer_row(doc, copies["targets"].name)
    _on_canvas(doc, viewer, *SELECT_ALL_AND_DELETE)
    assert len(copies["targets"].data) == 0
    assert ws.case == case and _stored(ws) == stored
    assert _drawn(layer_for(viewer, "targets")) == looks["targets"]

    # an edit of the case: the overlay shows it, the copy stays as the physician left it
    _delete_a_target(doc, planning)
    assert len(ws.case.targets) == len(case.targets) - 1
    assert len(layer_for(viewer, "targets").data) == len(ws.case.targets)
    assert len(copies["targets"].data) == 0
    assert len(copies["trajectories"].data) == len(looks["trajectories"][0])

    # a stroke on the scar's copy is not an edit of the case; one on the scar layer is
    case, voxels = ws.case, ws.case.scar_regions[0].voxel_count
    scar_voxels = np.argwhere(scar_shown > 0)
    inside = tuple(scar_voxels[len(scar_voxels) // 2])
    with copies["scar"].block_history():  # one brush stroke (napari's paint event)
        copies["scar"].paint(inside, 0)
    settle(5)
    assert not np.array_equal(np.asarray(copies["scar"].data), scar_shown)  # erased there
    assert ws.case == case
    planning.start_painting()
    scar = layer_for(viewer, "scar")
    assert scar is overlays["scar"] and viewer.layers.selection.active is scar
    with scar.block_history():
        scar.paint(inside, 0)
    settle(5)
    assert ws.case.scar_regions[0].voxel_count < voxels


def test_converting_an_overlay_leaves_a_copy_and_the_overlay_shows_the_case(
    planning_demo: Any,
) -> None:
    """Convert to Labels on the paths layer adds a labels copy; Convert to Image on the
    scar layer replaces it with an image in napari: the image is the physician's copy and
    the scar layer is drawn again from the case — a labels layer still painted into it
    (the image had become the scar layer: Paint failed, "'paint' is not a valid Mode")."""
    viewer, ws, planning, _case, doc = planning_demo
    paths = layer_for(viewer, "trajectories")
    paths_look = _drawn(paths)
    scar_shown = np.asarray(layer_for(viewer, "scar").data).copy()
    case, stored = ws.case, _stored(ws)
    _menu(doc, viewer, "blockplan: trajectories", "Convert to Labels")
    _menu(doc, viewer, "blockplan: scar", "Convert to Image")
    settle(10)
    names = layer_rows(viewer)
    paths_copy = viewer.layers[COPY_NAME.format("blockplan: trajectories")]
    scar_copy = viewer.layers[COPY_NAME.format("blockplan: scar")]
    assert type(paths_copy).__name__ == "Labels" and type(scar_copy).__name__ == "Image"
    assert "blockplan: trajectories" in names and "blockplan: scar" in names
    assert not [n for n in names if n.endswith("[1]")]  # napari's second "blockplan: …"
    for role in ROLES:
        assert len(_claimers(viewer, role)) == 1, role
    assert layer_for(viewer, "trajectories") is paths and _drawn(paths) == paths_look
    scar = layer_for(viewer, "scar")
    assert type(scar).__name__ == "Labels"
    assert np.array_equal(np.asarray(scar.data), scar_shown)  # drawn again from the case
    assert ws.case == case and _stored(ws) == stored
    voxels = ws.case.scar_regions[0].voxel_count
    planning.start_painting()
    assert scar.mode == "paint"
    with scar.block_history():
        scar.paint(tuple(np.argwhere(scar_shown > 0)[0]), 0)
    settle(5)
    assert ws.case.scar_regions[0].voxel_count < voxels


def test_renaming_reordering_hiding_linking_and_new_layers_leave_the_case(
    planning_demo: Any,
) -> None:
    """The other layer-list actions a physician may take on an overlay: renaming it by a
    double-click gets its name back (the name tells the case's layers from their own), an
    image's transforms applied to it are put back (it draws the case in patient space);
    Toggle visibility and Link Layers are theirs to use; a reordered overlay still shows
    the case; new points, shapes and labels layers edited with napari's keys and clicks
    leave the case. Reordering is done with ``viewer.layers.move`` (what the list's
    drag and drop calls): a drag in a ``QListView`` is not delivered reliably under Xvfb."""
    viewer, ws, planning, _case, doc = planning_demo
    targets = layer_for(viewer, "targets")
    case, stored = ws.case, _stored(ws)
    status: list[str] = []  # the status line says why (napari writes over it on a mouse move)
    viewer.events.status.connect(lambda event: status.append(str(event.value)))

    # rename by double-click: the editor opens on the row, a new name is typed
    view = viewer.window._qt_viewer.layers
    activate(view)
    doc.double_click(view.viewport(), "the targets row", layer_row_centre(viewer, targets.name))
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "blockplan: targets"
    editor.selectAll()
    doc.type(editor, "my targets")
    doc.key(editor, Qt.Key.Key_Return, what="Enter")
    settle(10)
    assert targets.name == "blockplan: targets" and "my targets" not in layer_rows(viewer)
    assert any("keeps its name" in said for said in status)

    # the CT's scale and transforms applied to it: put back, the markers stay on their targets
    ct = next(lay for lay in viewer.layers if lay.name.startswith("CT "))
    assert not np.allclose(ct.scale, targets.scale)
    scale, translate = np.array(targets.scale), np.array(targets.translate)
    world = targets.data_to_world(targets.data[0])
    _menu(doc, viewer, ct.name, "Copy all to clipboard")
    _menu(doc, viewer, targets.name, "Apply scale/transforms from Clipboard")
    settle(10)
    assert np.array_equal(targets.scale, scale) and np.array_equal(targets.translate, translate)
    assert np.allclose(targets.data_to_world(targets.data[0]), world)
    assert any("keeps its place" in said for said in status)

    # hide it and link it with the levels: the physician's choices, kept over a redraw
    _menu(doc, viewer, "blockplan: targets", "Toggle visibility")
    assert not targets.visible
    click_layer_row(doc, "blockplan: levels", Qt.KeyboardModifier.ControlModifier)
    _menu(doc, viewer, "blockplan: levels", "Link Layers")
    layer_for(viewer, "levels").opacity = 0.3  # linked: the targets follow
    assert targets.opacity == pytest.approx(0.3)
    # moved to the bottom of the list, the overlay still shows the case
    viewer.layers.move(viewer.layers.index(targets), 0)
    settle(5)
    _delete_a_target(doc, planning)
    assert layer_for(viewer, "targets") is targets
    assert len(targets.data) == len(ws.case.targets) == len(case.targets) - 1
    assert not targets.visible

    # napari's new layers, typed into and clicked on, are not the case's
    case, stored = ws.case, _stored(ws)
    buttons = viewer.window._qt_viewer.layerButtons
    canvas = canvas_widget(viewer)
    middle = QPoint(canvas.width() // 2, canvas.height() // 2)
    for button, adding in (
        (buttons.newPointsButton, Qt.Key.Key_2),
        (buttons.newShapesButton, Qt.Key.Key_R),
        (buttons.newLabelsButton, Qt.Key.Key_2),
    ):
        doc.click(button, "a new layer")
        new = viewer.layers.selection.active
        assert "blockplan" not in new.metadata
        _on_canvas(
            doc,
            viewer,
            (adding, None),
            *SELECT_ALL_AND_DELETE,
            (Qt.Key.Key_V, CTRL),
        )
        doc.click(canvas, "the canvas", middle)
        settle(5)
    painted = viewer.layers.selection.active  # the new labels layer, painted by the click
    assert int(np.count_nonzero(np.asarray(painted.data))) > 0
    assert ws.case == case and _stored(ws) == stored
    # Ctrl+Z there undoes the physician's stroke (napari's labels undo), not the case's edit
    _on_canvas(doc, viewer, (Qt.Key.Key_Z, CTRL))
    assert int(np.count_nonzero(np.asarray(painted.data))) == 0
    assert ws.case == case and _stored(ws) == stored
    assert [len(_claimers(viewer, role)) for role in ROLES] == [1] * len(ROLES)
