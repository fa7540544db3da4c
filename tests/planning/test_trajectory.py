"""Trajectory metrics against hand-computed geometry."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from blockplan.case.vocab import Laterality
from blockplan.errors import PlanningError
from blockplan.planning import (
    STANDARD_NEEDLE_LENGTHS_MM,
    SafetyVerdict,
    TiltDirection,
    describe_path,
    evaluate_trajectory,
    needle_label,
    safety_verdict,
    suggest_needle_mm,
    unchecked_structures,
)
from tests.planning._factory import OTHER_FRAME, affine, landmark, point, volume

# --- length, needle, angles -----------------------------------------------------------------


def test_worked_example_from_the_docs() -> None:
    m = evaluate_trajectory((50.0, 80.0, 10.0), (20.0, 10.0, 0.0))
    assert m.path_length_mm == pytest.approx(math.sqrt(30**2 + 70**2 + 10**2))  # 76.81
    assert m.oblique_deg == pytest.approx(math.degrees(math.atan2(30, 70)))  # 23.20
    assert m.oblique_side is Laterality.LEFT  # the entry lies to the patient's left (+x)
    assert m.tilt_deg == pytest.approx(math.degrees(math.atan2(10, math.hypot(30, 70))))
    assert m.tilt_direction is TiltDirection.CRANIAL  # entry above the target
    assert m.c_arm_text == "23.2° left oblique, 7.5° cranial tilt"
    assert m.direction_lps == pytest.approx(tuple(np.array([-30, -70, -10]) / m.path_length_mm))
    # 76.8 + 10 mm spare ≤ 88.9 mm
    assert m.suggested_needle_mm == pytest.approx(88.9)
    assert m.needle_label == "3.5 in (89 mm)"
    assert m.crosses_bone is None and not m.bone_checked
    assert m.scar_distance_mm is None
    # nothing marked and no CT: no hazard found, but nothing to call the path safe on
    # (this asserted `m.safe` before issue 14: "safe" with no root or thecal sac marked)
    assert m.hazards == () and not m.safe
    assert m.verdict is SafetyVerdict.NOT_ASSESSED
    assert m.unchecked == ("nerve_root", "thecal_sac", "bone")
    assert m.bone_clearance_mm is None
    assert m.warnings == ("no CT given: bone crossing not checked",)


def test_mirrored_path_names_right_and_caudal() -> None:
    m = evaluate_trajectory((-10.0, 80.0, -5.0), (20.0, 10.0, 0.0))
    assert m.oblique_side is Laterality.RIGHT
    assert m.oblique_deg == pytest.approx(math.degrees(math.atan2(30, 70)))
    assert m.tilt_direction is TiltDirection.CAUDAL
    assert m.tilt_deg == pytest.approx(math.degrees(math.atan2(5, math.hypot(30, 70))))


def test_straight_pa_path() -> None:
    m = evaluate_trajectory((5.0, 90.0, 12.0), (5.0, 20.0, 12.0))
    assert (m.oblique_deg, m.oblique_side) == (0.0, Laterality.MIDLINE)
    assert (m.tilt_deg, m.tilt_direction) == (0.0, TiltDirection.NONE)
    assert m.c_arm_text == "straight AP (0.0° oblique), no tilt"
    assert m.path_length_mm == pytest.approx(70.0)


def test_angles_rebuild_the_beam_direction() -> None:
    # oblique about the long axis, then tilt (angiographic primary/secondary convention):
    # (±sin α cos β, cos α cos β, ±sin β) equals (entry − target)/|entry − target|
    rng = np.random.default_rng(7)
    for _ in range(50):
        target = rng.uniform(-30, 30, 3)
        entry = target + rng.uniform([-60, 20, -40], [60, 100, 40])
        m = evaluate_trajectory(entry, target)
        a, b = math.radians(m.oblique_deg), math.radians(m.tilt_deg)
        sx = {Laterality.LEFT: 1, Laterality.RIGHT: -1, Laterality.MIDLINE: 0}[m.oblique_side]
        sz = {TiltDirection.CRANIAL: 1, TiltDirection.CAUDAL: -1, TiltDirection.NONE: 0}[
            m.tilt_direction
        ]
        beam = np.array(
            [sx * math.sin(a) * math.cos(b), math.cos(a) * math.cos(b), sz * math.sin(b)]
        )
        assert beam == pytest.approx((entry - target) / np.linalg.norm(entry - target))


@pytest.mark.parametrize(
    ("path_mm", "needle"),
    [(50.0, 88.9), (78.9, 88.9), (79.0, 127.0), (117.0, 127.0), (142.4, 152.4), (167.8, 177.8)],
)
def test_needle_is_the_shortest_with_10_mm_to_spare(path_mm: float, needle: float) -> None:
    assert suggest_needle_mm(path_mm) == pytest.approx(needle)


def test_no_needle_long_enough() -> None:
    assert suggest_needle_mm(170.0) is None
    assert suggest_needle_mm(100.0, needle_lengths_mm=(90, 120, 150), spare_mm=15) == 120
    m = evaluate_trajectory((0, 190, 0), (0, 10, 0))
    assert m.suggested_needle_mm is None
    assert m.needle_label == "none long enough"
    assert "path 180.0 mm + 10 mm spare is longer than the longest needle listed (177.8 mm)" in (
        m.warnings
    )
    assert m.hazards == ()  # a planning note, not a hazard


def test_needle_labels() -> None:
    assert [needle_label(n) for n in STANDARD_NEEDLE_LENGTHS_MM] == [
        "3.5 in (89 mm)",
        "5 in (127 mm)",
        "6 in (152 mm)",
        "7 in (178 mm)",
    ]
    assert needle_label(90.0) == "90 mm"


# --- bone -----------------------------------------------------------------------------------
def _ct_with_slab() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float64]]:
    """1 mm CT, voxel centre (x, y, z) = (i − 50, j − 20, k − 50), y up to 99 mm; soft tissue
    40 HU and a bone slab at y = 30..39 mm (1000 HU)."""
    arr = np.full((100, 120, 100), 40, dtype=np.int16)
    arr[:, 50:60, :] = 1000  # j = 50..59 → y = 30..39
    return arr, affine((1.0, 1.0, 1.0), (-50.0, -20.0, -50.0))


def test_bone_crossing_depth_by_hand() -> None:
    arr, aff = _ct_with_slab()
    ct = volume(arr, aff)
    # path along −y; the sample at y = 39.5 is halfway between 1000 and 40 HU → 520 HU,
    # the one at y = 40 is 40 HU: first bone at depth 80 − 39.5 = 40.5 mm
    m = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 10.0, 0.0), ct=ct)
    assert m.bone_checked and m.crosses_bone
    assert m.first_bone_depth_mm == pytest.approx(40.5)
    assert m.first_bone_lps == pytest.approx((0.0, 39.5, 0.0))
    assert m.first_bone_hu == pytest.approx(520.0)
    assert not m.safe and m.verdict is SafetyVerdict.UNSAFE
    assert m.warnings[0] == (
        "crosses bone (CT 520 HU > 300 HU) at depth 40.5 mm from the entry, 29.5 mm before "
        "the target, LPS (0.0, 39.5, 0.0) mm"
    )


def test_target_on_bone_is_excluded_from_the_bone_check() -> None:
    arr, aff = _ct_with_slab()
    ct = volume(arr, aff)
    # target 2 mm inside the bone (y = 38): with the default 3 mm exclusion only depths up to
    # 42 − 3 = 39 mm (y ≥ 41) are checked
    m = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 38.0, 0.0), ct=ct)
    assert m.bone_checked and m.crosses_bone is False and m.hazards == ()
    assert m.warnings == ()
    strict = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 38.0, 0.0), ct=ct, bone_exclusion_mm=0)
    assert strict.crosses_bone and strict.first_bone_depth_mm == pytest.approx(40.5)
    # a higher threshold ignores the 520 HU half-voxel sample, not the slab
    high = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 10.0, 0.0), ct=ct, bone_hu=600)
    assert high.first_bone_depth_mm == pytest.approx(41.0)


def test_path_leaving_the_ct_is_not_safe() -> None:
    arr, aff = _ct_with_slab()
    ct = volume(arr, aff)
    # y > 99 lies outside the grid: depths 0 … 20.5 (y 120 … 99.5) are unchecked
    m = evaluate_trajectory((0.0, 120.0, 0.0), (0.0, 45.0, 0.0), ct=ct)
    assert m.crosses_bone is False and not m.bone_checked and not m.safe
    assert m.warnings[0] == (
        "the path lies outside the CT from depth 0.0 to 20.5 mm (of 75.0 mm): "
        "bone not checked there"
    )


def test_ct_must_be_a_ct() -> None:
    arr, aff = _ct_with_slab()
    with pytest.raises(PlanningError, match=r"needs a CT.*series 3 is MR"):
        evaluate_trajectory((0, 80, 0), (0, 10, 0), ct=volume(arr, aff, modality="MR"))


# --- landmarks ------------------------------------------------------------------------------
def test_landmark_clearance_by_hand() -> None:
    # path x = 0, y 80 → 10; root centre 5 mm beside it at y = 20 (depth 60)
    root = landmark("nerve_root", 5.0, 20.0, 0.0, 2.0, level="L5", side="left", id="r1")
    m = evaluate_trajectory((0, 80, 0), (0, 10, 0), landmarks=[root])
    (c,) = m.landmarks
    assert c.distance_mm == pytest.approx(3.0) and c.depth_mm == pytest.approx(60.0)
    assert c.closest_point_lps == pytest.approx((0.0, 20.0, 0.0))
    assert c.label == "nerve root L5 left"
    assert m.closest_landmark == c
    assert m.hazards == ()

    close = landmark("nerve_root", 5.0, 20.0, 0.0, 4.0, level="L5", side="left", id="r1")
    m = evaluate_trajectory((0, 80, 0), (0, 10, 0), landmarks=[close])
    assert not m.safe and m.verdict is SafetyVerdict.UNSAFE
    assert m.warnings[0] == (
        "passes 1.0 mm from nerve root L5 left (id r1), closer than the 2.0 mm margin, "
        "at depth 60.0 mm (10.0 mm before the target), LPS (0.0, 20.0, 0.0) mm"
    )
    relaxed = evaluate_trajectory((0, 80, 0), (0, 10, 0), landmarks=[close], margin_mm=0.5)
    assert relaxed.hazards == ()


def test_path_through_a_landmark_and_beyond_the_target() -> None:
    sac = landmark("thecal_sac", 1.0, 40.0, 0.0, 6.0, id="sac")
    past = landmark("nerve_root", 0.0, 0.0, 0.0, 2.0, id="past")  # 10 mm past the target
    m = evaluate_trajectory((0, 80, 0), (0, 10, 0), landmarks=[sac, past])
    by_id = {c.landmark_id: c for c in m.landmarks}
    assert by_id["sac"].distance_mm == pytest.approx(-5.0)
    assert by_id["past"].distance_mm == pytest.approx(8.0)  # to the target end, minus radius
    assert by_id["past"].depth_mm == pytest.approx(70.0)
    assert m.closest_landmark is not None and m.closest_landmark.landmark_id == "sac"
    assert m.warnings[0].startswith("passes through thecal sac (id sac): 5.0 mm inside its 6.0 mm")


def test_the_target_root_can_be_excluded() -> None:
    # SNRB: the target sits at the root; other roots still count
    target_root = landmark("nerve_root", 0.0, 8.0, 0.0, 3.0, level="L5", side="left", id="t")
    other = landmark("nerve_root", 30.0, 8.0, 0.0, 3.0, level="L4", side="left", id="o")
    m = evaluate_trajectory(
        (0, 80, 0), (0, 10, 0), landmarks=[target_root, other], exclude_landmark_ids={"t"}
    )
    assert m.hazards == ()
    assert m.landmarks[0].excluded and m.landmarks[0].distance_mm == pytest.approx(-1.0)
    assert m.closest_landmark is not None and m.closest_landmark.landmark_id == "o"
    assert not evaluate_trajectory((0, 80, 0), (0, 10, 0), landmarks=[target_root]).safe


# --- scar -----------------------------------------------------------------------------------
def _scar_grid() -> npt.NDArray[np.float64]:
    return affine((1.0, 1.0, 1.0), (-50.0, -20.0, -50.0))  # centre (i − 50, j − 20, k − 50)


def test_scar_distance_and_crossing_by_hand() -> None:
    aff = _scar_grid()
    beside = np.zeros((100, 100, 100), dtype=bool)
    beside[49:52, 40:46, 53:57] = True  # x = 3..6, y = 20..25, z = −1..1: 3 mm from x = 0
    m = evaluate_trajectory((0, 80.25, 0), (0, 10.25, 0), scar_masks=[(beside, aff)])
    assert m.scar_distance_mm == pytest.approx(3.0)
    assert 55.25 <= (m.scar_closest_depth_mm or 0) <= 60.25
    assert not m.crosses_scar and m.hazards == ()

    across = np.zeros((100, 100, 100), dtype=bool)
    across[48:53, 60:66, 48:53] = True  # y = 40..45 on the path
    m = evaluate_trajectory((0, 80.25, 0), (0, 10.25, 0), scar_masks=[(across, aff)])
    assert m.crosses_scar and m.scar_distance_mm == pytest.approx(0.0)  # through centres
    # samples at y = 80.25 − 0.5 n: the first whose nearest voxel is scar is y = 45.25
    assert m.scar_entry_depth_mm == pytest.approx(35.0)
    assert m.scar_entry_lps == pytest.approx((0.0, 45.25, 0.0))
    assert m.hazards == ()  # a caution, not a hazard
    assert m.warnings[-1] == (
        "crosses scar from depth 35.0 mm (35.0 mm before the target), LPS (0.0, 45.2, 0.0) mm"
    )
    # the nearest of several masks counts
    both = evaluate_trajectory(
        (0, 80.25, 0), (0, 10.25, 0), scar_masks=[(beside, aff), (across, aff)]
    )
    assert both.crosses_scar and both.scar_distance_mm == pytest.approx(0.0)


def test_scar_far_from_the_path_and_empty_masks() -> None:
    aff = _scar_grid()
    far = np.zeros((100, 100, 100), dtype=bool)
    far[50, 50, 80:82] = True  # x = 30..31, y = 30, z = 0
    m = evaluate_trajectory((0, 80, 0), (0, 10, 0), scar_masks=[(far, aff)])
    assert m.scar_distance_mm == pytest.approx(30.0)
    assert m.scar_closest_depth_mm == pytest.approx(50.0)
    empty = np.zeros((100, 100, 100), dtype=bool)
    m = evaluate_trajectory((0, 80, 0), (0, 10, 0), scar_masks=[(empty, aff)])
    assert m.scar_distance_mm == math.inf and m.scar_closest_depth_mm is None
    assert not m.crosses_scar


# --- anterior entry, refusals ---------------------------------------------------------------
def test_anterior_entry_is_a_hazard() -> None:
    m = evaluate_trajectory((0, -60, 0), (0, 10, 0))
    assert m.oblique_deg == pytest.approx(180.0)
    assert not m.safe
    assert m.warnings[0].startswith("entry (0.0, -60.0, 0.0) lies 70.0 mm anterior to the target")


def test_refusals() -> None:
    with pytest.raises(PlanningError, match=r"0\.50 mm apart"):
        evaluate_trajectory((0, 10.5, 0), (0, 10, 0))
    with pytest.raises(PlanningError, match="different frames of reference"):
        evaluate_trajectory(point(0, 80, 0), point(0, 10, 0, OTHER_FRAME))
    arr, aff = _ct_with_slab()
    with pytest.raises(PlanningError, match=r"CT: 1\.2\.826\.0\.1\.3680043\.8\.498\.2"):
        evaluate_trajectory(point(0, 80, 0), (0, 10, 0), ct=volume(arr, aff, frame=OTHER_FRAME))
    with pytest.raises(PlanningError, match="landmark x"):
        evaluate_trajectory(
            point(0, 80, 0),
            (0, 10, 0),
            landmarks=[landmark("artery", 0, 0, 0, 1, id="x", frame=OTHER_FRAME)],
        )
    with pytest.raises(PlanningError, match="step_mm must be > 0"):
        evaluate_trajectory((0, 80, 0), (0, 10, 0), step_mm=0)
    with pytest.raises(PlanningError, match="scar mask 0: expected a boolean mask"):
        evaluate_trajectory(
            (0, 80, 0),
            (0, 10, 0),
            scar_masks=[(np.zeros((2, 2, 2)), np.eye(4))],  # type: ignore[list-item]
        )
    with pytest.raises(PlanningError, match=r"scar mask 0: shape \(2, 2, 2\) differs"):
        evaluate_trajectory(
            (0, 80, 0), (0, 10, 0), scar_masks=[(np.zeros((2, 2, 2), bool), volume(arr, aff))]
        )


# speed is measured in benchmarks/evaluate_trajectory.py, not asserted here


# --- bone clearance -------------------------------------------------------------------------
def test_bone_clearance_of_the_shaft_by_hand() -> None:
    ct = volume(*_ct_with_slab())  # bone voxel centres at y = 30 … 39 (integer x, z)
    # the shaft ends 3 mm before the target (y = 48): 48 − 39 = 9 mm from the slab
    m = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 45.0, 0.0), ct=ct)
    assert m.bone_clearance_mm == pytest.approx(9.0)
    assert m.bone_clearance_depth_mm == pytest.approx(32.0)
    # the exempt tip zone is the one the bone crossing check leaves out
    near = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 41.0, 0.0), ct=ct)
    assert near.bone_clearance_mm == pytest.approx(5.0) and near.crosses_bone is False
    whole = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 41.0, 0.0), ct=ct, bone_exclusion_mm=0)
    assert whole.bone_clearance_mm == pytest.approx(2.0)
    # bone farther than the first search radius (15 mm) is still found, exactly
    far = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 60.0, 0.0), ct=ct)
    assert far.bone_clearance_mm == pytest.approx(24.0)
    # a shaft through bone passes through voxel centres here: clearance 0
    through = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 10.0, 0.0), ct=ct)
    assert through.crosses_bone and through.bone_clearance_mm == pytest.approx(0.0)


def test_bone_clearance_without_a_ct_or_without_bone() -> None:
    assert evaluate_trajectory((0, 80, 0), (0, 45, 0)).bone_clearance_mm is None
    arr, aff = _ct_with_slab()
    m = evaluate_trajectory((0, 80, 0), (0, 45, 0), ct=volume(np.zeros_like(arr), aff))
    assert m.bone_clearance_mm == math.inf and m.bone_clearance_depth_mm is None
    assert describe_path(m).clearances.endswith("no bone on the CT, no scar marked")


# --- the verdict: safe only when what it was checked against is named ----------------------
FAR_ROOT = landmark("nerve_root", 40.0, 60.0, 0.0, 2.5, level="L4", side="left", id="far")
SAC = landmark("thecal_sac", 0.0, 60.0, -40.0, 6.0, level="L5", side="midline", id="sac")


def test_no_root_or_thecal_sac_marked_is_not_assessed_never_safe() -> None:
    ct = volume(*_ct_with_slab())
    m = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 45.0, 0.0), ct=ct)
    assert m.hazards == () and not m.safe
    assert m.verdict is SafetyVerdict.NOT_ASSESSED
    assert m.unchecked == ("nerve_root", "thecal_sac")
    words = describe_path(m)
    assert words.verdict == "not assessed"
    assert words.safety == "not assessed — mark the roots and thecal sac"
    only_sac = describe_path(
        evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 45.0, 0.0), ct=ct, landmarks=[SAC])
    )
    assert only_sac.safety == "not assessed — mark the nerve roots"
    no_ct = describe_path(evaluate_trajectory((0, 80, 0), (0, 45, 0), landmarks=[FAR_ROOT, SAC]))
    assert no_ct.safety == "not assessed — load the CT to check bone"


def test_safe_names_every_structure_it_was_checked_against() -> None:
    ct = volume(*_ct_with_slab())
    m = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 45.0, 0.0), ct=ct, landmarks=[FAR_ROOT, SAC])
    assert m.verdict is SafetyVerdict.SAFE and m.safe and m.unchecked == ()
    assert [c.landmark_id for c in m.nearest_structures] == ["far", "sac"]
    words = describe_path(m)
    assert words.verdict == "safe"
    # root: 40 mm from the path, radius 2.5; sac: 40 mm, radius 6; bone: 48 − 39 mm
    assert words.clearances == (
        "nerve root L4 left 37.5 mm, thecal sac L5 34.0 mm, bone 9.0 mm, no scar marked"
    )
    assert words.safety == f"safe — clear of {words.clearances}"
    assert words.lines() == (
        "Path length: 35.0 mm",
        "Needle: 3.5 in (89 mm)",
        "C-arm: straight AP (0.0° oblique), no tilt",
        f"Clearances: {words.clearances}",
        f"Verdict: {words.safety}",
    )


def test_a_marked_root_on_the_path_makes_it_unsafe_and_is_named() -> None:
    ct = volume(*_ct_with_slab())
    on_path = landmark("nerve_root", 0.0, 60.0, 0.0, 2.5, level="L4", side="left", id="r-on")
    m = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 45.0, 0.0), ct=ct, landmarks=[on_path, SAC])
    assert m.verdict is SafetyVerdict.UNSAFE and not m.safe
    words = describe_path(m)
    assert words.verdict == "UNSAFE"
    assert words.safety.startswith(
        "UNSAFE — passes through nerve root L4 left (id r-on): 2.5 mm inside its 2.5 mm radius"
    )
    assert words.clearances.startswith("nerve root L4 left 2.5 mm inside, thecal sac L5 34.0 mm")
    # a hazard decides even when something else is missing (here: no thecal sac, no CT)
    alone = evaluate_trajectory((0.0, 80.0, 0.0), (0.0, 45.0, 0.0), landmarks=[on_path])
    assert alone.verdict is SafetyVerdict.UNSAFE


def test_the_verdict_rule_by_itself() -> None:
    assert unchecked_structures([(4.0, "nerve_root"), (9.0, "thecal_sac")], ct_given=True) == ()
    assert unchecked_structures([(4.0, "thecal_sac"), (1.0, "artery")], ct_given=False) == (
        "nerve_root",
        "bone",
    )
    # beyond the assessment reach a marked structure does not count
    assert unchecked_structures([(4.0, "nerve_root"), (41.0, "thecal_sac")], ct_given=True) == (
        "thecal_sac",
    )
    assert safety_verdict(["crosses bone"], ["nerve_root"]) is SafetyVerdict.UNSAFE
    assert safety_verdict([], ["thecal_sac"]) is SafetyVerdict.NOT_ASSESSED
    assert safety_verdict([], []) is SafetyVerdict.SAFE
