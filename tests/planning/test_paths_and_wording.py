"""Planned paths of a case (one rule for the screen, report and SR) and their wording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blockplan.case.model import Case, ScarRegion, Target, Trajectory
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.errors import PlanningError
from blockplan.planning import (
    PathPlanner,
    case_frame,
    describe_path,
    evaluate_trajectory,
    measure_paths,
    planning_ct,
    spared_landmark_ids,
)
from blockplan.planning import wording as w
from blockplan.planning.scar import mask_grid_for
from tests.planning._factory import OTHER_FRAME, affine, landmark, point, volume


def _target(structure: Structure, level: str, side: str, xyz: tuple[float, float, float]) -> Target:
    block = (
        BlockType.SELECTIVE_NERVE_ROOT
        if structure is Structure.NERVE_ROOT
        else BlockType.MEDIAL_BRANCH
    )
    return Target(
        id=f"t-{structure.value}",
        level=level,
        side=Laterality(side),
        structure=structure,
        block_type=block,
        position=point(*xyz),
    )


def _case(target: Target, entry: tuple[float, float, float], *landmarks: object) -> Case:
    return Case(
        targets=(target,),
        trajectories=(Trajectory(id="p1", target_id=target.id, entry=point(*entry)),),
        landmarks=tuple(landmarks),  # type: ignore[arg-type]
    )


ROOT = landmark("nerve_root", 20, 10, 0, 2.5, level="L5", side="left", id="root-L5-left")
OTHER_ROOT = landmark("nerve_root", 20, 10, -30, 2.5, level="S1", side="left", id="root-S1-left")


# --- the target-root rule ---------------------------------------------------------------------
def test_a_root_target_spares_only_its_own_root() -> None:
    t = _target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0))
    wrong_side = landmark("nerve_root", -20, 10, 0, 2.5, level="L5", side="right", id="r")
    assert spared_landmark_ids(t, [ROOT, OTHER_ROOT, wrong_side]) == ("root-L5-left",)


def test_a_facet_target_spares_nothing() -> None:
    t = _target(Structure.FACET_JOINT, "L5", "left", (20, 10, 0))
    assert spared_landmark_ids(t, [ROOT]) == ()


def test_path_onto_its_own_root_is_safe_and_onto_another_root_is_not() -> None:
    own = _case(_target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0)), (50, 80, 10), ROOT)
    m = measure_paths(own)["t-nerve_root"]
    assert m.safe and m.closest_landmark is None  # the only landmark is spared
    facet = _case(_target(Structure.FACET_JOINT, "L5", "left", (20, 10, 0)), (50, 80, 10), ROOT)
    m = measure_paths(facet)["t-facet_joint"]
    assert not m.safe
    assert describe_path(m).clearance == "2.5 mm inside nerve root L5 left"


def test_planner_reuses_results_until_an_input_changes() -> None:
    case = _case(_target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0)), (50, 80, 10), OTHER_ROOT)
    planner = PathPlanner()
    first = planner.measure(case)["t-nerve_root"]
    assert planner.measure(case)["t-nerve_root"] is first  # unchanged: not recomputed
    moved = case.replace_item(
        "trajectories", case.trajectories[0].model_copy(update={"entry": point(60, 80, 10)})
    )
    again = planner.measure(moved)["t-nerve_root"]
    assert again is not first and again.entry_lps == (60.0, 80.0, 10.0)


def test_unmeasurable_paths_raise_or_are_left_out() -> None:
    case = _case(_target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0)), (20, 10, 0.2))
    with pytest.raises(PlanningError, match="apart"):
        measure_paths(case)
    assert measure_paths(case, skip_unmeasurable=True) == {}


def test_planning_ct_is_the_first_ct_of_the_targets_frame() -> None:
    mr = volume(np.zeros((2, 2, 2)), affine(), modality="MR")
    other = volume(np.zeros((2, 2, 2)), affine(), frame=OTHER_FRAME)
    ct = volume(np.zeros((2, 2, 2)), affine())
    case = _case(_target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0)), (50, 80, 10))
    assert case_frame(case) == ct.frame_of_reference_uid
    assert planning_ct([mr, other, ct], case_frame(case)) is ct
    assert planning_ct([mr], case_frame(case)) is None
    assert planning_ct([other, ct], None) is other


def test_scar_of_the_case_is_measured_on_its_own_grid() -> None:
    ct = volume(np.zeros((20, 20, 20), dtype=np.int16), affine((2.0, 2.0, 2.0)))
    mask = np.zeros(ct.shape, bool)
    mask[5, 5, 5] = True  # voxel centre (10, 10, 10)
    scar = ScarRegion.from_mask(mask, mask_grid_for(ct))
    case = _case(_target(Structure.NERVE_ROOT, "L5", "left", (10, 20, 10)), (10, 38, 10))
    case = case.evolve(scar_regions=(scar,))
    m = measure_paths(case, [ct])["t-nerve_root"]
    assert m.scar_distance_mm == pytest.approx(10.0)
    assert describe_path(m).scar == "10.0 mm from scar"


# --- wording ----------------------------------------------------------------------------------
def test_c_arm_words() -> None:
    assert w.oblique_text(23.21, "left") == "23.2° left oblique"
    assert w.oblique_text(0.0, "midline") == "true PA (0.0° oblique)"
    assert w.tilt_text(7.46, "cranial") == "7.5° cranial tilt"
    assert w.tilt_text(0.0, "none") == "no tilt"
    assert w.c_arm_text(40, "right", 5, "caudal") == "40.0° right oblique, 5.0° caudal tilt"


def test_clearance_scar_and_safety_words() -> None:
    assert w.clearance_text(3.14, "nerve_root", "L5", "left") == "3.1 mm from nerve root L5 left"
    assert w.clearance_text(-1.2, "thecal_sac", "L4", "midline") == "1.2 mm inside thecal sac L4"
    assert w.scar_distance_text(None) == "no scar marked"
    assert w.scar_distance_text(4.04) == "4.0 mm from scar"
    assert w.safety_text(True, ["crosses scar"]) == "yes"
    assert w.safety_text(False, ["crosses bone", "x"]) == "NO: crosses bone; x"
    assert w.safety_text(False) == "NO"
    assert w.needle_label(88.9) == "3.5 in (89 mm)" and w.needle_label(None) == "none long enough"


def test_scar_volumes_read_cranial_to_caudal() -> None:
    text = w.scar_volume_text(1.7349, {"L5": 0.75, "unassigned": 0.01, "L4-L5": 0.98, "L4": 0.0})
    assert text == "1.73 mL in total; L4: 0.00 mL; L4-L5: 0.98 mL; L5: 0.75 mL; unassigned: 0.01 mL"


def test_describe_path_matches_the_metrics() -> None:
    m = evaluate_trajectory((50.0, 80.0, 10.0), (20.0, 10.0, 0.0), landmarks=[OTHER_ROOT])
    words = describe_path(m)
    assert words.length == f"{math.sqrt(30**2 + 70**2 + 10**2):.1f} mm"
    assert words.c_arm == m.c_arm_text == "23.2° left oblique, 7.5° cranial tilt"
    assert (words.oblique, words.tilt) == (m.oblique_label, m.tilt_label)
    assert words.clearance.endswith("mm from nerve root S1 left")
    assert words.scar == "no scar marked"
    assert words.safety == "yes" and words.verdict == "yes"
