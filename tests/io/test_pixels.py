"""Pixel values: transfer syntaxes, rescale and integer types, multi-frame, damaged files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut
from pydicom.uid import (
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)

from blockplan.errors import DicomReadWarning, SeriesRefusedError
from blockplan.io import discover, load_path, load_series
from tests.io._dicom_factory import (
    EncoderUnavailable,
    SeriesSpec,
    phantom,
    write_enhanced,
    write_series,
)
from tests.io.conftest import assert_geometry

TRANSFER_SYNTAXES = [
    ImplicitVRLittleEndian,
    ExplicitVRBigEndian,
    RLELossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEG2000Lossless,
]


@pytest.mark.parametrize("tsuid", TRANSFER_SYNTAXES, ids=lambda u: pydicom.uid.UID(u).keyword)
@pytest.mark.parametrize("dtype", ["int16", "uint16"])
def test_transfer_syntax_decodes_identical_to_uncompressed(
    tmp_path: Path, unchanged, tsuid: str, dtype: str
) -> None:
    stored = phantom((4, 64, 48), dtype=dtype)
    if dtype == "int16":
        stored = (stored - 1800).astype(np.int16)  # negative stored values too
    spec = SeriesSpec(stored)
    try:
        write_series(tmp_path / "c", spec, tsuid=tsuid)
    except EncoderUnavailable as err:
        pytest.skip(str(err))
    unchanged(tmp_path)
    s = discover(tmp_path / "c").series[0]
    assert s.transfer_syntaxes == [tsuid]
    assert s.status == "ok", s.reasons
    vol = load_series(s)
    np.testing.assert_array_equal(vol.array, stored.astype(np.int32) - 1024)
    assert vol.metadata["TransferSyntaxUID"] == tsuid
    assert_geometry(vol, spec)


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
    ],
)
def test_pydicom_bundled_files(name: str) -> None:
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    ds = pydicom.dcmread(path)
    vol = load_series(discover(path).series[0])
    want = apply_modality_lut(ds.pixel_array, ds)
    np.testing.assert_array_equal(vol.array[0], want)
    np.testing.assert_allclose(
        vol.index_to_lps([0, 0, 0]), [float(v) for v in ds.ImagePositionPatient]
    )
    assert vol.frame_of_reference_uid == ds.FrameOfReferenceUID


def test_uint16_bits_stored_12_masks_high_bits_and_gives_int16(tmp_path: Path) -> None:
    clean = phantom((3, 8, 8), dtype="uint16") % 4096
    dirty = clean | np.uint16(0x6000)  # overlay bits above BitsStored
    write_series(tmp_path, SeriesSpec(dirty, bits_stored=12))
    vol = load_series(discover(tmp_path).series[0])
    assert vol.array.dtype == np.int16
    np.testing.assert_array_equal(vol.array, clean.astype(np.int32) - 1024)


def test_int16_bits_stored_12_sign_extends(tmp_path: Path) -> None:
    values = np.array([-2048, -5, 0, 7, 2047], dtype=np.int16)
    stored = np.resize(values, (2, 4, 5)).astype(np.int16)
    raw = (stored.view(np.uint16) & np.uint16(0x0FFF)).view(np.int16)  # 12-bit two's complement
    write_series(tmp_path, SeriesSpec(raw, bits_stored=12, intercept=0.0))
    vol = load_series(discover(tmp_path).series[0])
    np.testing.assert_array_equal(vol.array, stored)


def test_uint16_full_range_with_intercept_needs_int32(tmp_path: Path) -> None:
    stored = phantom((2, 6, 6), dtype="uint16")
    stored[0, 0, 0] = 60000
    write_series(tmp_path, SeriesSpec(stored))
    vol = load_series(discover(tmp_path).series[0])
    assert vol.array.dtype == np.int32
    assert vol.array[0, 0, 0] == 60000 - 1024


def test_non_integer_slope_gives_float32_and_per_slice_rescale(tmp_path: Path) -> None:
    stored = phantom((3, 6, 6), dtype="uint16")
    write_series(tmp_path, SeriesSpec(stored, slope=[0.5, 0.25, 2.0], intercept=[0.0, 10.0, -3.5]))
    vol = load_series(discover(tmp_path).series[0])
    assert vol.array.dtype == np.float32
    want = (
        stored * np.array([0.5, 0.25, 2.0])[:, None, None]
        + np.array([0.0, 10.0, -3.5])[:, None, None]
    )
    np.testing.assert_allclose(vol.array, want, rtol=1e-6)


def test_enhanced_multiframe_per_frame_position_and_rescale(tmp_path: Path, unchanged) -> None:
    stored = phantom((5, 12, 10))
    spec = SeriesSpec(stored)
    order = [3, 0, 4, 1, 2]  # frames stored out of spatial order
    spec.volume = stored[order]
    spec.positions = [tuple(SeriesSpec(stored).slice_positions()[k]) for k in order]
    intercepts = [-1024.0, -1000.0, -900.0, -1024.0, -10.0]
    write_enhanced(tmp_path / "mf.dcm", spec, per_frame_intercepts=intercepts)
    unchanged(tmp_path)
    s = discover(tmp_path).series[0]
    assert (s.n_images, s.status, s.files) == (5, "ok", [str(tmp_path / "mf.dcm")])
    vol = load_series(s)
    back = np.argsort(order)
    want = spec.volume.astype(np.int32) + np.array(intercepts)[:, None, None].astype(np.int32)
    np.testing.assert_array_equal(vol.array, want[back])
    assert_geometry(vol, spec, file_order=list(back))


def _truncate(path: Path, keep: int) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - keep])


def test_truncated_file_at_stack_end_skipped_with_warning(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((5, 16, 16)))
    paths = write_series(tmp_path, spec)
    _truncate(paths[4], 100)
    s = discover(tmp_path).series[0]
    assert s.status == "warnings" and "IM0004.dcm" in s.reasons[0]
    with pytest.warns(DicomReadWarning, match=r"Series 3 .*skipped IM0004\.dcm \(file truncated"):
        vol = load_series(s)
    assert vol.shape == (4, 16, 16)
    np.testing.assert_array_equal(vol.array, spec.volume[:4] - 1024)


def test_truncated_file_in_the_middle_refuses_the_series(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((5, 16, 16)))
    paths = write_series(tmp_path, spec)
    _truncate(paths[2], 100)
    s = discover(tmp_path).series[0]
    assert s.status == "refused" and "IM0002.dcm leave a gap" in s.reasons[0]
    with pytest.raises(
        SeriesRefusedError, match=r"unreadable file\(s\) IM0002\.dcm leave a gap.*allow_gaps=True"
    ):
        load_series(s)
    with (
        pytest.warns(DicomReadWarning, match="skipped IM0002"),
        pytest.warns(Warning, match="resampled 4 slices to 5"),
    ):
        vol = load_series(s, allow_gaps=True)
    assert vol.shape == (5, 16, 16)


def test_corrupt_compressed_frame_found_while_decoding(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((5, 16, 16)))
    paths = write_series(tmp_path, spec, tsuid=RLELossless)
    data = bytearray(paths[2].read_bytes())
    # damage the RLE segments, keep the file length and the sequence delimiter (its
    # last 8 bytes: damaging those is now found by discovery, test_hostile_input.py)
    data[-208:-8] = b"\xff" * 200
    paths[2].write_bytes(bytes(data))
    s = discover(tmp_path).series[0]
    assert s.status == "ok"  # headers are fine: the damage shows only when decoding
    with pytest.raises(SeriesRefusedError, match=r"IM0002\.dcm leave a gap"):
        load_series(s)


def test_garbage_after_preamble_skipped_as_unreadable(tmp_path: Path) -> None:
    write_series(tmp_path, SeriesSpec(phantom((2, 4, 4))))
    (tmp_path / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + os.urandom(64))
    found = discover(tmp_path)
    assert len(found.series) == 1
    reason = next(s.reason for s in found.skipped if s.path.endswith("broken.dcm"))
    assert reason.startswith(("unreadable DICOM", "non-image object", "not a DICOM file"))


def test_load_path_warns_for_refused_series(tmp_path: Path) -> None:
    write_series(tmp_path / "good", SeriesSpec(phantom((3, 6, 6))))
    bad = SeriesSpec(
        phantom((3, 6, 6)), series_number=9, image_type=("ORIGINAL", "PRIMARY", "MOSAIC")
    )
    write_series(tmp_path / "bad", bad)
    with pytest.warns(DicomReadWarning, match=r"Series 9 .*MOSAIC.*series skipped"):
        vols = load_path(tmp_path)
    assert [v.series_number for v in vols] == [3]


def test_enhanced_multiframe_rle_compressed(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((4, 16, 12)))
    path = write_enhanced(tmp_path / "mf.dcm", spec)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless, generate_instance_uid=False)
    ds.save_as(path, enforce_file_format=True)
    s = discover(tmp_path).series[0]
    assert s.transfer_syntaxes == [RLELossless]
    vol = load_series(s)
    np.testing.assert_array_equal(vol.array, spec.volume - 1024)
    assert_geometry(vol, spec)


def test_deflated_transfer_syntax(tmp_path: Path) -> None:
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    spec = SeriesSpec(phantom((3, 8, 8)))
    paths = write_series(tmp_path, spec)
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
        ds.save_as(p, enforce_file_format=True)
    s = discover(tmp_path).series[0]
    assert s.transfer_syntaxes == [DeflatedExplicitVRLittleEndian]
    np.testing.assert_array_equal(load_series(s).array, spec.volume - 1024)


@pytest.mark.parametrize(
    "tsuid", [JPEGLosslessSV1, JPEGLSLossless], ids=["jpeg-lossless", "jpeg-ls"]
)
def test_fast_decoders_are_used_and_exact(tmp_path: Path, tsuid: str) -> None:
    from blockplan.io._pixels import _decode_one, _gdcm_into, _jpeg_ls_direct

    stored = (phantom((1, 64, 48)) - 1800).astype(np.int16)
    try:
        write_series(tmp_path, SeriesSpec(stored), tsuid=tsuid)
    except EncoderUnavailable as err:
        pytest.skip(str(err))
    frame = discover(tmp_path).series[0].frames[0]
    if tsuid == JPEGLosslessSV1:
        pytest.importorskip("gdcm")
        dest = np.empty((64, 48), np.int16)
        assert _gdcm_into(frame, dest)
    else:
        pytest.importorskip("jpeg_ls")
        got = _jpeg_ls_direct(frame)
        assert got is not None
        dest = got
    np.testing.assert_array_equal(dest, stored[0])
    np.testing.assert_array_equal(_decode_one(frame), stored[0])  # pydicom fallback agrees


def test_every_bundled_pydicom_file_loads_or_is_refused_with_reason() -> None:
    import warnings

    root = Path(get_testdata_file("CT_small.dcm", download=False)).parent
    found = discover(root)
    assert len(found.series) > 10 and found.skipped
    assert all(s.reason for s in found.skipped)
    loaded = 0
    for s in found.series:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            try:
                vol = load_series(s)
            except SeriesRefusedError as err:
                assert str(err).startswith(s.label)
                continue
        assert s.status != "refused"
        assert np.all(np.isfinite(vol.affine))
        loaded += 1
    assert loaded > 10
