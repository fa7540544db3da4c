"""Each step of evaluate_trajectory on its own, against hand-computed geometry."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from blockplan.case.model import MaskGrid
from blockplan.case.vocab import Laterality
from blockplan.errors import PlanningError
from blockplan.planning import (
    CArmAngles,
    LandmarkClearance,
    ScarFinding,
    TiltDirection,
    bone_along_path,
    c_arm_angles,
    clearance_hazards,
    closest_active_landmark,
    evaluate_trajectory,
    landmark_clearances,
    needle_for_path,
    path_samples,
    posterior_approach_hazard,
    scar_near_path,
)
from tests.planning._factory import FRAME, SERIES, affine, landmark, volume


# --- c_arm_angles, posterior_approach_hazard ------------------------------------------------
def test_c_arm_angles_of_the_worked_example() -> None:
    angles = c_arm_angles((50.0, 80.0, 10.0), (20.0, 10.0, 0.0))
    assert isinstance(angles, CArmAngles)
    oblique, side, tilt, direction = angles
    assert oblique == pytest.approx(math.degrees(math.atan2(30, 70)))  # 23.2°
    assert side is Laterality.LEFT  # entry at larger x: the patient's left
    assert tilt == pytest.approx(math.degrees(math.atan2(10, math.hypot(30, 70))))  # 7.5°
    assert direction is TiltDirection.CRANIAL


def test_c_arm_angles_right_caudal_and_straight_ap() -> None:
    right = c_arm_angles((-40.0, 50.0, -20.0), (0.0, 10.0, 0.0))
    assert right.oblique_deg == pytest.approx(45.0) and right.oblique_side is Laterality.RIGHT
    assert right.tilt_deg == pytest.approx(math.degrees(math.atan2(20, math.hypot(40, 40))))
    assert right.tilt_direction is TiltDirection.CAUDAL
    ap = c_arm_angles((3.0, 90.0, 7.0), (3.0, 10.0, 7.0))
    assert ap == (0.0, Laterality.MIDLINE, 0.0, TiltDirection.NONE)


def test_posterior_approach_hazard() -> None:
    assert posterior_approach_hazard((0, 80, 0), (0, 10, 0)) is None
    assert posterior_approach_hazard((0, 10.1, 0), (0, 10, 0)) is None
    assert posterior_approach_hazard((0, -60, 0), (0, 10, 0)) == (
        "entry (0.0, -60.0, 0.0) lies 70.0 mm anterior to the target (0.0, 10.0, 0.0) mm "
        "(LPS y): not a posterior approach; check entry and target"
    )
    # a purely lateral path (same y) is not posterior either
    lateral = posterior_approach_hazard((80, 10, 0), (0, 10, 0))
    assert lateral is not None and "0.0 mm anterior" in lateral


# --- needle_for_path ------------------------------------------------------------------------
def test_needle_for_path() -> None:
    assert needle_for_path(76.8) == (pytest.approx(88.9), None)
    assert needle_for_path(78.9)[0] == pytest.approx(88.9)
    assert needle_for_path(79.0)[0] == pytest.approx(127.0)
    assert needle_for_path(100.0, needle_lengths_mm=(90, 120), spare_mm=15) == (120.0, None)
    assert needle_for_path(180.0) == (
        None,
        "path 180.0 mm + 10 mm spare is longer than the longest needle listed (177.8 mm)",
    )
    assert needle_for_path(50.0, needle_lengths_mm=())[1] == (
        "path 50.0 mm + 10 mm spare is longer than the longest needle listed (0.0 mm)"
    )


# --- path_samples ---------------------------------------------------------------------------
def test_path_samples_every_step_both_ends_included() -> None:
    path = path_samples((0.0, 80.0, 0.0), (0.0, 10.0, 0.0), 0.5)
    assert path.length_mm == pytest.approx(70.0)
    assert path.unit_lps == pytest.approx((0.0, -1.0, 0.0))
    assert len(path.depths_mm) == 141
    assert np.diff(path.depths_mm) == pytest.approx(np.full(140, 0.5))
    assert path.points_lps[0] == pytest.approx((0.0, 80.0, 0.0))
    assert path.points_lps[-1] == pytest.approx((0.0, 10.0, 0.0))
    assert path.points_lps[1] == pytest.approx((0.0, 79.5, 0.0))


def test_path_samples_shorten_the_step_to_fit() -> None:
    # 1.3 mm at 0.5 mm: ceil(2.6) = 3 equal steps of 0.433 mm, never longer than asked
    path = path_samples((0.0, 1.3, 0.0), (0.0, 0.0, 0.0), 0.5)
    assert path.depths_mm == pytest.approx([0.0, 1.3 / 3, 2.6 / 3, 1.3])
    # a step longer than the path still gives both ends
    assert len(path_samples((0, 5, 0), (0, 0, 0), 50.0).depths_mm) == 2


def test_path_samples_refusals() -> None:
    with pytest.raises(PlanningError, match=r"0\.50 mm apart"):
        path_samples((0, 10.5, 0), (0, 10, 0))
    with pytest.raises(PlanningError, match="step_mm must be > 0"):
        path_samples((0, 80, 0), (0, 10, 0), 0.0)


# --- bone_along_path ------------------------------------------------------------------------
def _ct_with_slab() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float64]]:
    """Voxel centre (x, y, z) = (i − 50, j − 20, k − 50) mm; bone (1000 HU) at y 30..39 mm."""
    arr = np.full((100, 120, 100), 40, dtype=np.int16)
    arr[:, 50:60, :] = 1000
    return arr, affine((1.0, 1.0, 1.0), (-50.0, -20.0, -50.0))


def test_bone_along_path_without_a_ct_is_a_note() -> None:
    bone = bone_along_path(None, path_samples((0, 80, 0), (0, 10, 0)))
    assert (bone.checked, bone.crosses) == (False, None)
    assert bone.hazards == () and bone.notes == ("no CT given: bone crossing not checked",)


def test_bone_along_path_finds_the_first_bone_sample() -> None:
    arr, aff = _ct_with_slab()
    path = path_samples((0.0, 80.0, 0.0), (0.0, 10.0, 0.0))
    bone = bone_along_path(volume(arr, aff), path)
    # y = 39.5 lies halfway between 1000 HU (y = 39) and 40 HU (y = 40): 520 HU > 300 HU
    assert bone.checked and bone.crosses
    assert bone.first_depth_mm == pytest.approx(40.5)
    assert bone.first_lps == pytest.approx((0.0, 39.5, 0.0))
    assert bone.first_hu == pytest.approx(520.0)
    assert bone.hazards == (
        "crosses bone (CT 520 HU > 300 HU) at depth 40.5 mm from the entry, 29.5 mm before "
        "the target, LPS (0.0, 39.5, 0.0) mm",
    )
    assert bone_along_path(volume(arr, aff), path, bone_hu=600).first_depth_mm == 41.0


def test_bone_along_path_spares_the_end_on_bone() -> None:
    arr, aff = _ct_with_slab()
    # target 2 mm into the slab (y = 38): with 3 mm spared, only y ≥ 41 is checked
    path = path_samples((0.0, 80.0, 0.0), (0.0, 38.0, 0.0))
    spared = bone_along_path(volume(arr, aff), path)
    assert spared.checked and spared.crosses is False and spared.hazards == ()
    strict = bone_along_path(volume(arr, aff), path, bone_exclusion_mm=0.0)
    assert strict.crosses and strict.first_depth_mm == pytest.approx(40.5)


def test_bone_along_path_outside_the_ct_is_a_hazard() -> None:
    arr, aff = _ct_with_slab()
    # y > 99 mm is outside the grid (last voxel centre y = 99): depths 0 … 20.5 unchecked
    bone = bone_along_path(volume(arr, aff), path_samples((0, 120, 0), (0, 45, 0)))
    assert not bone.checked and bone.crosses is False
    assert bone.hazards == (
        "the path lies outside the CT from depth 0.0 to 20.5 mm (of 75.0 mm): "
        "bone not checked there",
    )


def test_bone_along_path_needs_a_ct() -> None:
    arr, aff = _ct_with_slab()
    with pytest.raises(PlanningError, match=r"needs a CT.*series 3 is MR"):
        bone_along_path(volume(arr, aff, modality="MR"), path_samples((0, 80, 0), (0, 10, 0)))


# --- scar_near_path -------------------------------------------------------------------------
_SCAR_AFF = affine((1.0, 1.0, 1.0), (-50.0, -20.0, -50.0))  # centre (i − 50, j − 20, k − 50)


def _scar(box: tuple[slice, slice, slice]) -> npt.NDArray[np.bool_]:
    mask = np.zeros((100, 100, 100), dtype=bool)
    mask[box] = True
    return mask


def test_scar_near_path_without_masks_and_with_empty_ones() -> None:
    path = path_samples((0, 80, 0), (0, 10, 0))
    assert scar_near_path([], path) == ScarFinding()
    empty = scar_near_path([(np.zeros((100, 100, 100), bool), _SCAR_AFF)], path)
    assert empty.distance_mm == math.inf and empty.closest_depth_mm is None
    assert not empty.crosses and empty.notes == ()


def test_scar_near_path_distance_to_the_nearest_voxel_centre() -> None:
    # voxel centres x = 30..31, y = 30, z = 0: the nearest is (30, 30, 0), 30 mm beside the
    # path x = 0 at depth 80 − 30 = 50 mm
    far = _scar((slice(50, 51), slice(50, 51), slice(80, 82)))
    found = scar_near_path([(far, _SCAR_AFF)], path_samples((0, 80, 0), (0, 10, 0)))
    assert found.distance_mm == pytest.approx(30.0)
    assert found.closest_depth_mm == pytest.approx(50.0)
    assert not found.crosses
    # beyond the target end the segment end counts: scar at y = 0 is 10 mm past the target
    past = _scar((slice(50, 51), slice(20, 21), slice(50, 51)))  # (0, 0, 0)
    found = scar_near_path([(past, _SCAR_AFF)], path_samples((0, 80, 0), (0, 10, 0)))
    assert found.distance_mm == pytest.approx(10.0)
    assert found.closest_depth_mm == pytest.approx(70.0)


def test_scar_near_path_entry_into_scar_over_several_masks() -> None:
    deep = _scar((slice(48, 53), slice(40, 46), slice(48, 53)))  # y = 20..25
    shallow = _scar((slice(48, 53), slice(60, 66), slice(48, 53)))  # y = 40..45
    path = path_samples((0, 80.25, 0), (0, 10.25, 0))
    grid = MaskGrid(
        shape=(100, 100, 100),
        affine=tuple(map(tuple, _SCAR_AFF)),
        frame_of_reference_uid=FRAME,
        series_instance_uid=SERIES,
    )
    found = scar_near_path([(deep, _SCAR_AFF), (shallow, grid)], path)
    # samples at y = 80.25 − 0.5 n; the first with a scar voxel nearest is y = 45.25
    assert found.crosses and found.distance_mm == pytest.approx(0.0)
    assert found.entry_depth_mm == pytest.approx(35.0)
    assert found.entry_lps == pytest.approx((0.0, 45.25, 0.0))
    assert found.notes == (
        "crosses scar from depth 35.0 mm (35.0 mm before the target), LPS (0.0, 45.2, 0.0) mm",
    )
    only_deep = scar_near_path([(deep, _SCAR_AFF)], path)
    assert only_deep.entry_lps == pytest.approx((0.0, 25.25, 0.0))


def test_scar_near_path_refuses_a_mask_off_its_grid() -> None:
    path = path_samples((0, 80, 0), (0, 10, 0))
    arr, aff = _ct_with_slab()
    with pytest.raises(PlanningError, match=r"scar mask 0: shape \(2, 2, 2\) differs"):
        scar_near_path([(np.zeros((2, 2, 2), bool), volume(arr, aff))], path)
    with pytest.raises(PlanningError, match="scar mask 0: expected a boolean mask"):
        scar_near_path([(np.zeros((2, 2, 2)), np.eye(4))], path)  # type: ignore[list-item]


# --- landmarks ------------------------------------------------------------------------------
def test_landmark_clearances_by_hand_in_input_order() -> None:
    path = path_samples((0, 80, 0), (0, 10, 0))
    beside = landmark("nerve_root", 5.0, 20.0, 0.0, 2.0, level="L5", side="left", id="r")
    inside = landmark("thecal_sac", 1.0, 40.0, 0.0, 6.0, id="sac")
    past = landmark("artery", 0.0, 0.0, 0.0, 2.0, id="past")  # 10 mm beyond the target
    got = landmark_clearances([beside, inside, past], path, exclude_ids={"r"})
    assert [c.landmark_id for c in got] == ["r", "sac", "past"]
    r, sac, far = got
    assert r.distance_mm == pytest.approx(3.0) and r.depth_mm == pytest.approx(60.0)
    assert r.closest_point_lps == pytest.approx((0.0, 20.0, 0.0))
    assert r.excluded and r.label == "nerve root L5 left"
    assert sac.distance_mm == pytest.approx(-5.0) and not sac.excluded
    assert far.distance_mm == pytest.approx(8.0) and far.depth_mm == pytest.approx(70.0)
    assert landmark_clearances([], path) == ()


def _clearance(lid: str, distance: float, *, excluded: bool = False) -> LandmarkClearance:
    return LandmarkClearance(
        landmark_id=lid,
        kind="nerve_root",
        level="L4",
        side=Laterality.RIGHT,
        radius_mm=3.0,
        distance_mm=distance,
        depth_mm=50.0,
        closest_point_lps=(1.0, 2.0, 3.0),
        excluded=excluded,
    )


def test_closest_active_landmark_skips_excluded_ones() -> None:
    a, b, target = _clearance("a", 4.0), _clearance("b", 2.5), _clearance("t", -1, excluded=True)
    assert closest_active_landmark([a, target, b]) == b
    assert closest_active_landmark([target]) is None
    assert closest_active_landmark([]) is None


def test_clearance_hazards_closest_first_within_the_margin() -> None:
    near = _clearance("near", 1.0)
    through = _clearance("in", -0.5)
    clear = _clearance("clear", 2.0)  # exactly the margin: not a hazard
    target = _clearance("t", -2.0, excluded=True)
    hazards = clearance_hazards([near, clear, target, through], margin_mm=2.0, length_mm=70.0)
    where = "at depth 50.0 mm (20.0 mm before the target), LPS (1.0, 2.0, 3.0) mm"
    assert hazards == (
        f"passes through nerve root L4 right (id in): 0.5 mm inside its 3.0 mm radius {where}",
        f"passes 1.0 mm from nerve root L4 right (id near), closer than the 2.0 mm margin, {where}",
    )
    assert clearance_hazards([near], margin_mm=0.5, length_mm=70.0) == ()


# --- composition ----------------------------------------------------------------------------
def test_evaluate_trajectory_is_the_composition_of_its_steps() -> None:
    arr, aff = _ct_with_slab()
    ct = volume(arr, aff)
    scar = _scar((slice(48, 53), slice(60, 66), slice(48, 53)))
    root = landmark("nerve_root", 4.0, 50.0, 2.0, 2.5, level="L5", side="left", id="r")
    sac = landmark("thecal_sac", 30.0, 20.0, 0.0, 6.0, id="sac")
    entry, target = (20.0, 95.0, 12.0), (1.0, 41.0, -3.0)
    m = evaluate_trajectory(
        entry, target, ct=ct, scar_masks=[(scar, _SCAR_AFF)], landmarks=[root, sac]
    )
    path = path_samples(entry, target)
    assert m.path_length_mm == path.length_mm
    assert (m.oblique_deg, m.oblique_side, m.tilt_deg, m.tilt_direction) == c_arm_angles(
        entry, target
    )
    bone = bone_along_path(ct, path)
    scar_found = scar_near_path([(scar, _SCAR_AFF)], path)
    clearances = landmark_clearances([root, sac], path)
    assert m.crosses_bone == bone.crosses and m.first_bone_depth_mm == bone.first_depth_mm
    assert m.scar_distance_mm == scar_found.distance_mm
    assert m.scar_entry_depth_mm == scar_found.entry_depth_mm
    assert m.landmarks == clearances
    assert m.closest_landmark == closest_active_landmark(clearances)
    hazards = bone.hazards + clearance_hazards(clearances, margin_mm=2.0, length_mm=path.length_mm)
    # this path passes through the root and crosses scar, stopping 1 mm above the bone slab
    assert len(hazards) == 1 and "passes through nerve root L5 left" in hazards[0]
    assert scar_found.crosses and bone.crosses is False
    assert m.warnings == hazards + scar_found.notes
    assert not m.safe
