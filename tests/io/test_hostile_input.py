"""The loader under hostile and imperfect input (issue 16): bounded, never silent.

Every fixture is a real file written with pydicom (and damaged the way interrupted
copies, lying headers and bit rot damage files); nothing is mocked.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from blockplan.errors import (
    DicomInputError,
    DicomReadWarning,
    GeometryWarning,
    SeriesRefusedError,
)
from blockplan.io import discover, load_series
from blockplan.io._sandbox import FrameDecodeError, decode_in_worker
from tests.io._dicom_factory import EncoderUnavailable, SeriesSpec, phantom, write_series

COMPRESSED = [RLELossless, JPEGLosslessSV1, JPEGLSLossless, JPEG2000Lossless]
_ids = [pydicom.uid.UID(u).keyword for u in COMPRESSED]


def _write(folder: Path, tsuid: str, n: int = 5, size: int = 32) -> tuple[SeriesSpec, list[Path]]:
    spec = SeriesSpec(phantom((n, size, size)))
    try:
        paths = write_series(folder, spec, tsuid=tsuid)
    except EncoderUnavailable as err:
        pytest.skip(str(err))
    return spec, paths


def _rewrap(path: Path, keep: int) -> None:
    """Re-encapsulate the file's one frame cut to ``keep`` bytes: the item structure is
    whole, only the codestream is short (a copy tool that re-wrote what it read)."""
    ds = pydicom.dcmread(path)
    frame = next(generate_frames(ds.PixelData, number_of_frames=1))
    cut = frame[:keep]
    ds.PixelData = encapsulate([cut + b"\0" * (len(cut) % 2)])
    ds.save_as(path, enforce_file_format=True)


# --- point 1: bounded resources ------------------------------------------------------
def test_fifo_in_study_folder_is_skipped_without_opening_it(tmp_path: Path) -> None:
    write_series(tmp_path, SeriesSpec(phantom((3, 8, 8))))
    os.mkfifo(tmp_path / "pipe.dcm")
    found: list[object] = []
    scan = threading.Thread(target=lambda: found.append(discover(tmp_path)), daemon=True)
    scan.start()
    scan.join(timeout=60)  # a FIFO opened for reading blocks until a writer appears
    assert not scan.is_alive(), "discovery blocked on the FIFO"
    result = found[0]
    assert len(result.series) == 1 and result.series[0].n_images == 3  # type: ignore[attr-defined]
    reasons = {Path(s.path).name: s.reason for s in result.skipped}  # type: ignore[attr-defined]
    assert reasons["pipe.dcm"].startswith("a FIFO (named pipe), not a regular file")


def _lie(path: Path, **values: int) -> None:
    ds = pydicom.dcmread(path)
    for key, value in values.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)


def test_bomb_claiming_65535_squared_pixels_is_refused_before_allocating(tmp_path: Path) -> None:
    _, paths = _write(tmp_path, RLELossless, n=3, size=8)
    _lie(paths[1], Rows=65535, Columns=65535)
    found = discover(tmp_path)
    reason = next(s.reason for s in found.skipped if s.path == str(paths[1]))
    assert "Rows 65535 × Columns 65535 × 1 frame(s) × 2 byte(s)" in reason
    assert "BLOCKPLAN_MAX_SERIES_GIB" in reason


@pytest.mark.parametrize("tsuid", [ExplicitVRLittleEndian, RLELossless], ids=["native", "rle"])
def test_header_claiming_10_to_the_8_frames_is_skipped_with_the_numbers(
    tmp_path: Path, tsuid: str
) -> None:
    _, paths = _write(tmp_path, tsuid, n=2, size=4)
    _lie(paths[0], NumberOfFrames=100_000_000)
    found = discover(tmp_path)  # header pass: no frame record per claimed frame
    reason = next(s.reason for s in found.skipped if s.path == str(paths[0]))
    assert "100000000" in reason
    assert [s.n_images for s in found.series] == [1]


def test_deflate_bomb_is_refused_before_pydicom_inflates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    paths = write_series(tmp_path, SeriesSpec(phantom((3, 8, 8))))
    ds = pydicom.dcmread(paths[1])
    ds.add_new(0x00091010, "OB", bytes(24 << 20))  # 24 MiB of zeros deflate to ~24 KiB
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(paths[1], enforce_file_format=True)
    assert paths[1].stat().st_size < 1 << 20
    monkeypatch.setenv("BLOCKPLAN_MAX_SERIES_GIB", "0.01")  # ~10 MiB
    found = discover(tmp_path)
    reason = next(s.reason for s in found.skipped if s.path == str(paths[1]))
    assert reason.startswith("refused: the deflated data set inflates beyond 10.2 MiB")
    monkeypatch.delenv("BLOCKPLAN_MAX_SERIES_GIB")
    assert [s.n_images for s in discover(tmp_path).series] == [3]  # a real one: read


def test_ceiling_from_the_environment_refuses_a_series_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_series(tmp_path, SeriesSpec(phantom((40, 64, 64))))  # 320 KiB stored
    monkeypatch.setenv("BLOCKPLAN_MAX_SERIES_GIB", "0.0001")  # ~105 KiB
    s = discover(tmp_path).series[0]
    assert s.status == "refused"
    assert "40 frame(s)" in s.reasons[0] and "above the limit of 0.1 MiB" in s.reasons[0]
    with pytest.raises(SeriesRefusedError, match=r"Series 3 .*BLOCKPLAN_MAX_SERIES_GIB"):
        load_series(s)
    monkeypatch.setenv("BLOCKPLAN_MAX_SERIES_GIB", "lots")
    with pytest.raises(DicomInputError, match=r"BLOCKPLAN_MAX_SERIES_GIB: expected a positive"):
        discover(tmp_path)


def test_worker_over_its_time_budget_is_replaced_and_the_frame_refused(tmp_path: Path) -> None:
    _, paths = _write(tmp_path, JPEGLSLossless, n=1, size=16)
    frame = discover(tmp_path).series[0].frames[0]
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)  # the fallback decoder opens it and blocks: a decoder that hangs
    hanging = type(frame).__new__(type(frame))
    for name in type(frame).__slots__:
        object.__setattr__(hanging, name, getattr(frame, name))
    object.__setattr__(hanging, "path", str(pipe))
    with pytest.raises(FrameDecodeError, match=r"no decoder finished within 2 s"):
        decode_in_worker(hanging, timeout_s=2.0)
    got = decode_in_worker(frame)  # a fresh worker serves the next frame
    np.testing.assert_array_equal(got, pydicom.dcmread(paths[0]).pixel_array)


# --- point 2: never silent -------------------------------------------------------------
@pytest.mark.parametrize("tsuid", COMPRESSED, ids=_ids)
def test_truncated_copy_of_a_compressed_slice_is_named_at_discovery(
    tmp_path: Path, tsuid: str
) -> None:
    spec, paths = _write(tmp_path, tsuid)
    data = paths[2].read_bytes()
    paths[2].write_bytes(data[: len(data) * 2 // 3])  # an interrupted copy
    s = discover(tmp_path).series[0]
    assert s.status == "refused" and "IM0002.dcm leave a gap" in s.reasons[0]
    with pytest.raises(SeriesRefusedError, match=r"IM0002\.dcm leave a gap"):
        load_series(s)
    with (
        pytest.warns(DicomReadWarning, match=r"skipped IM0002\.dcm \(file truncated"),
        pytest.warns(GeometryWarning, match=r"resampled 4 slices to 5"),
    ):
        vol = load_series(s, allow_gaps=True)
    np.testing.assert_array_equal(vol.array[[0, 1, 3, 4]], spec.volume[[0, 1, 3, 4]] - 1024)


@pytest.mark.parametrize("tsuid", COMPRESSED, ids=_ids)
def test_rewrapped_short_codestream_is_refused_never_loaded_as_whole(
    tmp_path: Path, tsuid: str
) -> None:
    spec, paths = _write(tmp_path, tsuid)
    _rewrap(paths[4], 200)
    s = discover(tmp_path).series[0]
    if tsuid != RLELossless:  # the end marker is checked from the header pass already
        assert s.status == "warnings"
        assert "IM0004.dcm: codestream ends without its end marker" in s.reasons[0]
    named = r"skipped IM0004\.dcm \((codestream ends without|cannot decode pixel data \(RLE)"
    with pytest.warns(DicomReadWarning, match=named):
        vol = load_series(s)
    assert vol.shape[0] == 4
    np.testing.assert_array_equal(vol.array, spec.volume[:4] - 1024)


def test_codestream_declaring_another_size_than_the_header_is_refused(tmp_path: Path) -> None:
    _, paths = _write(tmp_path, JPEGLSLossless)
    data = bytearray(paths[4].read_bytes())
    sof = data.index(b"\xff\xf7")  # JPEG-LS SOF55: length(2) P(1) Y(2) X(2)
    data[sof + 5 : sof + 7] = (40000).to_bytes(2, "big")
    paths[4].write_bytes(bytes(data))
    s = discover(tmp_path).series[0]
    assert "codestream declares 32×40000 pixels" in s.reasons[0]


def test_nan_rescale_slope_never_reads_as_one(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((4, 8, 8)))

    def nan_slope(ds: pydicom.Dataset, k: int) -> None:
        if k == 3:
            ds.RescaleSlope = "NaN"

    write_series(tmp_path, spec, edit=nan_slope)
    s = discover(tmp_path).series[0]
    assert "IM0003.dcm" in s.reasons[0]
    with pytest.warns(DicomReadWarning, match=r"IM0003\.dcm \(RescaleSlope is 'NaN', not a finite"):
        vol = load_series(s)
    assert vol.shape[0] == 3


def test_rescale_overflowing_to_infinity_is_refused_naming_the_file(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((3, 8, 8)), slope=[1.0, 1e308, 1.0])
    write_series(tmp_path, spec)
    with pytest.raises(
        SeriesRefusedError, match=r"RescaleSlope 1e\+308 .* of IM0001\.dcm give values that are"
    ):
        load_series(discover(tmp_path).series[0])


def test_non_orthonormal_orientation_is_refused_with_its_value(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((3, 8, 8)), col_dir=(0.3, 0.954, 0.0))
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    assert s.status == "refused"
    assert "ImageOrientationPatient 1\\0\\0\\0.3\\0.954\\0 is not two perpendicular" in s.reasons[0]
    with pytest.raises(SeriesRefusedError, match=r"angle 72\.\d+°"):
        load_series(s)


def test_degenerate_pixel_spacing_is_a_refusal_not_a_value_error(tmp_path: Path) -> None:
    write_series(tmp_path, SeriesSpec(phantom((3, 8, 8)), pixel_spacing=(1e-9, 0.7)))
    s = discover(tmp_path).series[0]
    with pytest.raises(SeriesRefusedError, match=r"PixelSpacing 1e-09\\0\.7 mm is outside"):
        load_series(s)


# --- point 3: duplicates -----------------------------------------------------------------
@pytest.mark.parametrize("tsuid", [ExplicitVRLittleEndian, JPEGLSLossless], ids=["native", "jls"])
def test_duplicate_instance_keeps_the_intact_copy(tmp_path: Path, tsuid: str) -> None:
    spec, paths = _write(tmp_path / "b", tsuid)
    copy = tmp_path / "a" / "IM0002.dcm"  # sorts first: the truncated copy
    copy.parent.mkdir()
    data = paths[2].read_bytes()
    copy.write_bytes(data[: len(data) - 100])
    s = discover(tmp_path).series[0]
    assert s.status == "warnings", s.reasons
    assert s.reasons == [
        "1 duplicate copies of the same instances ignored (the intact copy of each kept)"
    ]
    assert str(copy) not in s.files and str(paths[2]) in s.files
    np.testing.assert_array_equal(load_series(s).array, spec.volume - 1024)
