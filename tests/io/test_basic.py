"""Discovery and loading of plain uncompressed series: values, affine, metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blockplan.errors import DicomInputError
from blockplan.io import SeriesInfo, discover, load_path, load_series
from tests.io._dicom_factory import SeriesSpec, phantom, write_series
from tests.io.conftest import assert_geometry


def test_axial_ct_values_affine_and_metadata(tmp_path: Path, unchanged) -> None:
    vol_stored = phantom((6, 20, 16))
    spec = SeriesSpec(vol_stored)
    # write files in reverse InstanceNumber to prove sorting by position
    write_series(tmp_path / "s", spec, indices=[5, 2, 0, 4, 1, 3])
    unchanged(tmp_path)
    found = discover(tmp_path)
    assert [s.status for s in found.series] == ["ok"]
    s = found.series[0]
    assert isinstance(s, SeriesInfo)
    assert (s.orientation, s.rows, s.columns, s.n_images) == ("axial", 20, 16, 6)
    assert s.shape == (6, 20, 16)
    assert s.key == spec.series_uid
    assert s.series_number == 3 and s.modality == "CT"
    vol = load_series(s)
    assert vol.array.dtype == np.int16
    np.testing.assert_array_equal(vol.array, vol_stored - 1024)
    assert_geometry(vol, spec)
    np.testing.assert_allclose(vol.spacing, (0.7, 0.8, 2.5), atol=1e-6)
    np.testing.assert_allclose(vol.affine, s.affine)
    assert vol.geometry_note == "regular"
    assert vol.frame_of_reference_uid == spec.for_uid
    assert vol.metadata["Manufacturer"] == "blockplan synthetic"
    assert vol.metadata["KVP"] == 120.0
    assert not {"PatientName", "PatientID", "PatientBirthDate"} & set(vol.metadata)
    assert "SYNTHETIC" not in repr(vol.metadata)
    assert [w.name for w in vol.windows][:2] == ["bone", "soft tissue"]
    assert len(vol.sop_instance_uids) == 6


def test_header_windows_and_explanations(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((3, 8, 8)), windows=[(300, 1500, "BONE"), (40, 350, "SOFT")])
    write_series(tmp_path, spec)
    vol = load_series(discover(tmp_path).series[0])
    assert [(w.name, w.center, w.width) for w in vol.windows] == [
        ("BONE", 300, 1500),
        ("SOFT", 40, 350),
    ]


def test_mr_without_window_gets_auto_window_and_keeps_uint16(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((3, 8, 8), dtype="uint16"), modality="MR", intercept=0.0)
    write_series(tmp_path, spec)
    vol = load_series(discover(tmp_path).series[0])
    assert vol.array.dtype == np.uint16
    assert vol.windows[0].name.startswith("auto")


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(DicomInputError, match="no such file or folder"):
        discover(tmp_path / "nope")


def test_load_path_of_empty_folder_raises(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("nothing here")
    with pytest.raises(DicomInputError, match="no loadable image series"):
        load_path(tmp_path)
