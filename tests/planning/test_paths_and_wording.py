"""Planned paths of a case (one rule for the screen, report and SR) and their wording."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from blockplan.case.model import Case, ScarRegion, Target, Trajectory
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.errors import PlanningError
from blockplan.planning import (
    PathPlanner,
    SafetyVerdict,
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


def test_path_onto_its_own_root_is_not_a_hazard_but_not_assessed_alone() -> None:
    own = _case(_target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0)), (50, 80, 10), ROOT)
    m = measure_paths(own)["t-nerve_root"]
    assert m.hazards == () and m.closest_landmark is None  # the only landmark is spared
    # checked against nothing: before issue 14 this asserted `m.safe` ("Safe: yes")
    assert m.verdict is SafetyVerdict.NOT_ASSESSED and not m.safe
    facet = _case(_target(Structure.FACET_JOINT, "L5", "left", (20, 10, 0)), (50, 80, 10), ROOT)
    m = measure_paths(facet)["t-facet_joint"]
    assert not m.safe and m.verdict is SafetyVerdict.UNSAFE
    assert describe_path(m).clearance == "2.5 mm inside nerve root L5 left"


def test_a_root_block_not_assessed_names_the_roots_still_to_mark() -> None:
    from blockplan.planning.paths import own_root_label

    # the physician marked the target's own root and the sac: the verdict must say that the
    # own root does not count, and which one it is (a physician's trial found "mark the
    # nerve roots" unhelpful with L5 left already marked)
    target = _target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0))
    target = target.model_copy(update={"block_type": BlockType.SELECTIVE_NERVE_ROOT})
    m = measure_paths(_case(target, (50, 80, 10), ROOT))["t-nerve_root"]
    assert m.verdict is SafetyVerdict.NOT_ASSESSED
    own = own_root_label(target)
    assert own == "nerve root L5 left"
    assert describe_path(m, own).safety == (
        "not assessed — mark the nerve roots near the path other than the target's own "
        "(nerve root L5 left) and the thecal sac; load the CT to check bone"
    )
    facet = _target(Structure.FACET_JOINT, "L5", "left", (20, 10, 0))
    assert own_root_label(facet) is None  # only a root block aims at a root


def _empty_ct() -> Any:
    """A bone-free CT around the test paths (x −10 … 69, y 0 … 99, z −40 … 29 mm)."""
    return volume(np.zeros((70, 100, 80), dtype=np.int16), affine(origin=(-10.0, 0.0, -40.0)))


SAC = landmark("thecal_sac", 0, 30, -30, 6.0, level="S1", side="midline", id="sac-S1")


@pytest.mark.parametrize(
    ("block", "spared"),
    [
        (BlockType.SELECTIVE_NERVE_ROOT, True),
        (BlockType.TRANSFORAMINAL_EPIDURAL, True),
        (BlockType.MEDIAL_BRANCH, False),
        (BlockType.FACET_INTRAARTICULAR, False),
    ],
)
def test_own_root_is_spared_only_for_blocks_that_aim_at_it(block: BlockType, spared: bool) -> None:
    # the target sits on the marked left L5 root; the S1 root and the sac are checked too
    target = Target(
        id="t",
        level="L5",
        side=Laterality.LEFT,
        structure=Structure.NERVE_ROOT,  # the structure does not decide, the block does
        block_type=block,
        position=point(20, 10, 0),
    )
    case = _case(target, (50, 80, 10), ROOT, OTHER_ROOT, SAC)
    assert spared_landmark_ids(target, case.landmarks) == (("root-L5-left",) if spared else ())
    m = measure_paths(case, [_empty_ct()])["t"]
    words = describe_path(m)
    if spared:
        assert m.verdict is SafetyVerdict.SAFE, m.warnings
        assert "L5" not in words.safety  # its own root is neither a hazard nor a clearance
        assert words.safety.startswith("safe — clear of nerve root S1 left")
    else:
        assert m.verdict is SafetyVerdict.UNSAFE
        assert words.safety.startswith("UNSAFE — passes through nerve root L5 left")


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
    assert w.oblique_text(0.0, "midline") == "straight AP (0.0° oblique)"
    assert w.tilt_text(7.46, "cranial") == "7.5° cranial tilt"
    assert w.tilt_text(0.0, "none") == "no tilt"
    assert w.c_arm_text(40, "right", 5, "caudal") == "40.0° right oblique, 5.0° caudal tilt"


def test_clearance_scar_and_verdict_words() -> None:
    assert w.clearance_text(3.14, "nerve_root", "L5", "left") == "3.1 mm from nerve root L5 left"
    assert w.clearance_text(-1.2, "thecal_sac", "L4", "midline") == "1.2 mm inside thecal sac L4"
    assert w.scar_distance_text(None) == "no scar marked"
    assert w.scar_distance_text(4.04) == "4.0 mm from scar"
    assert (
        w.structure_clearance_text(4.12, "nerve_root", "L5", "left") == "nerve root L5 left 4.1 mm"
    )
    assert w.structure_clearance_text(-0.5, "thecal_sac", "L5", "midline") == (
        "thecal sac L5 0.5 mm inside"
    )
    assert w.bone_clearance_text(None) == "bone not checked (no CT)"
    assert w.bone_clearance_text(8.06) == "bone 8.1 mm"
    listed = w.clearances_text(
        [(4.1, "nerve_root", "L5", "left"), (12.0, "thecal_sac", "L5", "midline")], 8.1, 18.0
    )
    assert listed == "nerve root L5 left 4.1 mm, thecal sac L5 12.0 mm, bone 8.1 mm, scar 18.0 mm"
    assert w.clearances_text([], None, None) == (
        "no marked structure, bone not checked (no CT), no scar marked"
    )
    assert w.verdict_text("safe", listed) == f"safe — clear of {listed}"
    assert w.verdict_text("unsafe", listed, ["crosses bone", "x"]) == "UNSAFE — crosses bone; x"
    assert w.verdict_text("unsafe", listed) == "UNSAFE"
    assert w.verdict_text("not assessed", listed, (), ["nerve_root", "thecal_sac"]) == (
        "not assessed — mark the roots and thecal sac"
    )
    assert w.unchecked_text(["thecal_sac", "bone"]) == (
        "mark the thecal sac; load the CT to check bone"
    )
    assert w.needle_label(88.9) == "3.5 in (89 mm)" and w.needle_label(None) == "none long enough"


def test_target_names() -> None:
    snrb = _target(Structure.NERVE_ROOT, "L5", "left", (20, 10, 0)).model_copy(update={"number": 1})
    assert w.target_name(snrb) == "T1 · L5 left SNRB" and w.target_tag(snrb) == "T1"
    mbb = _target(Structure.FACET_JOINT, "L4-L5", "right", (20, 10, 0)).model_copy(
        update={"number": 2}
    )
    unassigned = mbb.model_copy(update={"id": "u", "level": None, "number": 3})
    tfesi = snrb.model_copy(
        update={"id": "f", "block_type": BlockType.TRANSFORAMINAL_EPIDURAL, "number": 4}
    )
    names = w.target_names([snrb, mbb, unassigned, tfesi])
    assert list(names.values()) == [
        "T1 · L5 left SNRB",
        "T2 · L4-L5 right MBB",
        "T3 · right MBB, level unassigned",
        "T4 · L5 left TFESI",
    ]
    assert set(w.BLOCK_ABBREVIATIONS) == set(BlockType)  # every block type has a short name


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
    # no thecal sac and no CT: not "yes" any more (issue 14)
    assert words.verdict == "not assessed"
    assert words.safety == "not assessed — mark the thecal sac; load the CT to check bone"
