"""A series with a missing slice opens from the Study browser with an explicit choice:
split at the gap (two exact parts) or resampled (its layer marked 'interpolated')
(issue 16, point 4); the resampled series is named interpolated alike on the layer, in the
case, the report caption and the SR. Real Qt events on the browser's controls."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from blockplan.archive import build_measurement_report, read_sr
from blockplan.archive._common import read_headers
from blockplan.case import BlockType, Laterality, LevelMarker, PatientPoint, Structure, Target
from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.io.volume import INTERPOLATED_MARK
from blockplan.report.keyimages import axial_key_image
from napari_blockplan._workspace import workspace_for
from tests.io._dicom_factory import SeriesSpec, phantom, uid, write_series

pytestmark = pytest.mark.gui


def _images(viewer: Any) -> list[Any]:
    return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]


def _choose(combo: Any, data: str) -> None:
    """Pick an entry with the keyboard, as a user would (focus, arrows)."""
    combo.setFocus()
    target = combo.findData(data)
    while combo.currentIndex() != target:
        key = Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up
        QTest.keyClick(combo, key)


def test_gapped_series_split_or_resampled_from_the_browser(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    spec = SeriesSpec(phantom((7, 24, 20)), series_number=5, description="gapped")
    write_series(tmp_path, spec, indices=[0, 1, 2, 4, 5, 6])  # slice 3 missing
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    widget.scan(tmp_path)
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)
    assert widget.table.item(0, 6).text().startswith("refused: slice spacing varies")

    _choose(widget.gaps_combo, "split")
    assert widget.table.rowCount() == 2
    assert [widget.table.item(r, 4).text() for r in range(2)] == ["3", "3"]
    QTest.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_images(viewer)) == 2 and not widget.busy, timeout=60000)
    volumes = sorted(
        (lay.metadata["blockplan_volume"] for lay in _images(viewer)),
        key=lambda v: float(v.affine[2, 3]),
    )
    np.testing.assert_array_equal(volumes[0].array, spec.volume[:3] - 1024)
    np.testing.assert_array_equal(volumes[1].array, spec.volume[4:] - 1024)
    assert not any("interpolated" in lay.name for lay in _images(viewer))

    viewer.layers.clear()
    _choose(widget.gaps_combo, "resample")
    assert widget.table.rowCount() == 1 and widget.table.item(0, 6).text() == "warnings"
    QTest.mouseClick(widget.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(_images(viewer)) == 1 and not widget.busy, timeout=60000)
    (layer,) = _images(viewer)
    assert layer.name == "CT 5 gapped (interpolated)"
    assert layer.metadata["blockplan_volume"].shape == (7, 24, 20)

    # one mark wherever the series is named: layer, the case's record of it (kept by a
    # reopened case), the report's key-image caption and the SR (issue 16 point 4)
    volume = layer.metadata["blockplan_volume"]
    case = workspace_for(viewer).case
    assert case.study is not None and [r.interpolated for r in case.study.series] == [True]
    reopened = load_case_file(save_case_file(case, tmp_path / "case.blockplan.json"))
    assert reopened.study is not None and reopened.study.series[0].interpolated
    centre = volume.index_to_lps(np.array(volume.shape[::-1], dtype=float) / 2 - 0.5)
    target = Target(
        level="L5",
        side=Laterality.RIGHT,
        structure=Structure.NERVE_ROOT,
        block_type=BlockType.TRANSFORAMINAL_EPIDURAL,
        position=PatientPoint(
            lps=tuple(float(v) for v in centre),
            frame_of_reference_uid=volume.frame_of_reference_uid,
        ),
    )
    caption = axial_key_image(volume, target, label="T1").source
    files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("IM"))
    sr = build_measurement_report(reopened.evolve(targets=(target,)), read_headers(files))
    (statement,) = read_sr(sr).statements
    assert INTERPOLATED_MARK in layer.name
    assert caption.startswith("CT series 5 (gapped)" + INTERPOLATED_MARK)
    assert statement.startswith("CT series 5 (gapped)" + INTERPOLATED_MARK + ": resampled")


def test_angled_stacks_name_the_disc_once_the_case_has_levels(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    """Disc-angled stacks of one series are listed with their angle, and the disc each
    crosses once the open case's levels are marked (issue 16 point 5)."""
    series_uid, study, frame_ref = uid(), uid(), uid()
    for n, (deg, z0) in enumerate(((8.0, -2.0), (-12.0, 38.0))):
        t = math.radians(deg)
        spec = SeriesSpec(
            phantom((3, 8, 8), seed=n),
            series_uid=series_uid,
            study_uid=study,
            for_uid=frame_ref,
            col_dir=(0.0, math.cos(t), math.sin(t)),
            origin=(-100.0, -120.0, z0),
        )
        spec.slice_step = tuple(spec.normal * 3.0)
        write_series(tmp_path, spec, prefix=f"S{n}")
    viewer = make_napari_viewer(show=True)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    widget.scan(tmp_path)
    qtbot.waitUntil(lambda: not widget.busy, timeout=60000)

    def listed() -> list[str]:
        return sorted(widget.table.item(r, 2).text() for r in range(widget.table.rowCount()))

    assert all(
        text.endswith("the disc it crosses is named once levels are marked") for text in listed()
    )
    ws = workspace_for(viewer)
    markers = tuple(
        LevelMarker(
            level=level,
            position=PatientPoint(lps=(-97.5, -117.0, z), frame_of_reference_uid=frame_ref),
        )
        for level, z in (("L3", 60.0), ("L4", 20.0), ("L5", -20.0))
    )
    ws.apply(ws.case.evolve(levels=markers), "add levels", "three level markers")
    assert [text.split(", ", 1)[1] for text in listed()] == [
        "centre z 1.4 mm, crosses the L4-L5 disc",
        "centre z 40.4 mm, crosses the L3-L4 disc",
    ]
