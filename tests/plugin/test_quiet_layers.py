"""What napari's layer creation costs on the GUI thread, kept small: overlays and hidden
series are added without napari switching the active layer to them and back
(`_layers.insert_layer`), and the modules napari's first layers import lazily are
imported by the loader's worker (`_reader._warm_napari`)."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_loader_worker_imports_what_the_first_labels_layer_needs() -> None:
    """In a fresh interpreter: after `_warm_napari` (run by the loader's worker thread),
    napari's first labels layer imports nothing more from pandas, skimage or scipy."""
    code = (
        "import sys, numpy as np\n"
        "from napari_blockplan._reader import _warm_napari\n"
        "_warm_napari()\n"
        "from napari.layers import Labels, Points\n"
        "before = set(sys.modules)\n"
        "Labels(np.zeros((2, 4, 4), np.uint8))\n"
        "Points(np.zeros((1, 3)), features={'level': ['L5']})\n"
        "late = sorted(m for m in set(sys.modules) - before\n"
        "              if m.split('.')[0] in ('pandas', 'skimage', 'scipy'))\n"
        "print(late)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_loader_worker_computes_the_dash_patterns_of_the_first_line_visual() -> None:
    """In a fresh interpreter: after `_warm_napari`, the dash patterns vispy computes for
    its first line visual (the polygon overlay of the scar proposal's labels layer,
    ~0.2 s on the GUI thread) are ready: building one computes none."""
    code = (
        "from napari_blockplan._reader import _warm_napari\n"
        "from vispy.visuals.line import dash_atlas\n"
        "_warm_napari()\n"
        "before = dash_atlas._make_pattern.cache_info().misses\n"
        "dash_atlas.DashAtlas()\n"
        "print(before, dash_atlas._make_pattern.cache_info().misses)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = (int(v) for v in out.stdout.split())
    assert before >= 13 and after == before


def test_orientation_letters_follow_the_first_image_in_a_step_of_their_own(
    make_napari_viewer, qtbot
) -> None:
    """No letters on an empty canvas; after the first image they appear in a later turn
    of the event loop (their first draw is not part of the first image's)."""
    from napari_blockplan._views import LETTER_OVERLAYS, show_orientation_letters

    viewer = make_napari_viewer(show=True)
    remove = show_orientation_letters(viewer)
    overlays = [viewer.canvas.overlays[key] for key in LETTER_OVERLAYS.values()]
    assert not any(o.visible for o in overlays)
    image = viewer.add_image(np.zeros((4, 8, 8), np.float32))
    assert not any(o.visible for o in overlays)  # not in the same step as the image
    qtbot.waitUntil(lambda: all(o.visible for o in overlays), timeout=5000)
    assert {o.text for o in overlays} == {"A", "P", "R", "L"}
    viewer.layers.remove(image)
    assert not any(o.visible for o in overlays)
    remove()
