"""napari for real under Xvfb: the plugin's widget docks and the canvas renders."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def test_study_widget_docks_and_canvas_renders(make_napari_viewer) -> None:
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    assert type(widget).__name__ == "StudyWidget"
    # a bright sphere in a dark volume, shown through the real OpenGL canvas
    zz, yy, xx = np.mgrid[:32, :64, :64]
    vol = (((zz - 16) ** 2 + (yy - 32) ** 2 + (xx - 32) ** 2) < 20**2).astype(np.float32)
    viewer.add_image(vol, contrast_limits=(0, 1))
    viewer.dims.set_point(0, 16)
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot.ndim == 3 and shot.shape[2] == 4
    gray = shot[..., :3].mean(axis=2)
    assert gray.max() > 200, "the sphere should render white"
    assert gray.min() < 30, "the background should stay black"
    assert 0.05 < (gray > 128).mean() < 0.9
