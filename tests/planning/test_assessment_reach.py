"""A marked root or thecal sac vouches for a path only within the assessment reach.

Found by a physician's trial: with one root and the thecal sac marked at L2, a path at L5
that ran straight through the unmarked L5 root was called *safe* ("clear of nerve root L2
left 61 mm, thecal sac 58 mm…"). A structure marked at another level says nothing about
the path: the verdict is *not assessed* and the words say which is the nearest marked and
how far it is (`ASSESSMENT_REACH_MM`, `unchecked_structures`, `wording.unchecked_text`).

The scene: a straight PA path (entry (22, 110, 0) → target (22, 55, 0), LPS mm) at "L5";
levels 32 mm apart on z (L4 at z = 32, L2 at z = 96); a bone-free CT around the path, so
bone is checked and the verdict rests on the marked structures only. The path is along
−y, so every clearance below is exact: distance to the nearest path point minus radius.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from blockplan.archive.sr import measurements_from
from blockplan.case.model import Landmark
from blockplan.planning import (
    ASSESSMENT_REACH_MM,
    SafetyVerdict,
    TrajectoryMetrics,
    describe_path,
    evaluate_trajectory,
    unchecked_structures,
)
from blockplan.planning import wording as w
from tests.planning._factory import affine as grid
from tests.planning._factory import landmark, volume

ENTRY = (22.0, 110.0, 0.0)
TARGET = (22.0, 55.0, 0.0)
CT = volume(np.zeros((21, 75, 21), dtype=np.int16), grid(origin=(12.0, 45.0, -10.0)))
"""Bone-free CT: x 12 … 32, y 45 … 119, z −10 … 10 mm (the whole path)."""

# marked at L2, three levels above the path: 93.0 and 92.5 mm from it
L2_ROOT = landmark("nerve_root", 22, 55, 96, 3.0, level="L2", side="left", id="root-L2")
L2_SAC = landmark("thecal_sac", 0, 55, 96, 6.0, level="L2", side="midline", id="sac-L2")
L2_ROOT_MM = 96.0 - 3.0
L2_SAC_MM = math.hypot(22.0, 96.0) - 6.0  # 92.49
# at the path's own level and the next one up
L5_ROOT = landmark("nerve_root", 26, 55, -14, 3.0, level="L5", side="left", id="root-L5")
L4_ROOT = landmark("nerve_root", 24, 55, 32, 3.0, level="L4", side="left", id="root-L4")
L5_SAC = landmark("thecal_sac", 0, 45, 0, 6.0, level="L5", side="midline", id="sac-L5")


def _measure(*landmarks: Landmark, exclude: tuple[str, ...] = ()) -> TrajectoryMetrics:
    return evaluate_trajectory(
        ENTRY, TARGET, ct=CT, landmarks=list(landmarks), exclude_landmark_ids=exclude
    )


def test_the_reach_is_about_one_vertebral_height() -> None:
    # more than the 30-35 mm between neighbouring lumbar roots, less than two levels (≥ 60)
    assert 35.0 <= ASSESSMENT_REACH_MM < 60.0


def test_a_root_and_sac_marked_at_l2_do_not_vouch_for_a_path_at_l5() -> None:
    m = evaluate_trajectory(ENTRY, TARGET, ct=CT, landmarks=[L2_ROOT, L2_SAC])
    assert m.hazards == () and m.bone_checked and m.crosses_bone is False
    assert m.verdict is SafetyVerdict.NOT_ASSESSED and not m.safe
    assert m.unchecked == ("nerve_root", "thecal_sac")
    words = describe_path(m)
    assert words.verdict == "not assessed"
    assert words.safety == (
        "not assessed — mark the nerve roots near the path (the nearest marked, nerve root L2 "
        f"left, is {L2_ROOT_MM:.1f} mm away) and the thecal sac near the path (the nearest "
        f"marked, thecal sac L2, is {L2_SAC_MM:.1f} mm away)"
    )
    assert "93.0 mm away" in words.safety and "92.5 mm away" in words.safety
    # the far structures are still listed with their clearances
    assert words.clearances == (
        f"nerve root L2 left {L2_ROOT_MM:.1f} mm, thecal sac L2 {L2_SAC_MM:.1f} mm, "
        "no bone on the CT, no scar marked"
    )
    # and the path was not safe: the L5 root, once marked where it lies, is on it
    on_path = landmark("nerve_root", 22, 70, 0, 3.0, level="L5", side="left", id="on")
    marked = evaluate_trajectory(ENTRY, TARGET, ct=CT, landmarks=[L2_ROOT, L2_SAC, on_path])
    assert marked.verdict is SafetyVerdict.UNSAFE
    assert describe_path(marked).safety.startswith("UNSAFE — passes through nerve root L5 left")


def test_only_the_far_kind_is_named() -> None:
    # the L5 sac is near; only the roots (marked at L2) are still to be marked near the path
    m = _measure(L2_ROOT, L5_SAC)
    assert m.verdict is SafetyVerdict.NOT_ASSESSED and m.unchecked == ("nerve_root",)
    assert describe_path(m).safety == (
        "not assessed — mark the nerve roots near the path (the nearest marked, nerve root "
        "L2 left, is 93.0 mm away)"
    )
    # and the thecal sac marked only at L2, with a near root
    sac_far = _measure(L5_ROOT, L2_SAC)
    assert sac_far.unchecked == ("thecal_sac",)
    assert describe_path(sac_far).safety == (
        "not assessed — mark the thecal sac near the path (the nearest marked, thecal sac L2, "
        "is 92.5 mm away)"
    )


def test_roots_at_l4_and_l5_within_reach_make_it_safe() -> None:
    for roots in ([L5_ROOT], [L4_ROOT], [L4_ROOT, L5_ROOT, L2_ROOT]):
        m = _measure(*roots, L5_SAC, L2_SAC)
        assert m.verdict is SafetyVerdict.SAFE and m.safe and m.unchecked == (), roots
    m = _measure(L2_ROOT, L4_ROOT, L5_ROOT, L5_SAC)
    # L5: √(4² + 14²) − 3 = 11.6 mm; sac: √(22² + 10²) − 6 = 18.2 mm
    assert describe_path(m).safety == (
        "safe — clear of nerve root L5 left 11.6 mm, thecal sac L5 18.2 mm, no bone on the "
        "CT, no scar marked"
    )


@pytest.mark.parametrize(("beyond", "verdict"), [(0.0, "safe"), (0.1, "not assessed")])
def test_a_root_exactly_at_the_reach_counts_and_one_beyond_does_not(
    beyond: float, verdict: str
) -> None:
    # straight above the target: clearance = z − radius, exactly the reach (or 0.1 mm more)
    z = ASSESSMENT_REACH_MM + 3.0 + beyond
    root = landmark("nerve_root", 22, 55, z, 3.0, level="L4", side="left", id="edge")
    m = _measure(root, L5_SAC)
    assert m.landmarks[0].distance_mm == pytest.approx(ASSESSMENT_REACH_MM + beyond, abs=1e-9)
    assert m.verdict.value == verdict
    if beyond:
        assert describe_path(m).safety == (
            "not assessed — mark the nerve roots near the path (the nearest marked, nerve "
            f"root L4 left, is {ASSESSMENT_REACH_MM + beyond:.1f} mm away)"
        )


def test_the_rule_by_itself_at_the_boundary() -> None:
    reach = ASSESSMENT_REACH_MM
    near = [(reach, "nerve_root"), (reach, "thecal_sac")]
    assert unchecked_structures(near, ct_given=True) == ()
    far = [(reach + 1e-6, "nerve_root"), (reach + 1e-6, "thecal_sac")]
    assert unchecked_structures(far, ct_given=False) == ("nerve_root", "thecal_sac", "bone")
    # the nearest of a kind decides: one root within reach is enough
    both = [(80.0, "nerve_root"), (5.0, "nerve_root"), (5.0, "thecal_sac")]
    assert unchecked_structures(both, ct_given=True) == ()
    # an artery never vouches, however near
    assert unchecked_structures([(1.0, "artery")], ct_given=True) == ("nerve_root", "thecal_sac")
    assert unchecked_structures(far, ct_given=True, reach_mm=reach + 1.0) == ()


def test_the_spared_own_root_never_counts() -> None:
    own = "nerve root L5 left"
    own_root = landmark("nerve_root", 22, 52, 0, 3.0, level="L5", side="left", id="own")
    # on the target, within any reach, but spared: not a hazard, and it does not vouch
    m = _measure(own_root, L5_SAC, exclude=("own",))
    assert m.hazards == () and m.verdict is SafetyVerdict.NOT_ASSESSED
    assert m.unchecked == ("nerve_root",)
    assert describe_path(m, own).safety == (
        "not assessed — mark the nerve roots near the path other than the target's own "
        "(nerve root L5 left)"
    )
    # with another root only at L2: named as the nearest other, still not assessed
    far = _measure(own_root, L2_ROOT, L5_SAC, exclude=("own",))
    assert far.verdict is SafetyVerdict.NOT_ASSESSED
    assert describe_path(far, own).safety == (
        "not assessed — mark the nerve roots near the path other than the target's own "
        "(nerve root L5 left; the nearest other marked, nerve root L2 left, is 93.0 mm away)"
    )
    # the neighbouring L4 root within reach vouches
    near = _measure(own_root, L4_ROOT, L5_SAC, exclude=("own",))
    assert near.verdict is SafetyVerdict.SAFE
    assert own not in describe_path(near, own).safety


def test_the_sr_reads_back_the_same_words() -> None:
    # the SR holds the nearest structure of each kind with its clearance and re-applies the
    # rule (`unchecked_structures`): its words are the planning screen's and the report's
    # (one bone voxel, far from the path, in the CT: the SR holds a bone clearance only when
    # it is finite)
    arr = np.zeros((21, 75, 21), dtype=np.int16)
    arr[0, 74, 0] = 1000  # LPS (12, 119, −10)
    ct = volume(arr, grid(origin=(12.0, 45.0, -10.0)))
    for landmarks in ([L2_ROOT, L2_SAC], [L2_ROOT, L5_SAC], [L4_ROOT, L5_SAC]):
        m = evaluate_trajectory(ENTRY, TARGET, ct=ct, landmarks=landmarks)
        assert m.bone_clearance_mm is not None and math.isfinite(m.bone_clearance_mm)
        back = measurements_from(m).words()
        assert back is not None
        assert back.safety == describe_path(m).safety
        assert back.lines() == describe_path(m).lines()


def test_the_wording_function_by_itself() -> None:
    far_root = (61.0, "nerve_root", "L2", "left")
    far_sac = (58.04, "thecal_sac", "L2", "midline")
    assert w.unchecked_text(["nerve_root"], structures=[far_root]) == (
        "mark the nerve roots near the path (the nearest marked, nerve root L2 left, is "
        "61.0 mm away)"
    )
    assert w.verdict_text("not assessed", "", (), ["thecal_sac", "bone"], None, [far_sac]) == (
        "not assessed — mark the thecal sac near the path (the nearest marked, thecal sac L2, "
        "is 58.0 mm away); load the CT to check bone"
    )
    # nothing marked: the words of before
    assert w.unchecked_text(["nerve_root", "thecal_sac"]) == "mark the roots and thecal sac"
