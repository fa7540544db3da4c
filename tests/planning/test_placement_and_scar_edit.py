"""What a click becomes (level marker, marked structure, target) and how scar is kept."""

from __future__ import annotations

import numpy as np
import pytest

from blockplan.case.model import Case, ScarRegion
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.errors import PlanningError
from blockplan.planning import (
    LANDMARK_RADIUS_MM,
    LEAK_FRACTION,
    delete_landmark,
    landmarks_in_order,
    mask_grid_for,
    paint_voxels,
    place_landmark,
    place_level_marker,
    place_target,
    preferred_scar_series,
    propose_scar,
    refresh_scar_levels,
    scar_region_from_mask,
    with_scar,
)
from tests.planning._factory import affine, point, straight_spine, volume


# --- placement --------------------------------------------------------------------------------
def test_level_markers_follow_the_proposal() -> None:
    with pytest.raises(PlanningError, match="first level marker has no level: choose"):
        place_level_marker(point(0, 0, 160), [])  # never silently T12
    first = place_level_marker(point(0, 0, 160), [], "T12")
    assert first.level == "T12"
    levels = straight_spine(("L3", "L4"))
    assert place_level_marker(point(0, 0, 80), levels).level == "L4-L5"


def test_a_landmark_gets_level_side_and_default_radius() -> None:
    levels = straight_spine()
    lm = place_landmark("nerve_root", point(20.0, 10.0, 40.0), levels)  # at L4, patient left
    assert (lm.level, lm.side, lm.radius_mm) == ("L4", Laterality.LEFT, 2.5)
    assert place_landmark("thecal_sac", point(0, 10, 40), levels).radius_mm == 7.0
    assert LANDMARK_RADIUS_MM["artery"] == 1.5


def test_landmarks_list_head_to_foot_left_first_and_one_is_deleted_by_id() -> None:
    levels = straight_spine()
    marked = [
        place_landmark("thecal_sac", point(0, 10, 40), levels),
        place_landmark("nerve_root", point(-20, 10, 40), levels),  # right
        place_landmark("nerve_root", point(20, 10, 40), levels),  # left
        place_landmark("nerve_root", point(20, 10, 80), levels),  # higher
    ]
    case = Case(levels=levels, landmarks=tuple(marked))
    order = landmarks_in_order(case)
    # head to foot; at one height the patient's left, the midline, the right
    assert [lm.id for lm in order] == [marked[3].id, marked[2].id, marked[0].id, marked[1].id]
    fewer = delete_landmark(case, marked[1].id)
    assert [lm.id for lm in fewer.landmarks] == [marked[0].id, marked[2].id, marked[3].id]
    assert fewer.levels == case.levels and len(case.landmarks) == 4  # a new case
    with pytest.raises(PlanningError, match="no longer in the case"):
        delete_landmark(fewer, marked[1].id)


def test_a_root_target_is_named_by_the_vertebra_it_exits_below() -> None:
    levels = straight_spine()  # L5 at z=0, S1 at z=-40: the L5-S1 segment around z=-20
    t = place_target(point(-20.0, 10.0, -20.0), levels, block_type=BlockType.SELECTIVE_NERVE_ROOT)
    assert (t.level, t.side, t.structure) == ("L5", Laterality.RIGHT, Structure.NERVE_ROOT)
    facet = place_target(point(-20.0, 10.0, -20.0), levels, block_type=BlockType.MEDIAL_BRANCH)
    assert (facet.level, facet.structure) == ("L5-S1", Structure.FACET_JOINT)


def test_before_two_level_markers_a_target_has_no_level_and_its_side_from_the_midline() -> None:
    t = place_target(point(-20.0, 10.0, -20.0), [], block_type=BlockType.SELECTIVE_NERVE_ROOT)
    assert (t.level, t.side) == (None, Laterality.RIGHT)  # x < 0: the patient's right


# --- scar -------------------------------------------------------------------------------------
def _mr(description: str, scan_options: str = "") -> object:
    v = volume(np.zeros((2, 2, 2)), affine(), modality="MR")
    return v.with_array(
        v.array, series_description=description, metadata={"ScanOptions": scan_options}
    )


def test_fat_suppressed_post_contrast_series_is_preferred() -> None:
    ct = volume(np.zeros((2, 2, 2)), affine())
    t1, fs, t2 = _mr("T1 AX POST GD"), _mr("T1 AX POST GD FS"), _mr("T2 SAG")
    assert preferred_scar_series([ct, t1, fs, t2]) is fs
    assert preferred_scar_series([ct, t1, t2]) is t2  # the last MR
    assert preferred_scar_series([ct, _mr("T1 AX", "FS\\SAT_GEMS")]).series_description == "T1 AX"
    assert preferred_scar_series([ct]) is ct
    assert preferred_scar_series([]) is None


def _blob_volume(spacing: tuple[float, float, float]) -> object:
    """A bright 10 mm ball (value 1000) in dark background (value 0) with mild noise."""
    rng = np.random.default_rng(0)
    shape = tuple(int(60 / s) for s in spacing[::-1])
    k, j, i = np.indices(shape)
    centre = np.array([30.0, 30.0, 30.0])
    d = np.sqrt(
        (i * spacing[0] - centre[0]) ** 2
        + (j * spacing[1] - centre[1]) ** 2
        + (k * spacing[2] - centre[2]) ** 2
    )
    array = np.where(d <= 10.0, 1000.0, 0.0) + rng.normal(0, 20, shape)
    return volume(array.astype(np.float32), affine(spacing), modality="MR")


def test_proposal_is_stored_on_the_series_grid_with_the_right_volume() -> None:
    vol = _blob_volume((1.0, 1.0, 4.0))  # thick slices, as on axial MR
    mask = propose_scar(vol, point(30.0, 30.0, 30.0), sensitivity=3.0, radius_mm=20.0)
    assert mask.shape == vol.shape
    ball_ml = 4 / 3 * np.pi * 10.0**3 / 1000
    assert mask.sum() * vol.voxel_volume_ml() == pytest.approx(ball_ml, rel=0.15)


def test_a_leaking_proposal_is_refused_with_advice() -> None:
    flat = volume(np.full((40, 40, 40), 500.0, np.float32), affine(), modality="MR")
    with pytest.raises(PlanningError, match=r"leaked.*lower the sensitivity"):
        propose_scar(flat, point(20.0, 20.0, 20.0), sensitivity=2.0, radius_mm=10.0)
    assert 0 < LEAK_FRACTION < 1


def test_a_seed_outside_the_series_is_refused() -> None:
    vol = _blob_volume((1.0, 1.0, 4.0))
    with pytest.raises(PlanningError, match="outside series 3"):
        propose_scar(vol, point(300.0, 30.0, 30.0))


def test_painting_sets_the_nearest_source_voxel() -> None:
    vol = volume(np.zeros((5, 10, 10)), affine((1.0, 1.0, 4.0)))
    grid = mask_grid_for(vol)
    mask = np.zeros(vol.shape, bool)
    painted = paint_voxels(mask, grid, [[2.2, 3.1, 7.9], [99.0, 0.0, 0.0]], True)
    assert np.argwhere(painted).tolist() == [[2, 3, 2]]  # z 7.9 → slice 2 (8 mm)
    erased = paint_voxels(painted, grid, [[2.0, 3.0, 9.0]], False)
    assert not erased.any()
    assert not mask.any()  # the input is never changed


def test_scar_volume_per_level_follows_the_level_markers() -> None:
    vol = volume(np.zeros((100, 10, 10)), affine((1.0, 1.0, 2.0), (0.0, 0.0, -20.0)))
    mask = np.zeros(vol.shape, bool)
    mask[10:12, 4:6, 4:6] = True  # z = 0..2 mm: at L5 of the straight spine
    region = scar_region_from_mask(mask, mask_grid_for(vol), straight_spine(), method="manual")
    assert set(region.volume_ml_per_level) == {"L5"}
    no_levels = scar_region_from_mask(mask, mask_grid_for(vol), [], method="manual")
    assert no_levels.volume_ml_per_level == {}
    case = with_scar(Case(levels=()), no_levels)
    refreshed = refresh_scar_levels(case.evolve(levels=tuple(straight_spine())))
    assert refreshed.scar_regions[0].volume_ml_per_level == region.volume_ml_per_level
    assert refreshed.scar_regions[0].id == no_levels.id
    assert with_scar(refreshed, None).scar_regions == ()


def test_a_replaced_region_keeps_its_id_and_label() -> None:
    vol = volume(np.zeros((4, 4, 4)), affine())
    grid = mask_grid_for(vol)
    old = ScarRegion.from_mask(np.zeros(vol.shape, bool), grid, label="scar around L5 left")
    new = scar_region_from_mask(np.ones(vol.shape, bool), grid, [], method="manual", previous=old)
    assert (new.id, new.label, new.voxel_count) == (old.id, old.label, 64)


class _Stop(Exception):
    """What a caller raises from ``progress`` to cancel."""


def test_a_proposal_reports_progress_and_can_be_cancelled() -> None:
    vol = _blob_volume((1.0, 1.0, 4.0))
    seen: list[tuple[int, int]] = []
    mask = propose_scar(
        vol, point(30.0, 30.0, 30.0), radius_mm=20.0, progress=lambda d, t: seen.append((d, t))
    )
    assert mask.any()
    totals = {t for _, t in seen}
    assert len(totals) == 1 and seen[0][0] == 0 and seen[-1][0] == seen[-1][1]
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(done) > 3  # resampling, each window, the mask back

    calls: list[int] = []

    def stop_after_three(done: int, _total: int) -> None:
        calls.append(done)
        if len(calls) == 3:
            raise _Stop

    with pytest.raises(_Stop):
        propose_scar(vol, point(30.0, 30.0, 30.0), radius_mm=20.0, progress=stop_after_three)
    assert len(calls) == 3  # nothing ran after the cancel


def test_the_leak_guard_is_in_the_core_whoever_calls() -> None:
    """The refusal does not depend on a widget: automatic and fixed sensitivity alike."""
    flat = volume(np.full((40, 40, 40), 500.0, np.float32), affine(), modality="MR")
    for sensitivity in (None, 1.0, 4.0):
        with pytest.raises(PlanningError, match="leaked"):
            propose_scar(flat, point(20.0, 20.0, 20.0), sensitivity=sensitivity, radius_mm=10.0)
