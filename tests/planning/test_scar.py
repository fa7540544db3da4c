"""Scar region growing, volumes per level, mask grids and resampling."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from blockplan.case.model import MaskGrid, ScarRegion
from blockplan.errors import PlanningError
from blockplan.planning import (
    DEFAULT_SEGMENT_ZONE,
    DISC_SPACE_SHARE,
    UNASSIGNED_LEVEL,
    SpineAxis,
    grow_scar,
    mask_grid_for,
    resample_mask,
    scar_volume_ml,
    scar_volume_per_level,
)
from tests.planning._factory import (
    FRAME,
    OTHER_FRAME,
    SERIES,
    affine,
    marker,
    point,
    straight_spine,
    volume,
)

SPACING = (0.8, 0.8, 2.0)
ORIGIN = (-25.6, -25.6, -32.0)


def _centres(shape: tuple[int, int, int], aff: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """LPS centres of every voxel, shape (k, j, i, 3)."""
    kk, jj, ii = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    ijk = np.stack([ii, jj, kk], axis=-1).astype(np.float64)
    return ijk @ aff[:3, :3].T + aff[:3, 3]


def _enhancing_sphere(
    radius_mm: float = 8.0, seed: int = 0
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """T1-like volume: tissue 100 ± 5, an enhancing sphere 300 ± 10 at the LPS origin."""
    aff = affine(SPACING, ORIGIN)
    shape = (32, 64, 64)
    r = np.linalg.norm(_centres(shape, aff), axis=-1)
    truth = r <= radius_mm
    rng = np.random.default_rng(seed)
    arr = np.where(truth, 300.0, 100.0) + rng.normal(0, 1, shape) * np.where(truth, 10, 5)
    return arr.astype(np.float32), truth, aff


# --- grow_scar ------------------------------------------------------------------------------
def test_grow_scar_recovers_an_enhancing_sphere() -> None:
    arr, truth, aff = _enhancing_sphere()
    vol = volume(arr, aff, modality="MR")
    grown = grow_scar(vol, point(1.0, -1.0, 0.5))
    assert grown.shape == vol.shape and grown.dtype == np.bool_
    overlap = np.count_nonzero(grown & truth) / np.count_nonzero(grown | truth)
    assert overlap > 0.97
    # 4/3 π 8³ = 2.14 mL; the voxelised truth is what it can recover
    assert scar_volume_ml(grown, vol) == pytest.approx(scar_volume_ml(truth, vol), rel=0.03)
    assert scar_volume_ml(truth, vol) == pytest.approx(4 / 3 * np.pi * 8**3 / 1000, rel=0.05)


def test_grow_scar_stays_inside_the_sphere_around_the_seed() -> None:
    # a bright slab through the whole volume: growth must stop at max_radius_mm
    aff = affine(SPACING, ORIGIN)
    shape = (32, 64, 64)
    centres = _centres(shape, aff)
    slab = np.abs(centres[..., 1]) <= 6.0
    rng = np.random.default_rng(3)
    arr = (np.where(slab, 300.0, 100.0) + rng.normal(0, 5, shape)).astype(np.float32)
    vol = volume(arr, aff, modality="MR")
    grown = grow_scar(vol, (0.0, 0.0, 0.0), max_radius_mm=10.0)
    dist = np.linalg.norm(centres[grown], axis=1)
    assert dist.max() <= 10.0
    expected = np.count_nonzero(slab & (np.linalg.norm(centres, axis=-1) <= 10.0))
    assert np.count_nonzero(grown) == pytest.approx(expected, rel=0.03)
    assert not grown[:, :, :5].any()


def test_grow_scar_keeps_only_the_part_connected_to_the_seed() -> None:
    arr, truth, aff = _enhancing_sphere(radius_mm=6.0)
    centres = _centres(arr.shape, aff)
    other = np.linalg.norm(centres - [15.0, 0.0, 0.0], axis=-1) <= 4.0  # separate blob
    arr = np.where(other, 300.0, arr).astype(np.float32)
    grown = grow_scar(volume(arr, aff, modality="MR"), (0.0, 0.0, 0.0))
    assert not (grown & other).any()
    assert (grown & truth).sum() / truth.sum() > 0.97


def test_grow_scar_on_a_sheared_grid() -> None:
    # gantry-tilt-like shear: slice step (0, 0.5, 2.0) mm — sphere confinement in mm
    aff = affine(SPACING, ORIGIN)
    aff[1, 2] = 0.5
    shape = (32, 64, 64)
    centres = _centres(shape, aff)
    truth = np.linalg.norm(centres, axis=-1) <= 8.0
    rng = np.random.default_rng(5)
    arr = (np.where(truth, 300.0, 100.0) + rng.normal(0, 5, shape)).astype(np.float32)
    grown = grow_scar(volume(arr, aff, modality="MR"), (0.0, 0.0, 0.0))
    assert np.count_nonzero(grown & truth) / np.count_nonzero(grown | truth) > 0.97


def test_grow_scar_refusals() -> None:
    arr, _, aff = _enhancing_sphere()
    vol = volume(arr, aff, modality="MR")
    with pytest.raises(PlanningError, match="outside series 3"):
        grow_scar(vol, (0.0, 0.0, 200.0))
    with pytest.raises(PlanningError, match="different frames of reference"):
        grow_scar(vol, point(0.0, 0.0, 0.0, OTHER_FRAME))
    with pytest.raises(PlanningError, match="multiplier and max_radius_mm must be > 0"):
        grow_scar(vol, (0.0, 0.0, 0.0), max_radius_mm=0)
    # a lone bright voxel: the seed lies far outside its neighbourhood's window
    flat = np.full((8, 8, 8), 100.0, dtype=np.float32)
    flat += np.random.default_rng(0).normal(0, 5, flat.shape).astype(np.float32)
    flat[4, 4, 4] = 1000.0
    with pytest.raises(PlanningError, match="found no region"):
        grow_scar(volume(flat, affine(), modality="MR"), (4.0, 4.0, 4.0), multiplier=0.1)


# --- volumes --------------------------------------------------------------------------------
def test_scar_volume_ml_by_hand() -> None:
    mask = np.zeros((4, 5, 6), dtype=bool)
    mask[1, 2, 1:5] = True  # 4 voxels of 2 × 2 × 2.5 mm = 10 mm³
    mask[2, 2, 2] = True
    aff = affine((2.0, 2.0, 2.5))
    assert scar_volume_ml(mask, aff) == pytest.approx(5 * 10 / 1000)
    vol = volume(np.zeros((4, 5, 6), np.int16), aff)
    assert scar_volume_ml(mask, vol) == pytest.approx(0.05)
    with pytest.raises(PlanningError, match=r"mask shape \(4, 5, 7\) differs"):
        scar_volume_ml(np.zeros((4, 5, 7), bool), vol)
    with pytest.raises(PlanningError, match="boolean mask"):
        scar_volume_ml(mask.astype(np.uint8), aff)
    with pytest.raises(PlanningError, match="4×4 affine"):
        scar_volume_ml(mask, np.eye(3))


def _slab_mask() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """1 mm grid with voxel centre z = k; 4 × 4 voxels per slice at z 26..34 and at z 60."""
    aff = affine((1.0, 1.0, 1.0), (-2.0, -2.0, 0.0))
    mask = np.zeros((70, 4, 4), dtype=bool)
    mask[26:35] = True
    mask[60] = True
    return mask, aff


def test_scar_volume_per_level_by_hand() -> None:
    # markers L4 z=40, L5 z=0, S1 z=-40, split halfway (the targets' segment zone): L4 owns
    # z > 30, L4-L5 owns 10 < z ≤ 30, the L4 zone ends at z = 50 (nothing marked above)
    mask, aff = _slab_mask()
    markers = straight_spine(("L4", "L5", "S1"), top_z=40.0)
    got = scar_volume_per_level(mask, aff, markers, segment_zone=DEFAULT_SEGMENT_ZONE)
    assert list(got) == ["L4", "L4-L5", UNASSIGNED_LEVEL]
    assert got["L4"] == pytest.approx(4 * 16 / 1000)  # z = 31..34
    assert got["L4-L5"] == pytest.approx(5 * 16 / 1000)  # z = 26..30
    assert got[UNASSIGNED_LEVEL] == pytest.approx(16 / 1000)  # z = 60
    assert sum(got.values()) == pytest.approx(scar_volume_ml(mask, aff))
    # a prebuilt axis gives the same; an empty mask gives nothing
    assert scar_volume_per_level(mask, aff, SpineAxis.from_markers(markers)) == got
    assert scar_volume_per_level(np.zeros_like(mask), aff, markers) == {}


def test_scar_volume_per_level_checks_frames_and_grid() -> None:
    mask, aff = _slab_mask()
    vol = volume(np.zeros(mask.shape, np.int16), aff, frame=OTHER_FRAME)
    markers = straight_spine(("L4", "L5", "S1"), top_z=40.0)
    with pytest.raises(PlanningError, match="different frames of reference"):
        scar_volume_per_level(mask, vol, markers)
    with pytest.raises(PlanningError, match="at least 2 level markers"):
        scar_volume_per_level(mask, aff, markers[:1])
    same = volume(np.zeros(mask.shape, np.int16), aff)
    per_level = scar_volume_per_level(
        mask, mask_grid_for(same), markers, segment_zone=DEFAULT_SEGMENT_ZONE
    )
    assert per_level["L4"] == pytest.approx(0.064)


def test_scar_volume_per_level_splits_at_the_endplates_by_hand() -> None:
    # the default: the disc space takes DISC_SPACE_SHARE (0.3) of the 40 mm L4→L5 step,
    # centred on the disc at z = 20, so the endplates lie at z = 26 and z = 14: L4 owns
    # z > 26 (8 slices of the slab), the L4-L5 disc space 14 < z ≤ 26 (z = 26: 1 slice);
    # the L4 zone ends 0.35 of a step above L4 (z < 54), so z = 60 is unassigned
    assert DISC_SPACE_SHARE == 0.3
    mask, aff = _slab_mask()
    markers = straight_spine(("L4", "L5", "S1"), top_z=40.0)
    got = scar_volume_per_level(mask, aff, markers)
    assert got == {
        "L4": pytest.approx(8 * 16 / 1000),
        "L4-L5": pytest.approx(16 / 1000),
        UNASSIGNED_LEVEL: pytest.approx(16 / 1000),
    }
    assert list(got) == ["L4", "L4-L5", UNASSIGNED_LEVEL]


# --- grids ----------------------------------------------------------------------------------
def test_mask_grid_for_round_trips_through_scar_region() -> None:
    mask, aff = _slab_mask()
    vol = volume(np.zeros(mask.shape, np.int16), aff)
    grid = mask_grid_for(vol)
    assert grid.shape == vol.shape
    assert np.allclose(grid.affine_array(), aff)
    assert (grid.frame_of_reference_uid, grid.series_instance_uid) == (FRAME, SERIES)
    region = ScarRegion.from_mask(mask, grid, method="region_grow")
    assert region.volume_ml == pytest.approx(scar_volume_ml(mask, vol))
    assert np.array_equal(region.mask(), mask)


def test_mask_grid_for_refuses_missing_uids() -> None:
    vol = volume(np.zeros((2, 2, 2), np.int16), affine())
    vol = vol.with_array(vol.array, series_instance_uid="")
    with pytest.raises(PlanningError, match="not a valid DICOM UID"):
        mask_grid_for(vol)


def test_resample_mask_to_a_coarser_shifted_grid() -> None:
    # 8 mm cube on a 1 mm grid → 2 mm grid shifted by 0.5 mm: 4 × 4 × 4 voxels, same place
    src = affine((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))
    mask = np.zeros((20, 20, 20), dtype=bool)
    mask[4:12, 4:12, 4:12] = True  # centres 4..11 → the cube [3.5, 11.5] mm
    dst = MaskGrid(
        shape=(10, 10, 10),
        affine=tuple(map(tuple, affine((2.0, 2.0, 2.0), (0.5, 0.5, 0.5)))),
        frame_of_reference_uid=FRAME,
        series_instance_uid=SERIES,
    )
    out = resample_mask(mask, src, dst)
    assert out.shape == (10, 10, 10)
    assert scar_volume_ml(out, dst) == pytest.approx(scar_volume_ml(mask, src))
    centres = _centres(out.shape, dst.affine_array())[out]
    assert centres.min() >= 3.5 and centres.max() <= 11.5
    # same grid: identity
    same = volume(np.zeros(mask.shape, np.int16), src)
    assert np.array_equal(resample_mask(mask, src, same), mask)
    assert not resample_mask(np.zeros_like(mask), src, dst).any()
    other = volume(np.zeros(mask.shape, np.int16), src, frame=OTHER_FRAME)
    with pytest.raises(PlanningError, match="different frames of reference"):
        resample_mask(mask, same, other)


def test_marker_helpers_are_consistent() -> None:
    # guard the factory the other tests rely on
    assert [m.level for m in straight_spine()] == ["L1", "L2", "L3", "L4", "L5", "S1"]
    assert marker("L4-L5", 0, 0, 0).kind == "disc"


def test_grow_scar_auto_stops_before_leaking_into_a_touching_structure() -> None:
    """A bright blob touching a slightly dimmer slab: fixed wide windows leak, auto does not."""
    from blockplan.planning import AUTO_MULTIPLIERS, grow_scar_auto

    rng = np.random.default_rng(7)
    shape = (48, 64, 64)
    kk, jj, ii = np.indices(shape)
    arr = rng.normal(100.0, 8.0, shape)
    slab = ii >= 40
    arr[slab] = rng.normal(370.0, 8.0, shape)[slab]
    blob = (kk - 24) ** 2 + (jj - 32) ** 2 + (ii - 32) ** 2 <= 8**2  # touches the slab at i=40
    arr[blob] = rng.normal(400.0, 8.0, shape)[blob]
    aff = np.diag([1.0, 1.0, 1.0, 1.0])
    from blockplan.io.volume import ImageVolume

    vol = ImageVolume(
        array=arr.astype(np.float32),
        affine=aff,
        frame_of_reference_uid="1.2.3",
        modality="MR",
        series_instance_uid="1.2.3.4",
    )
    mask, multiplier = grow_scar_auto(vol, (32.0, 32.0, 24.0))
    assert multiplier in AUTO_MULTIPLIERS
    overlap = np.count_nonzero(mask & blob) / np.count_nonzero(blob)
    assert overlap > 0.95
    assert np.count_nonzero(mask & slab) < 0.02 * np.count_nonzero(blob)
    # the widest fixed window does leak into the slab, which is what auto guards against
    from blockplan.planning import grow_scar

    wide = grow_scar(vol, (32.0, 32.0, 24.0), multiplier=AUTO_MULTIPLIERS[-1], radius_vox=2)
    assert np.count_nonzero(wide & slab) > np.count_nonzero(blob)
