"""The reader and Study browser under Xvfb: series line up in patient space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._reader import get_reader
from tests.io._dicom_factory import SeriesSpec, write_series

pytestmark = pytest.mark.gui

FOR_UID = "1.2.826.0.1.3680043.10.1081.77.1"
SPOT_CT = (20, 12, 7)  # (i, j, k) of the bright voxel in the axial series


def _study(root: Path) -> np.ndarray:
    """Axial CT and sagittal MR of one frame of reference, one bright voxel each at P."""
    ct = np.full((16, 32, 40), 0, dtype=np.int16)
    ct[SPOT_CT[2], SPOT_CT[1], SPOT_CT[0]] = 3000
    ct_spec = SeriesSpec(
        volume=ct,
        origin=(-30.0, -10.0, 40.0),
        pixel_spacing=(0.8, 0.6),
        slice_step=(0.0, 0.0, 2.0),
        for_uid=FOR_UID,
        series_number=2,
        intercept=-1024.0,
    )
    p = ct_spec.truth_lps(*SPOT_CT)
    # sagittal: i runs anterior→posterior (+y), j superior→inferior (−z), slices along −x
    mr = np.zeros((12, 40, 30), dtype=np.uint16)
    i_s, j_s, k_s = 9, 15, 5
    row_dir, col_dir, step = (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), (-1.5, 0.0, 0.0)
    rs, cs = 1.0, 0.9
    origin = p - i_s * np.array(row_dir) * cs - j_s * np.array(col_dir) * rs - k_s * np.array(step)
    mr[k_s, j_s, i_s] = 1000
    mr_spec = SeriesSpec(
        volume=mr,
        origin=tuple(origin),
        row_dir=row_dir,
        col_dir=col_dir,
        pixel_spacing=(rs, cs),
        slice_step=step,
        modality="MR",
        for_uid=FOR_UID,
        study_uid=ct_spec.study_uid,
        series_number=3,
        intercept=0.0,
        image_type=("ORIGINAL", "PRIMARY", "M"),
        slice_thickness=1.5,
    )
    assert np.allclose(mr_spec.truth_lps(i_s, j_s, k_s), p)
    write_series(root / "ct", ct_spec)
    write_series(root / "mr", mr_spec)
    (root / "README.txt").write_text("not DICOM")
    return p


def _bright_world(layer) -> np.ndarray:
    idx = np.unravel_index(int(np.argmax(layer.data)), layer.data.shape)
    return np.asarray(layer.data_to_world(np.asarray(idx, dtype=float)))


def test_reader_declines_non_dicom(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path)) is None
    assert get_reader(str(tmp_path / "missing.dcm")) is None


def _images(viewer) -> list:
    return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]


def test_series_line_up_in_patient_space(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    p = _study(tmp_path)
    viewer = make_napari_viewer(show=True)
    # napari's own open path: the reader returns at once, the series load in a worker
    assert viewer.open(str(tmp_path), plugin="blockplan") == []
    qtbot.waitUntil(lambda: len(_images(viewer)) == 2, timeout=30000)
    layers = _images(viewer)
    assert len(layers) == 2
    ct = next(lay for lay in layers if lay.metadata["blockplan"]["modality"] == "CT")
    mr = next(lay for lay in layers if lay.metadata["blockplan"]["modality"] == "MR")
    assert mr.metadata["blockplan"]["display_transform"] == "reoriented"
    assert ct.visible and not mr.visible  # only the first series shows at first
    mr.visible = True
    # both bright voxels sit at P in world = LPS (z, y, x)
    for layer in (ct, mr):
        assert np.allclose(world_to_lps(_bright_world(layer)), p, atol=0.5), layer.name
    # a point placed on the sagittal MR's bright voxel lands on the CT's bright voxel
    points = viewer.add_points(_bright_world(mr)[None], name="probe")
    placed = points.data[0]
    assert ct.get_value(placed, world=True) > 1000  # HU of the spot (3000 - 1024)
    assert mr.get_value(lps_to_world(p), world=True) == 1000
    # physical aspect: the CT layer's scale is its spacing (z, y, x) in mm, and its world
    # extent is the acquired field in mm, in 2-D and 3-D alike
    assert np.allclose(ct.scale, (2.0, 0.8, 0.6))
    lo, hi = np.asarray(ct.extent.world)
    assert np.allclose(lo, lps_to_world([-30.0, -10.0, 40.0]))  # first voxel's position
    assert np.allclose(hi - lo, np.array([15, 31, 39]) * [2.0, 0.8, 0.6])  # centre to centre
    viewer.dims.ndisplay = 3
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3]
    assert shot.max() > 100  # the bright voxel renders in the 3-D view


def test_study_browser_loads_in_background(make_napari_viewer, qtbot, tmp_path: Path) -> None:
    p = _study(tmp_path)
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    widget.scan(tmp_path)
    qtbot.waitUntil(lambda: not widget.busy, timeout=30000)
    assert widget.table.rowCount() == 2
    assert "skipped" in widget.status.text()
    worker = widget.load_selected()
    assert worker is not None
    qtbot.waitUntil(lambda: len(viewer.layers) == 2, timeout=30000)
    qtbot.waitUntil(lambda: widget.load_button.isEnabled(), timeout=30000)
    assert widget.status.text() == "2 series loaded."
    assert [lay.visible for lay in viewer.layers] == [True, False]
    for layer in viewer.layers:
        assert np.allclose(world_to_lps(_bright_world(layer)), p, atol=0.5)
