"""The physician's own napari layers never change the case and are never taken for it
(Xvfb, real Qt events: keys on the canvas, a rename in the layer list, its context menu).

Ctrl+Z on the canvas with a points or shapes layer of theirs selected means that layer
(napari gives those no undo): the case is left as it is and the status line says how to
undo it. A layer of theirs cannot hold a ``"blockplan: …"`` name. A copy of a series'
image or of a scar proposal (Duplicate Layer, Convert) is theirs: not a second CT of the
case, not the proposal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QLineEdit

from napari_blockplan._layers import COPY_NAME, OWN_NAME, ROLES, layer_for
from tests.plugin._gui import (
    Physician,
    activate,
    canvas_widget,
    click_layer_row,
    layer_row_centre,
    layer_rows,
    settle,
)
from tests.plugin.test_overlay_copies import (
    CTRL,
    _claimers,
    _delete_a_target,
    _menu,
    _on_canvas,
)
from tests.plugin.test_overlays_show_the_case import _stored
from tests.plugin.test_scar_proposal import SAMPLE, TRUTH, _deepest_point

pytestmark = pytest.mark.gui


CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _said(viewer: Any) -> list[str]:
    """What the status line says from now on (napari writes over it on a mouse move)."""
    status: list[str] = []
    viewer.events.status.connect(lambda event: status.append(str(event.value)))
    return status


def test_ctrl_z_with_a_layer_of_the_physicians_own_selected_leaves_the_case(
    planning_demo: Any,
) -> None:
    """With a new points or shapes layer of theirs selected, Ctrl+Z and Ctrl+Shift+Z on
    the canvas leave the case (it undid the case's last edit: the physician meant their
    layer) and say how to undo the case, without the layer's name; with a blockplan
    layer or a series' image selected they undo and redo the case's last edit."""
    viewer, ws, planning, _case, doc = planning_demo
    status = _said(viewer)
    _delete_a_target(doc, planning)  # the case's last edit
    deleted, stored = ws.case, _stored(ws)
    buttons = viewer.window._qt_viewer.layerButtons
    for button in (buttons.newPointsButton, buttons.newShapesButton):
        doc.click(button, "a new layer")
        mine = viewer.layers.selection.active
        mine.name = "my marks"
        status.clear()
        _on_canvas(doc, viewer, (Qt.Key.Key_Z, CTRL))
        assert ws.case == deleted and _stored(ws) == stored
        said = [s for s in status if "was not undone" in s]
        assert said and "select a 'blockplan: ' layer" in said[-1]
        assert "Undo in a blockplan panel" in said[-1] and "my marks" not in said[-1]
        assert "was not undone" in planning.message.text()
        mine.name = "my marks (done)"

    click_layer_row(doc, "blockplan: targets")  # a layer of the case: the case's undo
    _on_canvas(doc, viewer, (Qt.Key.Key_Z, CTRL))
    undone = ws.case
    assert len(undone.targets) == len(deleted.targets) + 1
    assert planning.message.text() == "undone: delete target"

    click_layer_row(doc, "my marks (done)")  # theirs again: no redo of the case
    status.clear()
    _on_canvas(doc, viewer, (Qt.Key.Key_Z, CTRL_SHIFT))
    assert ws.case == undone
    assert any("was not redone" in s and "Redo in a blockplan panel" in s for s in status)

    ct = next(lay for lay in viewer.layers if lay.name.startswith("CT "))
    click_layer_row(doc, ct.name)  # a series' image is the case's
    _on_canvas(doc, viewer, (Qt.Key.Key_Z, CTRL_SHIFT))
    assert len(ws.case.targets) == len(deleted.targets)
    assert planning.message.text() == "redone: delete target"


def test_a_layer_of_the_physicians_named_blockplan_is_renamed_as_theirs(
    planning_demo: Any, qtbot: Any
) -> None:
    """A points layer of theirs added as ``"blockplan: targets"`` (napari named it
    ``"blockplan: targets [1]"``, beside the case's) and one renamed ``"blockplan:
    levels"`` by a double-click in the layer list get the name without the prefix and
    "(yours, not part of the case)"; the status line says why; the case's overlays keep
    their names and roles, and the case is unchanged."""
    viewer, ws, _planning, _case, doc = planning_demo
    status = _said(viewer)
    case, stored = ws.case, _stored(ws)
    added = viewer.add_points(np.zeros((1, 3)), name="blockplan: targets")
    mine = OWN_NAME.format("targets")
    qtbot.waitUntil(lambda: added.name == mine, timeout=5000)
    assert any("names beginning 'blockplan: ' are kept" in s for s in status)

    other = viewer.add_shapes(name="my outline")
    settle(5)
    view = viewer.window._qt_viewer.layers
    activate(view)
    doc.double_click(view.viewport(), "my outline's row", layer_row_centre(viewer, other.name))
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "my outline"
    editor.selectAll()
    doc.type(editor, "blockplan: levels")
    doc.key(editor, Qt.Key.Key_Return, what="Enter")
    qtbot.waitUntil(lambda: other.name == OWN_NAME.format("levels"), timeout=5000)

    names = layer_rows(viewer)
    assert not [n for n in names if n.endswith("]")]  # no "blockplan: targets [1]"
    for role in ROLES:
        (overlay,) = _claimers(viewer, role)
        assert overlay.name == f"blockplan: {role}" and layer_for(viewer, role) is overlay
    assert [n for n in names if n.startswith("blockplan: ")] == [
        f"blockplan: {lay.metadata['blockplan']['role']}"
        for lay in viewer.layers[::-1]
        if "blockplan" in lay.metadata and lay.metadata["blockplan"]["role"] != "image"
    ]
    assert ws.case == case and _stored(ws) == stored


def _grow_a_scar_proposal(doc: Physician, viewer: Any, planning: Any, qtbot: Any) -> Any:
    """Scar tab, axial view, Shift-G and a click inside the scar: the proposal layer."""
    with np.load(SAMPLE / TRUTH["scar"]["mask_file"]) as npz:
        seed = _deepest_point(npz["mask"].astype(bool), npz["affine"])
    bar = planning.tabs.tabBar()
    doc.click(bar, "the Scar tab", bar.tabRect(1).center())
    doc.click(planning.view_buttons["axial"], "Axial")
    viewer.dims.set_point(0, seed[2])
    doc.key(canvas_widget(viewer), Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier, "Shift-G")
    doc.click_patient(seed, "inside the scar")
    qtbot.waitUntil(planning.proposal.accept_button.isEnabled, timeout=120000)
    return layer_for(viewer, "scar proposal")


def test_copies_of_a_series_and_of_a_scar_proposal_are_the_physicians(
    planning_demo: Any, qtbot: Any
) -> None:
    """Duplicate Layer and Convert to Labels on the CT: each copy is theirs (named as a
    copy, no series' tags: it was a second CT of the case's volumes, sharing the CT's
    tag dict), and the CT that Convert took out of the list is put back. Convert to Image
    on the scar proposal: the image is theirs, the proposal layer is put back and is
    still the proposal (the image had become it)."""
    viewer, ws, planning, _case, doc = planning_demo
    ct = next(lay for lay in viewer.layers if lay.name.startswith("CT "))
    volumes, case = ws.volumes(), ws.case
    _menu(doc, viewer, ct.name, "Duplicate Layer")
    assert ws.volumes() == volumes  # not the CT twice
    _menu(doc, viewer, ct.name, "Convert to Labels")
    qtbot.waitUntil(lambda: ct in viewer.layers, timeout=5000)
    copies = [lay for lay in viewer.layers if lay.name.startswith(COPY_NAME.format(ct.name))]
    assert sorted(type(lay).__name__ for lay in copies) == ["Image", "Labels"]
    for copy in copies:
        assert not [key for key in copy.metadata if key.startswith("blockplan")]
    assert ws.volumes() == volumes and ws.volumes()[0] is volumes[0]
    assert ws.ct() is ct.metadata["blockplan_volume"] and ws.case == case

    proposal = _grow_a_scar_proposal(doc, viewer, planning, qtbot)
    _menu(doc, viewer, proposal.name, "Convert to Image")
    qtbot.waitUntil(lambda: proposal in viewer.layers, timeout=5000)
    image = viewer.layers[COPY_NAME.format("blockplan: scar proposal")]
    assert type(image).__name__ == "Image" and "blockplan" not in image.metadata
    assert layer_for(viewer, "scar proposal") is proposal
    assert type(proposal).__name__ == "Labels" and planning.proposal.accept_button.isEnabled()
    assert ws.case == case
