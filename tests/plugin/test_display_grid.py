"""Oblique series shown on a fine world-aligned grid: stored type, exact placement."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from blockplan.io import ImageVolume, discover, load_series
from blockplan.io.resample import resample_image, sample_points
from napari_blockplan._convert import WorldAlignedView, display_volume, image_layer_data

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _oblique_mr() -> ImageVolume:
    found = discover(SAMPLE).series
    return load_series(next(s for s in found if s.series_number == 4))


def test_an_oblique_series_is_shown_on_a_fine_grid_in_its_stored_type() -> None:
    source = _oblique_mr()
    shown, how = display_volume(source)
    assert how == "resampled"
    assert shown.array.dtype == source.array.dtype  # uint16, not float32
    steps = np.diag(shown.affine)[:3]
    spacing = np.linalg.norm(source.affine[:3, :3], axis=0)
    # isotropic at the finest spacing (a scar is painted on this grid)
    assert np.allclose(steps, spacing.min())
    # in the stored type: half of what float32 took
    fine = np.prod(shown.array.shape)
    assert shown.array.nbytes == fine * source.array.itemsize
    assert "world-aligned grid for display" in shown.geometry_note


def test_every_displayed_voxel_is_the_source_interpolated_at_its_patient_position() -> None:
    source = _oblique_mr()
    shown, _how = display_volume(source)
    rng = np.random.default_rng(7)
    kji = np.column_stack([rng.integers(0, n, 400) for n in shown.array.shape])
    ijk1 = np.column_stack([kji[:, ::-1], np.ones(len(kji))])
    lps = (ijk1 @ shown.affine.T)[:, :3]
    expected = sample_points(source, lps)
    inside = ~np.isnan(expected)
    assert inside.sum() > 200  # most samples fall inside the oblique slab
    got = shown.array[kji[:, 0], kji[:, 1], kji[:, 2]].astype(float)
    np.testing.assert_allclose(got[inside], np.rint(expected[inside]), atol=1.0)


def _tilted_ct() -> ImageVolume:
    """A small gantry-tilted CT (20°, sheared grid), int16."""
    arr = np.random.default_rng(3).integers(-1000, 1500, size=(12, 40, 36), dtype=np.int16)
    t = np.radians(20.0)
    aff = np.eye(4)
    aff[:3, 0] = (0.7, 0.0, 0.0)
    aff[:3, 1] = (0.0, 0.7 * np.cos(t), 0.7 * np.sin(t))
    aff[:3, 2] = (0.0, 0.0, 3.0)
    return ImageVolume(arr, aff, "1.2.3", "CT", "1.2.3.4")


def test_the_display_grid_is_resampled_plane_by_plane_as_napari_asks() -> None:
    """No copy of the grid is made: each plane napari asks for is resampled then, to the
    values the whole grid resampled at once has (issue 16 point 6)."""
    for source in (_tilted_ct(), _oblique_mr()):
        tracemalloc.start()
        shown, _how = display_volume(source)
        held = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        view = shown.array
        assert isinstance(view, WorldAlignedView) and view.volume is source
        assert held < 0.1 * view.nbytes  # nothing the size of the grid (it was 1×)
        whole = resample_image(
            source, shown.affine, view.shape, order="linear", fill=float(source.array.min())
        )
        whole = np.rint(whole).astype(source.array.dtype)
        assert all(np.array_equal(view[m], whole[m]) for m in range(view.shape[0]))
        assert all(np.array_equal(view[:, j], whole[:, j]) for j in range(0, view.shape[1], 7))
        assert np.array_equal(view[..., 5], whole[..., 5])
        assert np.array_equal(view[::3, 1:-1:2, ::-1], whole[::3, 1:-1:2, ::-1])
        assert np.array_equal(np.asarray(view), whole)
        assert view[-1, -1, -1] == whole[-1, -1, -1]
        with pytest.raises(IndexError, match="out of bounds"):
            view[view.shape[0]]


def test_the_whole_grid_asked_for_while_it_is_built_apart_is_a_small_placeholder() -> None:
    """napari's 3-D view asks for the whole grid: while a thread resamples it, the answer
    is a 2 × 2 × 2 block of ``fill`` — the grid's shape of ``fill`` made napari copy and
    upload a volume of nothing (1.6 s frozen for the oblique MR) — and then the grid."""
    import threading

    shown, _how = display_volume(_oblique_mr())
    view = shown.array
    assert isinstance(view, WorldAlignedView)
    ready = threading.Event()
    view.build_whole_apart(ready.set)
    answer = view[:, :, :]
    assert answer.shape == (2, 2, 2) and answer.nbytes < 64
    assert np.all(answer == view.fill)
    assert ready.wait(60) and view.whole_ready
    assert view[:, :, :].shape == view.shape  # once built, the grid itself
    assert np.array_equal(view[:, :, :], np.asarray(view))


@pytest.mark.gui
def test_napari_shows_the_tilted_ct_from_the_view(make_napari_viewer: Any) -> None:
    source = _tilted_ct()
    data, kwargs, _kind = image_layer_data(source)
    viewer = make_napari_viewer(show=True)
    layer = viewer.add_image(data, **kwargs)
    assert isinstance(layer.data, WorldAlignedView)
    m = data.shape[0] // 2
    viewer.dims.set_point(0, layer.data_to_world((m, 0, 0))[0])
    plane = data[m]
    for j, i in ((5, 5), (plane.shape[0] // 2, plane.shape[1] // 2), (20, 30)):
        world = layer.data_to_world((m, j, i))
        assert layer.get_value(world, world=True) == plane[j, i]  # what napari shows there


@pytest.mark.gui
def test_the_3d_view_of_a_tilted_ct_is_resampled_off_the_gui_thread(
    make_napari_viewer: Any,
) -> None:
    """Ctrl+Y (napari's 3-D view) on an oblique or tilted series resampled its whole display
    grid on the GUI thread (≈ 5 s frozen for a 58-slice 512² CT); now a thread of its own
    does it while the view says so, and the layer then shows the very grid."""
    from napari.utils.notifications import notification_manager
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from napari_blockplan._workspace import workspace_for
    from tests.plugin._gui import canvas_widget, settle

    source = _tilted_ct()
    viewer = make_napari_viewer(show=True)
    workspace_for(viewer)  # as when any blockplan panel is docked
    data, kwargs, _kind = image_layer_data(source)
    layer = viewer.add_image(data, **kwargs)
    assert isinstance(layer.data, WorldAlignedView) and not layer.data.whole_ready
    told = len(notification_manager.records)

    canvas = canvas_widget(viewer)
    canvas.setFocus()
    QTest.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert viewer.dims.ndisplay == 3
    messages = [str(n.message) for n in notification_manager.records[told:]]
    assert any("preparing the 3-D view" in m for m in messages)

    for _ in range(400):  # the thread resamples, then the layer draws it
        if layer.data.whole_ready:
            break
        QTest.qWait(25)
    settle()
    assert layer.data.whole_ready
    assert layer.data.whole_built_in == "blockplan-3d-grid"  # never the GUI thread
    expected = resample_image(
        source, layer.data.affine, layer.data.shape, order="linear", fill=layer.data.fill
    )
    assert np.array_equal(np.asarray(layer.data), np.rint(expected).astype(np.int16))
    shot = viewer.screenshot(canvas_only=True, flash=False)
    assert shot[..., :3].max() > 0  # the CT is drawn in 3-D, not the black placeholder
