"""Overlays and hidden series are added without napari switching the active layer to
them and back (`_layers.insert_layer`): nothing listening sees a selection change."""

from __future__ import annotations

import numpy as np
import pytest
from napari.layers import Image, Labels, Points

from napari_blockplan._layers import insert_layer, keep_overlays_on_top

pytestmark = pytest.mark.gui


def test_insert_layer_keeps_the_selection_and_the_overlays_on_top(make_napari_viewer) -> None:
    viewer = make_napari_viewer(show=True)
    keep_overlays_on_top(viewer)
    image = viewer.add_image(np.zeros((4, 8, 8), np.float32), name="T1")
    levels = insert_layer(
        viewer, Points(np.zeros((1, 3)), ndim=3, metadata={"blockplan": {"role": "levels"}})
    )
    seen: list[str] = []
    selection = viewer.layers.selection
    selection.events.active.connect(lambda e: seen.append("active"))
    selection.events.changed.connect(lambda e: seen.append("changed"))
    hidden = insert_layer(viewer, Image(np.ones((4, 8, 8), np.float32), visible=False))
    proposal = insert_layer(viewer, Labels(np.zeros((4, 8, 8), np.uint8), name="proposal"))
    assert seen == []  # never switched to the new layers and back
    assert selection.active is image and set(selection) == {image}
    # inserted below the overlay, not appended and moved
    assert list(viewer.layers) == [image, hidden, proposal, levels]
    # the selection still works as napari's: choosing a layer makes it active
    selection.active = proposal
    assert seen and selection.active is proposal and set(selection) == {proposal}


def test_insert_layer_with_activate_makes_it_the_active_layer(make_napari_viewer) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((4, 8, 8), np.float32), name="T1")
    shown = insert_layer(viewer, Image(np.ones((4, 8, 8), np.float32)), activate=True)
    assert viewer.layers.selection.active is shown
