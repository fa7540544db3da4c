"""The one resampler (blockplan.io.resample) against ground truth.

Trilinear interpolation reproduces a function that is affine in LPS exactly (it is affine
in the voxel index too), so images holding ``f(x, y, z) = 3x − 2y + 0.5z + 7`` give exact
expected values on any target grid, oblique and sheared ones included.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from blockplan.io.resample import index_map, resample_image, resample_mask, sample_points
from blockplan.io.volume import ImageVolume

FOR = "1.2.826.0.1.3680043.8.498.1"


def _rot(axis: int, deg: float) -> npt.NDArray[np.float64]:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    r = np.eye(3)
    a, b = [n for n in range(3) if n != axis]
    r[a, a], r[b, b], r[a, b], r[b, a] = c, c, -s, s
    return r


def _affine(m: npt.ArrayLike, origin: tuple[float, float, float]) -> npt.NDArray[np.float64]:
    aff = np.eye(4)
    aff[:3, :3] = m
    aff[:3, 3] = origin
    return aff


def _centres(aff: npt.NDArray[np.float64], shape: tuple[int, int, int]) -> npt.NDArray[np.float64]:
    """LPS of every voxel centre, shape ``shape + (3,)``."""
    kk, jj, ii = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    ijk = np.stack([ii, jj, kk], axis=-1).astype(np.float64)
    return np.asarray(ijk @ aff[:3, :3].T + aff[:3, 3])


def _f(lps: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(3.0 * lps[..., 0] - 2.0 * lps[..., 1] + 0.5 * lps[..., 2] + 7.0)


def _inside_hull(
    src: npt.NDArray[np.float64], shape: tuple[int, int, int], lps: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    ijk = (lps - src[:3, 3]) @ np.linalg.inv(src[:3, :3]).T
    upper = np.array(shape[::-1]) - 1
    return np.asarray(np.all((ijk > 1e-6) & (ijk < upper - 1e-6), axis=-1))


SRC_AXIAL = _affine(np.diag([0.8, 0.9, 2.5]), (-20.0, -25.0, -30.0))
SRC_SHEARED = _affine([[0.8, 0, 0], [0, 0.8, 0.9], [0, 0, 2.0]], (-20.0, -25.0, -30.0))  # tilt
SRC_SHAPE = (24, 56, 50)


def _linear_image(aff: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return _f(_centres(aff, SRC_SHAPE)).astype(np.float32)


# --- identity, permutations and flips: exact ------------------------------------------------
def test_identity_is_exact_for_images_and_masks() -> None:
    rng = np.random.default_rng(1)
    arr = rng.normal(0, 100, SRC_SHAPE).astype(np.float32)
    for order in ("linear", "nearest"):
        out = resample_image(arr, SRC_SHEARED, SRC_SHAPE, from_affine=SRC_SHEARED, order=order)
        assert np.array_equal(out, arr)  # edges included: nothing turns into fill
    mask = rng.random(SRC_SHAPE) > 0.7
    assert np.array_equal(resample_mask(mask, SRC_SHEARED, SRC_SHEARED, SRC_SHAPE), mask)
    ints = rng.integers(-1000, 2000, SRC_SHAPE, dtype=np.int16)
    same = resample_image(ints, SRC_AXIAL, SRC_SHAPE, from_affine=SRC_AXIAL, order="nearest")
    assert same.dtype == np.int16 and np.array_equal(same, ints)


def test_axis_permutation_and_flips_are_exact() -> None:
    # the display grid of a sagittal series: i → −y (flipped), j → −z (flipped), k → +x
    rng = np.random.default_rng(2)
    mask = rng.random((12, 30, 20)) > 0.5  # [k, j, i] on the sagittal grid
    src = np.zeros((4, 4))
    src[:3, 0] = (0, -0.7, 0)
    src[:3, 1] = (0, 0, -0.6)
    src[:3, 2] = (3.0, 0, 0)
    src[:3, 3] = (-15.0, 10.0, 20.0)
    src[3, 3] = 1.0
    # world-aligned grid covering the same centres: i → +x, j → +y, k → +z
    dst = _affine(np.diag([3.0, 0.7, 0.6]), (-15.0, 10.0 - 19 * 0.7, 20.0 - 29 * 0.6))
    dst_shape = (30, 20, 12)  # z, y, x
    want = np.flip(np.transpose(mask, (1, 2, 0)), axis=(0, 1))  # [z, y, x]
    assert np.array_equal(resample_mask(mask, src, dst, dst_shape), want)
    values = rng.normal(size=mask.shape).astype(np.float32)
    for order in ("linear", "nearest"):
        out = resample_image(values, dst, dst_shape, from_affine=src, order=order)
        assert np.array_equal(out, np.flip(np.transpose(values, (1, 2, 0)), axis=(0, 1)))
    # the index map is an exact signed permutation
    m = index_map(src, dst)
    assert set(np.unique(m[:3, :3])) <= {-1.0, 0.0, 1.0}


# --- oblique and sheared grids: analytic values ---------------------------------------------
@pytest.mark.parametrize("src", [SRC_AXIAL, SRC_SHEARED], ids=["axial", "sheared"])
def test_oblique_rotation_reproduces_a_linear_function(src: npt.NDArray[np.float64]) -> None:
    dst = _affine(_rot(0, 30) @ _rot(2, -20) @ np.diag([0.6, 0.7, 1.1]), (-12.0, -15.0, -10.0))
    shape = (20, 40, 45)
    out = resample_image(_linear_image(src), dst, shape, from_affine=src)
    lps = _centres(dst, shape)
    want = _f(lps)
    inside = _inside_hull(src, SRC_SHAPE, lps)
    assert out.dtype == np.float32
    assert 0.2 < inside.mean() < 1.0  # part inside, part outside
    np.testing.assert_allclose(out[inside], want[inside], atol=2e-3)
    near_edge = ~inside & np.isfinite(out)
    assert near_edge.sum() < 0.01 * out.size  # only points within 1e-6 voxel of the hull
    assert np.all(np.isnan(out[~inside & ~near_edge]))


def test_sheared_target_grid() -> None:
    # an orthogonal source resampled onto a gantry-tilted grid: values follow the shear
    dst = SRC_SHEARED.copy()
    dst[:3, 3] = (-18.0, -23.0, -28.0)
    dst_shape = (8, 20, 30)
    out = resample_image(_linear_image(SRC_AXIAL), dst, dst_shape, from_affine=SRC_AXIAL)
    lps = _centres(dst, dst_shape)
    assert _inside_hull(SRC_AXIAL, SRC_SHAPE, lps).all()
    np.testing.assert_allclose(out, _f(lps), atol=2e-3)
    # slice k = 7 lies 7 × 0.9 mm further posterior and 7 × 2 mm higher on the same row
    assert out[7, 0, 0] - out[0, 0, 0] == pytest.approx(-2.0 * 6.3 + 0.5 * 14.0, abs=2e-3)


def test_a_two_d_plane() -> None:
    u = np.array([1.0, 0.4, 0.1])
    v = np.array([-0.2, 0.3, 1.0])
    u, v = u / np.linalg.norm(u) * 0.5, v / np.linalg.norm(v) * 0.5
    n = np.cross(u, v)
    plane = _affine(np.stack([u, v, n / np.linalg.norm(n)], axis=1), (-10.0, -12.0, -20.0))
    shape = (1, 60, 70)
    out = resample_image(_linear_image(SRC_SHEARED), plane, shape, from_affine=SRC_SHEARED)
    assert out.shape == shape
    lps = _centres(plane, shape)
    inside = _inside_hull(SRC_SHEARED, SRC_SHAPE, lps)
    assert inside.mean() > 0.5
    np.testing.assert_allclose(out[inside], _f(lps)[inside], atol=2e-3)
    # the grid and the point sampler are one rule: same coverage, same values
    points = sample_points(_linear_image(SRC_SHEARED), lps.reshape(-1, 3), affine=SRC_SHEARED)
    assert np.array_equal(np.isfinite(points), np.isfinite(out.ravel()))
    np.testing.assert_allclose(out.ravel()[np.isfinite(points)], points[np.isfinite(points)], 1e-5)


@pytest.mark.parametrize("order", ["linear", "nearest"])
def test_grid_and_points_agree_on_a_random_oblique_grid(order: str) -> None:
    rng = np.random.default_rng(5)
    arr = rng.integers(-500, 1500, SRC_SHAPE).astype(np.float32)
    vol = ImageVolume(arr, SRC_SHEARED, FOR, "CT", "1.2.3")
    dst = _affine(_rot(1, 37) @ _rot(0, -12) @ np.diag([0.55, 0.8, 1.7]), (-25.0, -20.0, -35.0))
    shape = (25, 30, 35)
    grid = resample_image(vol, dst, shape, order=order, fill=math.nan)  # type: ignore[arg-type]
    points = vol.sample_lps(_centres(dst, shape).reshape(-1, 3), order=int(order == "linear"))
    assert np.array_equal(np.isfinite(grid.ravel()), np.isfinite(points))
    finite = np.isfinite(points)
    assert 0.1 < finite.mean() < 0.9
    np.testing.assert_allclose(grid.ravel()[finite], points[finite], atol=1e-3)


# --- grids along the source axes: the separable path follows the same rules ---------------
ALIGNED = {
    "axial plane": (_affine(np.diag([0.45, 0.45, 1.0]), (-22.0, -27.0, 3.3)), (1, 120, 110)),
    "sagittal plane, flipped": (
        _affine([[0, 0, 1.0], [0.5, 0, 0], [0, -0.5, 0]], (4.1, -30.0, 30.0)),
        (1, 130, 120),
    ),
    "coarser 3-D grid": (_affine(np.diag([1.7, 1.3, 3.1]), (-25.0, -21.0, -33.0)), (20, 40, 30)),
    "permuted 3-D grid": (
        _affine([[0, 0.9, 0], [0, 0, -0.6], [2.2, 0, 0]], (-18.0, 30.0, -28.0)),
        (25, 35, 45),
    ),
}


@pytest.mark.parametrize("name", list(ALIGNED))
@pytest.mark.parametrize("order", ["linear", "nearest"])
def test_grids_along_the_source_axes_follow_the_point_rules(name: str, order: str) -> None:
    dst, shape = ALIGNED[name]
    rng = np.random.default_rng(7)
    arr = rng.normal(0, 100, SRC_SHAPE).astype(np.float32)
    grid = resample_image(arr, dst, shape, from_affine=SRC_AXIAL, order=order)  # type: ignore[arg-type]
    points = sample_points(arr, _centres(dst, shape).reshape(-1, 3), order, affine=SRC_AXIAL)  # type: ignore[arg-type]
    finite = np.isfinite(points)
    assert 0.05 < finite.mean() < 1.0  # part of each grid lies outside the source
    assert np.array_equal(np.isfinite(grid.ravel()), finite)
    np.testing.assert_allclose(grid.ravel()[finite], points[finite], atol=1e-3)


def test_the_separable_and_the_general_path_meet() -> None:
    # the same axial plane, exactly aligned (separable path) and turned by 1e-6 rad about z
    # (general SimpleITK path): the values agree to interpolation rounding
    dst, shape = ALIGNED["axial plane"]
    turned = dst.copy()
    turned[:3, :3] = _rot(2, math.degrees(1e-6)) @ dst[:3, :3]
    image = _linear_image(SRC_AXIAL)
    a = resample_image(image, dst, shape, from_affine=SRC_AXIAL)
    b = resample_image(image, turned, shape, from_affine=SRC_AXIAL)
    both = np.isfinite(a) & np.isfinite(b)
    assert both.mean() > 0.5 and (np.isfinite(a) != np.isfinite(b)).mean() < 0.02
    np.testing.assert_allclose(a[both], b[both], atol=0.05)


# --- outside the volume ---------------------------------------------------------------------
def test_fill_outside_and_the_edge_rules() -> None:
    # 1-D view along i: voxel centres at x = 0 … 4 mm
    arr = np.arange(5, dtype=np.float32)[None, None, :].repeat(2, axis=0).repeat(2, axis=1)
    src = _affine(np.eye(3), (0.0, 0.0, 0.0))
    line = _affine(np.eye(3), (-0.75, 0.0, 0.0))  # centres at x = −0.75, 0.25, … 5.25
    linear = resample_image(arr, line, (1, 1, 7), from_affine=src)[0, 0]
    assert np.isnan(linear[0]) and np.isnan(linear[-1]) and np.isnan(linear[-2])  # beyond 4
    assert linear[1:-2] == pytest.approx([0.25, 1.25, 2.25, 3.25])
    nearest = resample_image(arr, line, (1, 1, 7), from_affine=src, order="nearest")[0, 0]
    # x = 4.25 rounds to the last voxel; x = −0.75 and 5.25 lie beyond the half voxel
    assert np.isnan(nearest[0]) and np.isnan(nearest[-1])
    assert nearest[1:-1] == pytest.approx([0, 1, 2, 3, 4])
    # ties round up (ITK's rule), in the grid and in point sampling alike
    ties = _affine(np.eye(3), (-0.5, 0.0, 0.0))  # x = −0.5, 0.5, … 4.5
    tied = resample_image(arr, ties, (1, 1, 6), from_affine=src, order="nearest")[0, 0]
    assert tied[:-1] == pytest.approx([0, 1, 2, 3, 4]) and np.isnan(tied[-1])
    xs = np.stack([np.arange(6) - 0.5, np.zeros(6), np.zeros(6)], axis=1)
    points = sample_points(arr, xs, "nearest", affine=src)
    assert np.array_equal(points, tied, equal_nan=True)
    # a custom fill, and an integer image with nearest fills 0
    assert resample_image(arr, line, (1, 1, 7), from_affine=src, fill=-1024)[0, 0, 0] == -1024
    ints = arr.astype(np.int16)
    assert resample_image(ints, line, (1, 1, 7), from_affine=src, order="nearest")[0, 0, 0] == 0


def test_a_grid_entirely_outside_is_all_fill() -> None:
    far = _affine(np.eye(3), (500.0, 500.0, 500.0))
    out = resample_image(_linear_image(SRC_AXIAL), far, (3, 4, 5), from_affine=SRC_AXIAL)
    assert out.shape == (3, 4, 5) and np.all(np.isnan(out))
    mask = np.ones(SRC_SHAPE, dtype=bool)
    assert not resample_mask(mask, SRC_AXIAL, far, (3, 4, 5)).any()
    assert np.all(
        np.isnan(sample_points(_linear_image(SRC_AXIAL), [[500, 500, 500]], affine=SRC_AXIAL))
    )


# --- masks ----------------------------------------------------------------------------------
def _sphere(
    aff: npt.NDArray[np.float64], shape: tuple[int, int, int], r: float
) -> npt.NDArray[np.bool_]:
    lps = _centres(aff, shape)
    return np.asarray(np.linalg.norm(lps - np.array([2.0, -1.0, 3.0]), axis=-1) <= r)


def test_mask_round_trip_keeps_its_volume_within_a_voxel_layer() -> None:
    radius = 12.0
    a_aff = _affine(np.diag([0.8, 0.8, 1.5]), (-20.0, -20.0, -20.0))
    a_shape = (28, 52, 52)
    b_aff = _affine(_rot(2, 25) @ _rot(0, 15) @ np.diag([0.6, 0.9, 1.2]), (-25.0, -28.0, -22.0))
    b_shape = (40, 70, 80)
    mask = _sphere(a_aff, a_shape, radius)
    on_b = resample_mask(mask, a_aff, b_aff, b_shape)
    back = resample_mask(on_b, b_aff, a_aff, a_shape)
    vol = {
        "a": mask.sum() * abs(np.linalg.det(a_aff[:3, :3])),
        "b": on_b.sum() * abs(np.linalg.det(b_aff[:3, :3])),
        "back": back.sum() * abs(np.linalg.det(a_aff[:3, :3])),
    }
    layer = 4 * math.pi * radius**2 * 1.5  # sphere surface × the thickest voxel (mm³)
    assert abs(vol["b"] - vol["a"]) < layer / 4
    assert abs(vol["back"] - vol["a"]) < layer / 4
    # every voxel that changed lies on the surface, within a voxel diagonal of it
    changed = _centres(a_aff, a_shape)[mask != back]
    dist = np.abs(np.linalg.norm(changed - np.array([2.0, -1.0, 3.0]), axis=-1) - radius)
    assert changed.size and dist.max() < np.linalg.norm([0.9, 0.9, 1.5])
    # the resampled sphere is the set of target voxels whose nearest source voxel is set
    centres_b = _centres(b_aff, b_shape)
    assert np.array_equal(
        on_b,
        sample_points(mask, centres_b.reshape(-1, 3), "nearest", affine=a_aff).reshape(b_shape)
        == 1,
    )


def test_mask_resampling_of_an_empty_mask_and_refusals() -> None:
    empty = np.zeros(SRC_SHAPE, dtype=bool)
    assert not resample_mask(empty, SRC_AXIAL, SRC_SHEARED, (5, 6, 7)).any()
    with pytest.raises(ValueError, match="3-D mask"):
        resample_mask(np.zeros((2, 2), bool), SRC_AXIAL, SRC_AXIAL, (2, 2, 2))
    with pytest.raises(ValueError, match="singular"):
        resample_mask(empty, np.diag([1.0, 1.0, 0.0, 1.0]), SRC_AXIAL, (2, 2, 2))
    with pytest.raises(ValueError, match="4×4 affine"):
        resample_image(empty, np.eye(3), (2, 2, 2), from_affine=SRC_AXIAL)
    with pytest.raises(ValueError, match="needs its affine"):
        resample_image(empty, SRC_AXIAL, (2, 2, 2))
    with pytest.raises(ValueError, match="order must be"):
        resample_image(empty, SRC_AXIAL, (2, 2, 2), from_affine=SRC_AXIAL, order="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fill NaN needs a float image"):
        resample_image(
            empty.astype(np.int16),
            SRC_AXIAL,
            (2, 2, 2),
            from_affine=SRC_AXIAL,
            order="nearest",
            fill=math.nan,
        )
    with pytest.raises(ValueError, match="to_shape"):
        resample_image(empty, SRC_AXIAL, (0, 2, 2), from_affine=SRC_AXIAL)
    vol = ImageVolume(empty.astype(np.int16), SRC_AXIAL, FOR, "CT", "1.2.3")
    with pytest.raises(ValueError, match="order must be 0"):
        vol.sample_lps([[0, 0, 0]], order=3)
    with pytest.raises(ValueError, match="not both"):
        sample_points(vol, [[0, 0, 0]], affine=SRC_AXIAL)
