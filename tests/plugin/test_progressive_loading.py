"""Opening a study never freezes napari, and the first image shows before the rest is read.

The reader and the Study browser find and load series in a worker thread
(`_reader.StudyLoad`); a series shows from its first slice (`LazySeries`) and gets its
whole array when complete. Checked on data state, never on time (Xvfb, real Qt events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt, QTimer
from qtpy.QtTest import QTest

from blockplan.io import discover
from napari_blockplan._convert import display_axes
from napari_blockplan._reader import LOADING_KEY, LazySeries
from napari_blockplan._workspace import workspace_for
from tests.io._dicom_factory import SeriesSpec, phantom, write_series

pytestmark = pytest.mark.gui

N_SLICES = 120


def _ct(root: Path) -> SeriesSpec:
    """An axial CT whose every voxel tells its slice (stored 1000 + 7i + 13j + 101k)."""
    spec = SeriesSpec(phantom((N_SLICES, 48, 40)), series_number=2, slice_step=(0.0, 0.0, 1.5))
    write_series(root / "ct", spec)
    return spec


def _images(viewer: Any) -> list[Any]:
    return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]


def _loading(viewer: Any) -> list[Any]:
    return [lay for lay in viewer.layers if LOADING_KEY in lay.metadata]


def test_the_first_slice_shows_before_the_rest_is_read(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    spec = _ct(tmp_path)
    hu = spec.volume.astype(np.int32) - 1024
    viewer = make_napari_viewer(show=True)
    seen: list[dict[str, Any]] = []

    def on_inserted(event: Any) -> None:
        layer = event.value
        state = layer.metadata.get(LOADING_KEY)
        if state is None:
            return
        z = float(viewer.dims.point[0])
        m = int(np.rint((z - layer.translate[0]) / layer.scale[0]))
        world = np.array([z, layer.translate[1] + 30 * layer.scale[1], layer.translate[2]])
        world[2] += 20 * layer.scale[2]
        seen.append(
            {
                "read": state.done,
                "of": state.total,
                "slice": m,
                "shown": layer.get_value(world, world=True),  # what napari draws
                "name": layer.name,
                "volumes": workspace_for(viewer).volumes(),
            }
        )

    viewer.layers.events.inserted.connect(on_inserted)
    assert viewer.open(str(tmp_path / "ct"), plugin="blockplan") == []
    qtbot.waitUntil(lambda: len(_images(viewer)) == 1, timeout=60000)

    (first,) = seen
    # shown when none of the rest had been read: the middle slice, right values
    assert first["read"] == 0 and first["of"] == N_SLICES
    assert first["slice"] == (N_SLICES - 1) // 2
    assert first["shown"] == hu[first["slice"], 30, 20]
    assert first["name"].endswith("(loading)") and first["volumes"] == []  # not planned on
    # complete: the whole array, its volume, the series' own name; the case knows it now
    (layer,) = viewer.layers
    assert LOADING_KEY not in layer.metadata and "(loading" not in layer.name
    assert isinstance(layer.data, np.ndarray)
    np.testing.assert_array_equal(layer.data, hu)
    assert [v.series_instance_uid for v in workspace_for(viewer).volumes()] == [spec.series_uid]


def test_a_loading_series_gives_any_axial_slice_at_once(tmp_path: Path) -> None:
    """While loading, the slice napari asks for is decoded on its own; other planes show
    slices not yet read as black (the window's floor) until the series is complete."""
    spec = _ct(tmp_path)
    hu = (spec.volume.astype(np.int32) - 1024).astype(np.float32)
    info = discover(tmp_path / "ct").series[0]
    axes = display_axes(info.affine, info.shape)
    assert axes is not None and axes.slices_stay_slices
    lazy = LazySeries(info, axes, (60, hu[60]), fill=-1000.0)
    assert lazy.shape == hu.shape and lazy.cached() == [60]

    np.testing.assert_array_equal(lazy[7], hu[7])  # one axial slice: decoded at once
    np.testing.assert_array_equal(lazy[8:9, :, :], hu[8:9])
    assert lazy.decoded == 2 and sorted(lazy.cached()) == [7, 8, 60]
    sagittal = lazy[:, :, 20]  # a plane across slices: only what was read
    read = [7, 8, 60]
    np.testing.assert_array_equal(sagittal[read], hu[read][:, :, 20])
    others = np.setdiff1d(np.arange(N_SLICES), read)
    assert np.all(sagittal[others] == -1000.0)
    assert lazy.decoded == 2  # a plane across slices decodes nothing
    assert lazy[60, 30, 20] == hu[60, 30, 20]


def test_finding_and_loading_keep_napari_responsive(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    _ct(tmp_path)
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    ticks: list[bool] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(widget.busy))
    timer.start()

    widget.path_edit.setText(str(tmp_path))
    QTest.mouseClick(widget.scan_button, Qt.MouseButton.LeftButton)
    assert widget.busy  # the click returned while the scan runs
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert any(ticks), "no timer tick while the series were being found"
    assert widget.table.rowCount() == 1

    ticks.clear()
    QTest.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    assert widget.busy and widget.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    timer.stop()
    assert any(ticks), "no timer tick while the series loaded"
    assert len(_images(viewer)) == 1 and widget.status.text() == "1 series loaded."


def test_cancel_removes_the_series_loading_and_the_browser_stays_usable(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    _ct(tmp_path)
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    widget.scan(tmp_path)
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    clicked: list[int] = []

    def cancel_when_it_shows(event: Any) -> None:
        # the physician sees the first image and presses Cancel
        if LOADING_KEY in event.value.metadata and not clicked:
            clicked.append(len(viewer.layers))
            QTest.mouseClick(widget.cancel_button, Qt.MouseButton.LeftButton)

    viewer.layers.events.inserted.connect(cancel_when_it_shows)
    QTest.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    viewer.layers.events.inserted.disconnect(cancel_when_it_shows)
    assert clicked == [1]
    assert list(viewer.layers) == [] and workspace_for(viewer).volumes() == []
    assert widget.status.text() == "0 series loaded (cancelled)."
    assert not widget.cancel_button.isVisible() and widget.load_button.isEnabled()

    # usable: Load again loads it
    QTest.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_images(viewer)) == 1 and not widget.busy, timeout=60000)
    assert _loading(viewer) == []


def test_a_missing_folder_is_refused_in_one_line(make_napari_viewer: Any, tmp_path: Path) -> None:
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    missing = tmp_path / "PATIENT NAME" / "study"
    widget.path_edit.setText(str(missing))
    QTest.mouseClick(widget.scan_button, Qt.MouseButton.LeftButton)
    assert not widget.busy and widget.scan_button.isEnabled()
    text = widget.status.text()
    assert text == "no such file or folder: choose a DICOM folder (Browse…)"
    assert "PATIENT" not in text and "\n" not in text
