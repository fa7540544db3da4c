"""Small units: orientation names, preallocation, lookup by key, message hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blockplan.io import discover
from blockplan.io._pixels import alloc
from blockplan.io.geometry import orientation_label
from tests.io._dicom_factory import SeriesSpec, phantom, write_series


@pytest.mark.parametrize(
    ("iop", "label"),
    [
        ((1, 0, 0, 0, 1, 0), "axial"),
        ((0, 1, 0, 0, 0, -1), "sagittal"),
        ((1, 0, 0, 0, 0, -1), "coronal"),
        ((1, 0, 0, 0, 0.9781, 0.2079), "axial"),  # 12° disc-angled axial
        ((1, 0, 0, 0, 0.8829, 0.4695), "axial"),  # 28°
        ((1, 0, 0, 0, 0.8480, 0.5299), "oblique"),  # 32°
        ((1, 0, 0, 0, 0.7071, 0.7071), "oblique"),  # 45°
        (None, "unknown"),
    ],
)
def test_orientation_label(iop, label) -> None:
    assert orientation_label(iop) == label


def test_alloc_large_is_writable_and_sized() -> None:
    arr = alloc((40, 512, 512), np.int16)  # 20 MiB: the populated-mapping path on Linux
    assert arr.shape == (40, 512, 512) and arr.dtype == np.int16
    arr[...] = 7
    assert int(arr[39, 511, 511]) == 7
    small = alloc((2, 3, 4), np.float32)
    assert small.shape == (2, 3, 4)


def test_discovery_get_by_key_or_uid(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((2, 4, 4)))
    write_series(tmp_path, spec)
    found = discover(tmp_path)
    assert found.get(spec.series_uid) is found.series[0]
    with pytest.raises(KeyError):
        found.get("1.2.3.4")


def test_importing_blockplan_io_loads_no_gui_or_simpleitk() -> None:
    code = (
        "import sys, blockplan.io; "
        "bad = [m for m in ('napari', 'qtpy', 'PyQt6', 'SimpleITK', 'vispy', 'magicgui') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_messages_and_reasons_carry_no_patient_values(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((3, 4, 4)), image_type=("ORIGINAL", "MOSAIC"))
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    text = " ".join(s.reasons) + s.label
    for value in ("SYNTHETIC", "PHANTOM", "SYNTH-0001", "19000101"):
        assert value not in text
