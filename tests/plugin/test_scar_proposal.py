"""Scar region growing with a preview (Xvfb, real Qt events, the sample study).

A click in seed mode grows the core's proposal in a worker; it shows as its own layer
and is not in the case until Accept (one undoable edit). Reject and Cancel leave the
case as it was, and the panel stays usable. The volumes per level shown are the core's,
close to the sample's ground truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtTest import QTest

from blockplan.case.store import CaseStore
from blockplan.planning.wording import scar_volume_text
from napari_blockplan._convert import lps_to_world
from napari_blockplan._layers import layer_for, scar_layer_data
from napari_blockplan._workspace import workspace_for
from tests.planning.test_sample_study import _deepest_point
from tests.plugin._gui import Physician, canvas_widget, pixel_of, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text())


@pytest.fixture
def scar(make_napari_viewer: Any, tmp_path: Path) -> Any:
    """The sample study, levels marked, the Scar tab open, seed mode, axial view at the
    scar's deepest point."""
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    centres = {**TRUTH["vertebrae"], **TRUTH["discs"]}
    for name in ("L4", "L4-L5", "L5", "L5-S1", "S1"):
        widget.next_level.setCurrentText(name)
        widget.add_level_at(lps_to_world(centres[name]["center_lps"]))
    with np.load(SAMPLE / TRUTH["scar"]["mask_file"]) as npz:
        seed = _deepest_point(npz["mask"].astype(bool), npz["affine"])
    doc = Physician(viewer)
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Scar tab", bar.tabRect(1).center())
    assert widget.tabs.tabText(widget.tabs.currentIndex()) == "Scar"
    doc.click(widget.view_buttons["axial"], "Axial")
    viewer.dims.set_point(0, seed[2])
    doc.key(canvas_widget(viewer), Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier, "Shift-G")
    assert widget.mode == "seed"
    return viewer, widget, ws, doc, seed


def _proposal_shown(qtbot: Any, widget: Any) -> None:
    qtbot.waitUntil(widget.proposal.accept_button.isEnabled, timeout=120000)


def test_accepting_a_proposal_is_one_undoable_edit_with_volumes_per_level(
    scar: Any, qtbot: Any
) -> None:
    viewer, widget, ws, doc, seed = scar
    before = ws.case
    doc.click_patient(seed, "inside the scar")
    assert widget.proposal.growing and widget.proposal.cancel_button.isVisible()
    _proposal_shown(qtbot, widget)

    # the preview: its own layer over the scar, not in the case
    layer = layer_for(viewer, "scar proposal")
    assert layer is not None and layer.name == "blockplan: scar proposal"
    assert ws.case == before and not ws.case.scar_regions
    assert layer_for(viewer, "scar") is None
    assert layer.get_value(lps_to_world(seed), world=True) == 1  # the click is inside it
    assert "mL in total" in widget.proposal.label.text()
    assert not widget.proposal.cancel_button.isVisible()

    doc.click(widget.proposal.accept_button, "Accept proposal")
    (region,) = ws.case.scar_regions
    assert region.method == "region_grow"
    assert layer_for(viewer, "scar proposal") is None
    # the scar layer shows exactly the stored region (one labels layer, nothing left over)
    settle()
    labels = [lay for lay in viewer.layers if type(lay).__name__ == "Labels"]
    assert labels == [layer_for(viewer, "scar")]
    np.testing.assert_array_equal(labels[0].data > 0, scar_layer_data(region)[0] > 0)
    assert ws.last_action == "grow scar"
    # what the physician reads is the core's wording of the stored region
    shown = widget.scar_volume.text()
    assert shown == scar_volume_text(region.volume_ml, region.volume_ml_per_level)
    # volumes per level follow the endplates: the grown region (which the core allows
    # to be 0.85–1.4× the truth) splits between L4-L5 and L5 as the truth slabs do
    # (L5 0.68 of it; the halfway split gave about half each)
    want = TRUTH["scar"]["volume_ml_by_level"]
    total = TRUTH["scar"]["volume_ml"]
    assert set(region.volume_ml_per_level) == set(want)
    assert 0.85 * total <= region.volume_ml <= 1.4 * total
    for level, ml in want.items():
        share = region.volume_ml_per_level[level] / region.volume_ml
        assert share == pytest.approx(ml / total, abs=0.08), (level, region.volume_ml_per_level)

    # one Undo takes the whole proposal back
    doc.click(widget.undo_bar.undo_button, "Undo")
    assert ws.case.scar_regions == () and ws.case.levels == before.levels


def test_a_rejected_proposal_leaves_the_case_unchanged(scar: Any, qtbot: Any) -> None:
    viewer, widget, ws, doc, seed = scar
    before, last = ws.case, ws.last_action
    doc.click_patient(seed, "inside the scar")
    _proposal_shown(qtbot, widget)
    assert layer_for(viewer, "scar proposal") is not None
    doc.click(widget.proposal.reject_button, "Reject")
    assert layer_for(viewer, "scar proposal") is None
    assert ws.case == before and ws.last_action == last
    assert not widget.proposal.accept_button.isEnabled()
    assert "rejected" in widget.proposal.label.text()


def test_cancel_while_growing_leaves_the_case_unchanged_and_the_panel_usable(
    scar: Any, qtbot: Any
) -> None:
    viewer, widget, ws, doc, seed = scar
    before, last = ws.case, ws.last_action
    # the click starts the worker; Cancel is pressed before napari handles its result
    canvas = canvas_widget(viewer)
    QTest.mouseClick(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pixel_of(viewer, seed)
    )
    assert widget.proposal.growing
    QTest.mouseClick(widget.proposal.cancel_button, Qt.MouseButton.LeftButton, pos=QPoint(5, 5))
    assert not widget.proposal.growing
    qtbot.wait(300)  # let any late result arrive: it is ignored
    settle()
    assert widget.proposal.proposal is None and layer_for(viewer, "scar proposal") is None
    assert ws.case == before and ws.last_action == last
    assert "cancelled" in widget.proposal.label.text()

    # still usable: the next click grows a proposal that can be accepted
    doc.click_patient(seed, "inside the scar, again")
    _proposal_shown(qtbot, widget)
    doc.click(widget.proposal.accept_button, "Accept proposal")
    assert len(ws.case.scar_regions) == 1


def test_a_leaking_region_is_refused_by_the_core_and_nothing_is_proposed(
    scar: Any, qtbot: Any
) -> None:
    viewer, widget, ws, doc, seed = scar
    before = ws.case
    assert "FS" in widget.scar_series.currentText()
    # the widest window lets the region run into the bright fat around the scar
    widget.sensitivity.setValue(4.0)
    doc.click_patient(seed, "the scar, next to bright fat")
    qtbot.waitUntil(lambda: not widget.proposal.growing, timeout=120000)
    assert "leaked" in widget.message.text()
    assert layer_for(viewer, "scar proposal") is None
    assert ws.case == before


def test_the_proposal_layer_is_made_in_seed_mode_and_reused(scar: Any, qtbot: Any) -> None:
    """napari builds a labels layer in one ~0.3 s call: made (hidden, empty, no role) when
    seed mode is entered, then every proposal is shown in that one layer."""
    viewer, widget, ws, doc, seed = scar
    qtbot.waitUntil(lambda: widget.proposal.spare() is not None, timeout=10000)
    spare = widget.proposal.spare()
    assert not spare.visible and not spare.data.any()
    assert layer_for(viewer, "scar proposal") is None and "blockplan" not in spare.metadata
    assert viewer.layers.selection.active is not spare  # the physician's image stays active

    doc.click_patient(seed, "inside the scar")
    _proposal_shown(qtbot, widget)
    assert layer_for(viewer, "scar proposal") is spare and spare.visible
    assert widget.proposal.spare() is None
    assert spare.get_value(lps_to_world(seed), world=True) == 1  # placed on the series

    doc.click(widget.proposal.reject_button, "Reject")
    assert widget.proposal.spare() is spare and not spare.visible and not spare.data.any()
    assert layer_for(viewer, "scar proposal") is None and ws.case.scar_regions == ()

    doc.click_patient(seed, "inside the scar, again")
    _proposal_shown(qtbot, widget)
    settle()
    labels = [lay for lay in viewer.layers if type(lay).__name__ == "Labels"]
    assert labels == [spare] and layer_for(viewer, "scar proposal") is spare
    doc.click(widget.proposal.accept_button, "Accept proposal")
    settle()
    # the proposal's layer became the scar layer: still one labels layer, no spare left
    assert layer_for(viewer, "scar") is spare and widget.proposal.spare() is None
    assert [lay for lay in viewer.layers if type(lay).__name__ == "Labels"] == [spare]
    np.testing.assert_array_equal(spare.data > 0, scar_layer_data(ws.case.scar_regions[0])[0] > 0)


def test_accept_or_leaving_the_scar_tab_ends_the_seed_mode(scar: Any, qtbot: Any) -> None:
    """A physician's trial: after Accept the seed stayed armed, and on the Targets tab an
    ordinary click at a target grew another scar, ending in "the region leaked". Accept
    ends the mode (the status bar says so no more); so does leaving the Scar tab."""
    viewer, widget, ws, doc, seed = scar
    doc.click_patient(seed, "inside the scar")
    _proposal_shown(qtbot, widget)
    doc.click(widget.proposal.accept_button, "Accept proposal")
    assert widget.mode is None and "click inside the scar" not in viewer.help
    grown = ws.case
    doc.click_patient(seed, "a click to look around")
    settle()
    assert ws.case == grown and not widget.proposal.growing  # nothing grows
    # armed again, then another tab is opened: the mode ends there too
    doc.key(canvas_widget(viewer), Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier, "Shift-G")
    assert widget.mode == "seed"
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Targets tab", bar.tabRect(2).center())
    assert widget.mode is None
