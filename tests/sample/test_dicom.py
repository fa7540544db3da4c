"""The committed sample study is valid, synthetic-by-its-tags DICOM of sensible size."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.uid import JPEGLSLossless, RLELossless

SERIES = {
    2: ("CT", "CT LUMBAR SPINE BONE 1.0", "S0002_CT"),
    3: ("MR", "T2 SAG", "S0003_MR_T2_SAG"),
    4: ("MR", "T1 AX POST GD", "S0004_MR_T1_AX_GD"),
    5: ("MR", "T1 AX POST GD FS", "S0005_MR_T1_AX_GD_FS"),
}


def _dicom_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.dcm"))


def _headers(root: Path) -> list[pydicom.Dataset]:
    return [pydicom.dcmread(p, stop_before_pixels=True) for p in _dicom_files(root)]


def test_folder_under_25_mb(committed: Path) -> None:
    total = sum(p.stat().st_size for p in committed.rglob("*") if p.is_file())
    assert total <= 25 * 1024 * 1024, f"sample_dicom/ is {total / 1e6:.1f} MB"


def test_four_series_with_expected_names_one_study_one_frame(committed: Path) -> None:
    headers = _headers(committed)
    by_series: dict[int, list[Any]] = {}
    for ds in headers:
        by_series.setdefault(int(ds.SeriesNumber), []).append(ds)
    assert sorted(by_series) == [2, 3, 4, 5]
    for number, (modality, description, folder) in SERIES.items():
        first = by_series[number][0]
        assert (first.Modality, first.SeriesDescription) == (modality, description)
        assert {ds.SeriesInstanceUID for ds in by_series[number]} == {first.SeriesInstanceUID}
        numbers = sorted(int(ds.InstanceNumber) for ds in by_series[number])
        assert numbers == list(range(1, len(numbers) + 1))
        assert (committed / folder).is_dir()
    assert len({ds.StudyInstanceUID for ds in headers}) == 1
    assert len({ds.FrameOfReferenceUID for ds in headers}) == 1
    assert len({ds.SOPInstanceUID for ds in headers}) == len(headers)


def test_every_file_says_it_is_synthetic(committed: Path) -> None:
    for ds in _headers(committed):
        assert str(ds.PatientName) == "PHANTOM^LUMBAR"
        assert ds.PatientID == "SYNTH-0001"
        assert "SYNTHETIC PHANTOM" in ds.PatientComments
        assert "not patient data" in ds.ImageComments
        assert ds.BurnedInAnnotation == "NO"
        assert ds.StudyDate == "20260315"


def test_lossless_compression_and_transfer_syntaxes(committed: Path) -> None:
    syntaxes = {}
    for number, (_m, _d, folder) in SERIES.items():
        metas = {
            pydicom.dcmread(p, stop_before_pixels=True).file_meta.TransferSyntaxUID
            for p in (committed / folder).glob("*.dcm")
        }
        assert len(metas) == 1
        syntaxes[number] = metas.pop()
    assert syntaxes[2] == JPEGLSLossless
    assert syntaxes[3] == RLELossless
    assert syntaxes[4].is_little_endian and not syntaxes[4].is_compressed
    assert syntaxes[5] == RLELossless
    for ds in _headers(committed):
        assert ds.LossyImageCompression == "00"


def test_ct_geometry_and_values_sensible(committed: Path) -> None:
    headers = [h for h in _headers(committed) if h.Modality == "CT"]
    first = min(headers, key=lambda d: d.InstanceNumber)
    assert [float(v) for v in first.PixelSpacing] == [0.7, 0.7]
    assert float(first.SliceThickness) <= 1.5
    assert (first.Rows, first.Columns) == (256, 256)
    assert float(first.RescaleIntercept) == -1024.0
    zs = sorted(float(h.ImagePositionPatient[2]) for h in headers)
    assert all(abs((b - a) - 1.0) < 1e-6 for a, b in itertools.pairwise(zs))


def _dciodvfy_errors(path: Path) -> list[str]:
    proc = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    return [line for line in lines if line.startswith("Error")]


def test_dciodvfy_reports_no_errors_on_any_file(committed: Path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip(
            "dciodvfy (Debian package dicom3tools) is not installed; `make test` installs it"
        )
    problems = {}
    for path in _dicom_files(committed):
        errors = _dciodvfy_errors(path)
        if errors:
            problems[str(path.relative_to(committed))] = errors
    assert problems == {}
