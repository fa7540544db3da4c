"""Geometry traps: gantry tilt, irregular spacing, missing slice, sagittal/oblique, single slice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from blockplan.errors import GeometryWarning, SeriesRefusedError
from blockplan.io import discover, load_series
from tests.io._dicom_factory import SeriesSpec, linear_phantom, phantom, write_series
from tests.io.conftest import assert_geometry


def _tilted(theta_deg: float, shape: tuple[int, int, int] = (8, 24, 20)) -> SeriesSpec:
    t = math.radians(theta_deg)
    return SeriesSpec(
        linear_phantom(shape),
        col_dir=(0.0, math.cos(t), math.sin(t)),
        slice_step=(0.0, 0.0, 2.5),  # table moves along z; the image plane is tilted
    )


def _tilted_by_position(theta_deg: float) -> SeriesSpec:
    # Other scanners keep an axial ImageOrientationPatient and shift each slice along y.
    t = math.radians(theta_deg)
    return SeriesSpec(linear_phantom((8, 24, 20)), slice_step=(0.0, 2.5 * math.tan(t), 2.5))


@pytest.mark.parametrize("make", [_tilted, _tilted_by_position], ids=["tilted-iop", "shifted-ipp"])
def test_gantry_tilt_shear_keeps_header_positions(tmp_path: Path, unchanged, make) -> None:
    spec = make(15.0)
    write_series(tmp_path, spec)
    unchanged(tmp_path)
    s = discover(tmp_path).series[0]
    assert s.status == "warnings"
    assert "gantry tilt 15.0°" in s.reasons[0]
    vol = load_series(s)
    assert vol.geometry_note == "sheared (gantry tilt 15.0°)"
    np.testing.assert_allclose(vol.affine[:3, 2], spec.slice_step, atol=1e-4)
    assert not vol.is_orthogonal
    assert_geometry(vol, spec)
    # stacking orthogonally would misplace the last slice by millimetres (tens in real series)
    along = float(np.dot(spec.slice_positions()[-1] - spec.origin, spec.normal))
    naive = np.asarray(spec.origin) + along * spec.normal
    assert np.linalg.norm(spec.slice_positions()[-1] - naive) > 4.0


def test_gantry_tilt_resample_matches_source_at_lps_points(tmp_path: Path) -> None:
    spec = _tilted(20.0)
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    sheared = load_series(s)
    ortho = load_series(s, tilt="resample")
    assert ortho.is_orthogonal
    assert ortho.geometry_note.startswith("resampled to an orthogonal grid (gantry tilt 20.0°")
    assert ortho.shape[0] == sheared.shape[0]
    assert ortho.shape[1] > sheared.shape[1]  # covers the acquired (sheared) extent
    assert ortho.array.dtype == sheared.array.dtype
    rng = np.random.default_rng(1)
    ijk = np.column_stack(
        [rng.uniform(1, 18, 50), rng.uniform(3, 20, 50), rng.uniform(0.2, 6.8, 50)]
    )
    pts = sheared.index_to_lps(ijk)
    want = sheared.sample_lps(pts)
    got = ortho.sample_lps(pts)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, atol=1.0)
    # every acquired voxel centre lies inside the resampled grid
    corners = sheared.index_to_lps([[0, 0, 0], [19, 23, 7], [0, 23, 7], [19, 0, 0]])
    assert all(ortho.contains_lps(c, margin=0.01) for c in corners)


def test_irregular_spacing_refused_with_named_series_and_option(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((5, 12, 10)))
    z = [0.0, 2.5, 5.0, 9.0, 11.5]
    spec.positions = [(-100.0, -120.0, 50.0 + v) for v in z]
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    assert s.status == "refused"
    assert s.shape is None and s.affine is None
    assert "allow_gaps=True" in s.reasons[0]
    with pytest.raises(
        SeriesRefusedError,
        match=rf"Series 3 \(UID {spec.series_uid}\): slice spacing varies 2\.50–4\.00 mm"
        r".*allow_gaps=True",
    ):
        load_series(s)


def test_irregular_spacing_allowed_resamples_to_regular(tmp_path: Path) -> None:
    spec = SeriesSpec(linear_phantom((5, 12, 10)))
    z = [0.0, 2.0, 4.0, 7.0, 9.0]
    spec.positions = [(-100.0, -120.0, 50.0 + v) for v in z]
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    with pytest.warns(
        GeometryWarning, match=r"Series 3 .*resampled 5 slices to 5 at regular spacing 2\.25 mm"
    ):
        vol = load_series(s, allow_gaps=True)
    assert vol.geometry_note == "resampled to regular spacing 2.25 mm"
    assert vol.shape == (5, 12, 10)
    np.testing.assert_allclose(vol.spacing[2], 2.25)
    # first and last slices sit where the headers put them
    np.testing.assert_allclose(vol.index_to_lps([0, 0, 0]), spec.truth_lps(0, 0, 0), atol=1e-6)
    np.testing.assert_allclose(vol.index_to_lps([0, 0, 4]), spec.truth_lps(0, 0, 4), atol=1e-6)
    # value at z = 2.25 is linear between source slices 1 (z=2) and 2 (z=4)
    src = spec.volume.astype(float) - 1024
    np.testing.assert_allclose(vol.array[1], np.rint(src[1] * 0.875 + src[2] * 0.125), atol=0.5)


def test_missing_slice_refused_then_filled(tmp_path: Path, unchanged) -> None:
    spec = SeriesSpec(linear_phantom((8, 12, 10)))
    write_series(tmp_path, spec, indices=[0, 1, 2, 4, 5, 6, 7])
    unchanged(tmp_path)
    s = discover(tmp_path).series[0]
    with pytest.raises(SeriesRefusedError, match=r"2\.50–5\.00 mm .*a slice is missing"):
        load_series(s)
    with pytest.warns(GeometryWarning, match="resampled 7 slices to 8"):
        vol = load_series(s, allow_gaps=True)
    assert vol.shape == (8, 12, 10)
    np.testing.assert_array_equal(vol.array, spec.volume - 1024)  # linear data: exact
    assert_geometry(vol, spec)


@pytest.mark.parametrize(
    ("row_dir", "col_dir", "label"),
    [
        ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0), "sagittal"),
        ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), "coronal"),
        (
            (math.cos(0.7), math.sin(0.7), 0.0),
            (-math.sin(0.7) * math.cos(0.8), math.cos(0.7) * math.cos(0.8), -math.sin(0.8)),
            "oblique",
        ),
    ],
)
def test_sagittal_coronal_oblique(tmp_path: Path, row_dir, col_dir, label) -> None:
    spec = SeriesSpec(
        phantom((5, 14, 11)), row_dir=row_dir, col_dir=col_dir, modality="MR", intercept=0.0
    )
    spec.slice_step = tuple(spec.normal * 3.0)
    write_series(tmp_path, spec, indices=[4, 3, 2, 1, 0])
    s = discover(tmp_path).series[0]
    assert s.orientation == label
    assert s.status == "ok"
    vol = load_series(s)
    assert vol.geometry_note == "regular"
    assert vol.is_orthogonal
    assert_geometry(vol, spec)
    np.testing.assert_array_equal(vol.array, spec.volume)


def test_slices_sorted_by_normal_projection_not_instance_number(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((4, 6, 6)))
    spec.slice_step = (0.0, 0.0, -2.5)  # feet-first: z decreases with instance number
    write_series(tmp_path, spec)
    vol = load_series(discover(tmp_path).series[0])
    assert vol.affine[2, 2] > 0  # slices ascending along the normal
    assert_geometry(vol, spec, file_order=[3, 2, 1, 0])
    np.testing.assert_array_equal(vol.array, spec.volume[::-1] - 1024)


def test_single_slice_uses_slice_thickness(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((1, 8, 8)), slice_thickness=3.0)
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    assert s.status == "warnings"
    vol = load_series(s)
    assert vol.shape == (1, 8, 8)
    assert vol.geometry_note == "single slice; slice step from SliceThickness 3.00 mm"
    np.testing.assert_allclose(vol.spacing[2], 3.0)
    assert_geometry(vol, spec)


def test_single_slice_without_thickness_refused(tmp_path: Path) -> None:
    write_series(tmp_path, SeriesSpec(phantom((1, 8, 8)), slice_thickness=None))
    s = discover(tmp_path).series[0]
    assert s.status == "refused"
    with pytest.raises(SeriesRefusedError, match=r"Series 3 .*single image without SliceThickness"):
        load_series(s)


def test_positions_off_a_line_refused_even_with_allow_gaps(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((4, 6, 6)))
    spec.positions = [(-100, -120, 50), (-100, -120, 52.5), (-97, -120, 56), (-100, -120, 57.5)]
    write_series(tmp_path, spec)
    with pytest.raises(SeriesRefusedError, match="off a straight line"):
        load_series(discover(tmp_path).series[0], allow_gaps=True)


def test_invalid_tilt_option(tmp_path: Path) -> None:
    write_series(tmp_path, SeriesSpec(phantom((2, 4, 4))))
    with pytest.raises(ValueError, match="tilt must be 'shear' or 'resample'"):
        load_series(discover(tmp_path).series[0], tilt="rotate")  # type: ignore[arg-type]
