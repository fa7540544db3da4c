"""Spare layers: napari builds them while the physician looks for a study, later steps
adopt them.

`blockplan view` with no study (`launch_viewer`) makes, in steps of their own once the
window is shown, a hidden, empty image layer and the scar proposal's hidden, empty labels
layer; the first series shown adopts the first, seed mode and the first proposal the
second, so neither builds a layer when the physician waits for it (issue 14 point 2).
With a study given the launch makes none (relaunch, issue 13). Real Qt events where the
physician acts (Xvfb).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_blockplan._convert import image_layer_data
from napari_blockplan._launch import launch_viewer
from napari_blockplan._layers import IMAGE_SPARE, SPARE_KEY, is_spare, spare_for
from napari_blockplan._reader import LOADING_KEY
from napari_blockplan._views import LETTER_OVERLAYS
from napari_blockplan._widgets._scar_proposal import PROPOSAL_ROLE
from tests.plugin._gui import Physician, canvas_widget, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _dock(viewer: Any, name: str) -> Any:
    return next(w for title, w in viewer.window.dock_widgets.items() if title.startswith(name))


def _images(viewer: Any) -> list[Any]:
    return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]


def _load_sample(viewer: Any, doc: Physician, qtbot: Any) -> None:
    """Find the sample's series and load them in the Study browser, as a physician does."""
    browser = _dock(viewer, "Study browser")
    doc.click(browser.path_edit, "the folder field")
    doc.type(browser.path_edit, str(SAMPLE), "the sample folder")
    doc.click(browser.scan_button, "Find series")
    qtbot.waitUntil(lambda: not browser.busy, timeout=60000)
    doc.click(browser.load_button, "Load selected")
    qtbot.waitUntil(lambda: len(_images(viewer)) == 4 and not browser.busy, timeout=120000)
    settle()


def _assert_fitted_to_the_images(viewer: Any) -> None:
    """The sliders' ranges and steps are the images' (the spares widen nothing), and the
    camera shows them (bright CT pixels on the canvas)."""
    images = _images(viewer)
    lo = np.min([lay.extent.world[0] for lay in images], axis=0)
    hi = np.max([lay.extent.world[1] for lay in images], axis=0)
    np.testing.assert_allclose(viewer.layers.extent.world, np.vstack([lo, hi]))
    np.testing.assert_allclose(
        viewer.layers.extent.step, np.min([lay.scale for lay in images], axis=0)
    )
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].mean(axis=2)
    assert (shot > 150).sum() > 200, "the first series shows, fitted in the view"


def _spares_made(viewer: Any, qtbot: Any) -> None:
    """Wait for the launch's spare steps (`_launch.SPARES_AFTER_MS` after the window shows)."""
    qtbot.waitUntil(lambda: spare_for(viewer, PROPOSAL_ROLE) is not None, timeout=10000)
    settle()


def test_launch_makes_hidden_spares_with_no_role(qtbot: Any, launch_app: Any) -> None:
    viewer = launch_viewer(None, run=False)
    try:
        assert len(viewer.layers) == 0  # none before the window shows: launch not longer
        _spares_made(viewer, qtbot)
        spares = [lay for lay in viewer.layers if is_spare(lay)]
        assert len(spares) == len(viewer.layers) == 2
        assert {lay.metadata[SPARE_KEY] for lay in spares} == {IMAGE_SPARE, PROPOSAL_ROLE}
        for spare in spares:
            assert not spare.visible and not np.asarray(spare.data).any()
            assert "blockplan" not in spare.metadata  # no blockplan role: not the case's
        assert viewer.layers.selection.active is None
        settle()
        # drawn once, transparent (shaders, glyphs), then put back as they were
        assert [lay.opacity for lay in spares] == pytest.approx([1.0, 0.6])
        letters = [viewer.canvas.overlays[key] for key in LETTER_OVERLAYS.values()]
        for overlay in letters:
            np.testing.assert_allclose(overlay.color, (1.0, 1.0, 0.0, 1.0))  # yellow
        # nothing to orient yet: no letters on the empty canvas
        assert not any(overlay.visible for overlay in letters)
    finally:
        viewer.close()


def test_the_first_series_adopts_the_image_spare_and_seed_mode_makes_no_layer(
    qtbot: Any, launch_app: Any
) -> None:
    viewer = launch_viewer(None, run=False)
    try:
        _spares_made(viewer, qtbot)
        image_spare = spare_for(viewer, IMAGE_SPARE)
        proposal_spare = spare_for(viewer, PROPOSAL_ROLE)
        doc = Physician(viewer)
        _load_sample(viewer, doc, qtbot)

        first = _images(viewer)[0]
        assert first is image_spare and first.visible and not is_spare(first)
        assert LOADING_KEY not in first.metadata
        assert viewer.layers.selection.active is first
        # named and placed as a layer made for it would be, and the only one of its series
        _data, kwargs, _kind = image_layer_data(first.metadata["blockplan_volume"])
        assert first.name == kwargs["name"]
        np.testing.assert_allclose(first.scale, kwargs["scale"])
        np.testing.assert_allclose(first.translate, kwargs["translate"])
        assert first.contrast_limits == pytest.approx(list(kwargs["contrast_limits"]))
        assert first.colormap.name == "gray" and first.blending == kwargs["blending"]
        assert first.opacity == 1.0  # drawn once at launch at opacity 0, put back
        uid = first.metadata["blockplan"]["series_instance_uid"]
        same = [
            lay
            for lay in viewer.layers
            if lay.metadata.get("blockplan", {}).get("series_instance_uid") == uid
        ]
        assert same == [first]
        assert [lay.visible for lay in _images(viewer)] == [True, False, False, False]
        _assert_fitted_to_the_images(viewer)
        qtbot.waitUntil(
            lambda: all(viewer.canvas.overlays[k].visible for k in LETTER_OVERLAYS.values()),
            timeout=5000,
        )
        # the proposal's spare sits on the first image's first voxel, on its spacing
        np.testing.assert_allclose(proposal_spare.scale, first.scale)
        np.testing.assert_allclose(proposal_spare.translate, first.translate)

        planning = _dock(viewer, "Planning")
        count = len(viewer.layers)
        doc.key(canvas_widget(viewer), Qt.Key.Key_G, Qt.KeyboardModifier.ShiftModifier, "Shift-G")
        settle()
        assert planning.mode == "seed"
        assert len(viewer.layers) == count, "seed mode makes no layer"
        assert planning.proposal.spare() is proposal_spare and not proposal_spare.visible
    finally:
        viewer.close()


def test_a_study_loaded_again_after_its_images_are_removed_is_fitted(
    qtbot: Any, launch_app: Any
) -> None:
    viewer = launch_viewer(None, run=False)
    try:
        _spares_made(viewer, qtbot)
        doc = Physician(viewer)
        _load_sample(viewer, doc, qtbot)
        for layer in _images(viewer):
            viewer.layers.remove(layer)
            settle()
        assert [lay for lay in viewer.layers if not is_spare(lay)] == []
        viewer.scene.camera.zoom = 0.05  # looked around meanwhile
        _load_sample(viewer, doc, qtbot)
        assert [lay.visible for lay in _images(viewer)] == [True, False, False, False]
        _assert_fitted_to_the_images(viewer)
        proposal_spare = spare_for(viewer, PROPOSAL_ROLE)
        np.testing.assert_allclose(proposal_spare.scale, _images(viewer)[0].scale)
    finally:
        viewer.close()


def test_a_launch_with_a_study_makes_no_spare(qtbot: Any, launch_app: Any) -> None:
    """`blockplan view STUDY`: the study loads at once; no spare is made then or later
    (relaunch stays as it was), the first series builds its own layer, seed mode its
    proposal layer."""
    viewer = launch_viewer(SAMPLE, run=False)
    try:
        qtbot.waitUntil(lambda: len(_images(viewer)) == 4, timeout=120000)
        qtbot.wait(600)  # past the spare steps' time
        assert not any(is_spare(lay) for lay in viewer.layers)
        assert [lay.visible for lay in _images(viewer)] == [True, False, False, False]
    finally:
        viewer.close()


def test_a_study_opened_before_the_spares_leaves_the_image_spare_out(
    qtbot: Any, launch_app: Any
) -> None:
    """A series shown before the spare steps run (a quick physician): no image spare is
    made after it (it would widen the sliders); the proposal's spare sits on the image."""
    from napari_blockplan._convert import image_layer_data as layer_data
    from napari_blockplan._layers import insert_layer

    viewer = launch_viewer(None, run=False)
    try:
        from napari.layers import Image

        from blockplan.io import discover, load_series

        ct = load_series(next(s for s in discover(SAMPLE).series if s.modality == "CT"))
        data, kwargs, _kind = layer_data(ct)
        first = insert_layer(viewer, Image(data, **kwargs), activate=True)
        _spares_made(viewer, qtbot)
        assert spare_for(viewer, IMAGE_SPARE) is None
        proposal = spare_for(viewer, PROPOSAL_ROLE)
        np.testing.assert_allclose(proposal.scale, first.scale)
        np.testing.assert_allclose(proposal.translate, first.translate)
        np.testing.assert_allclose(viewer.layers.extent.world, first.extent.world)
    finally:
        viewer.close()
