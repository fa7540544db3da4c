"""Levels you can trust: marker edits recompute and flag every target (sample study truth)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.model import Case, PatientPoint, Target
from blockplan.case.vocab import BlockType, Laterality, Structure, TransitionalVertebra
from blockplan.errors import PlanningError
from blockplan.planning import (
    add_level_marker,
    change_level_markers,
    confirm_target_level,
    delete_level_marker,
    landmark_level_and_side,
    level_text,
    locate_point,
    markable_levels,
    markers_in_order,
    move_level_marker,
    place_level_marker,
    place_target,
    rename_level_marker,
    renumber_levels,
    set_target_level,
    set_target_side,
    set_transitional_vertebra,
    transitional_text,
    unconfirmed_targets,
)
from tests.planning._factory import marker, point, straight_spine

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
FRAME = TRUTH["frame_of_reference_uid"]
SNRB = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")  # left L5, L5-S1 foramen


def _at(lps: list[float]) -> PatientPoint:
    return PatientPoint(lps=tuple(lps), frame_of_reference_uid=FRAME)  # type: ignore[arg-type]


def _centre(name: str) -> PatientPoint:
    return _at({**TRUTH["vertebrae"], **TRUTH["discs"]}[name]["center_lps"])


def _mark(case: Case, names: list[str], at: list[str] | None = None) -> Case:
    """Markers named ``names`` placed one by one at the truth centres of ``at``."""
    for name, where in zip(names, at or names):
        case = add_level_marker(case, _centre(where), name)
    return case


def _with_snrb(case: Case) -> tuple[Case, str]:
    target = place_target(
        _at(SNRB["target_lps"]), case.levels, block_type=BlockType.SELECTIVE_NERVE_ROOT
    )
    return case.replace_item("targets", target), target.id


# --- the first level is the physician's -------------------------------------------------------
def test_the_first_marker_needs_a_level_chosen_by_the_physician() -> None:
    with pytest.raises(PlanningError, match=r"choose the level .* need not start at T12"):
        place_level_marker(_centre("L3"), [])
    first = place_level_marker(_centre("L3"), [], "L3")
    assert first.level == "L3"
    assert place_level_marker(_centre("L3-L4"), [first]).level == "L3-L4"  # then proposed


def test_a_ct_starting_at_l3_names_the_l5_target_l5() -> None:
    case = _mark(Case(), ["L3", "L4", "L5", "S1"])
    assert [m.level for m in case.levels] == ["L3", "L4", "L5", "S1"]
    case, tid = _with_snrb(case)
    assert (case.target(tid).level, case.target(tid).side) == ("L5", Laterality.LEFT)
    assert level_text(case.target(tid)) == "L5"
    # counted from T12 (the old default) the same clicks named it L2: the error
    wrong, wrong_id = _with_snrb(_mark(Case(), ["T12", "L1", "L2", "L3"], ["L3", "L4", "L5", "S1"]))
    assert wrong.target(wrong_id).level == "L2"


# --- marker edits recompute and flag --------------------------------------------------------
def test_recounting_the_markers_fixes_and_flags_the_target() -> None:
    case, tid = _with_snrb(_mark(Case(), ["T12", "L1", "L2", "L3"], ["L3", "L4", "L5", "S1"]))
    top = markers_in_order(case)[0]
    # renaming only the top marker makes two L3s: refused, and the recount is suggested
    with pytest.raises(PlanningError, match=r"L3 marked more than once.*rename with a recount"):
        rename_level_marker(case, top.id, "L3")
    fixed = rename_level_marker(case, top.id, "L3", recount=True)
    assert [m.level for m in markers_in_order(fixed)] == ["L3", "L4", "L5", "S1"]
    target = fixed.target(tid)
    assert target.level == "L5" and target.side is Laterality.LEFT
    assert target.level_change is not None and target.level_change.level == "L2"
    assert level_text(target) == "L5 — confirm (was L2 left)"
    assert unconfirmed_targets(fixed) == (target,)
    confirmed = confirm_target_level(fixed, tid)
    assert confirmed.target(tid).level_change is None
    assert level_text(confirmed.target(tid)) == "L5"


def test_moving_a_marker_recomputes_the_level_and_moving_it_back_clears_the_flag() -> None:
    case = _mark(Case(), ["L3", "L4", "L5", "S1"])
    s1 = next(m for m in case.levels if m.level == "S1")
    with pytest.raises(PlanningError, match=r"markers L5 and S1 lie 0\.0 mm apart \(same place"):
        move_level_marker(case, s1.id, _centre("L5"))
    levels = straight_spine()  # L1 … S1 every 40 mm down the z axis; L5 at z = 0
    facet = place_target(point(20.0, 10.0, 5.0), levels, block_type=BlockType.MEDIAL_BRANCH)
    case = Case(levels=tuple(levels), targets=(facet,))
    assert (facet.level, facet.side) == ("L5", Laterality.LEFT)
    l5 = next(m for m in case.levels if m.level == "L5")
    moved = move_level_marker(case, l5.id, point(0.0, 0.0, -8.0))  # L5 marked 8 mm too low
    assert moved.target(facet.id).level == "L4-L5"
    assert level_text(moved.target(facet.id)) == "L4-L5 — confirm (was L5 left)"
    back = move_level_marker(moved, l5.id, point(0.0, 0.0, 0.0))
    assert back.target(facet.id).level == "L5" and back.target(facet.id).level_change is None


def test_deleting_a_marker_unassigns_and_flags_then_restoring_clears() -> None:
    case, tid = _with_snrb(_mark(Case(), ["L3", "L4", "L5", "S1"]))
    s1 = next(m for m in case.levels if m.level == "S1")
    gone = delete_level_marker(case, s1.id)
    target = gone.target(tid)
    # the L5-S1 foramen lies below the L5 zone once S1 is gone: no level, flagged
    assert target.level is None
    assert level_text(target) == "level unassigned — confirm (was L5 left)"
    again = add_level_marker(gone, _centre("S1"), "S1")
    assert again.target(tid).level == "L5" and again.target(tid).level_change is None


def test_a_target_before_levels_gets_its_side_from_the_midline_then_its_level_flagged() -> None:
    target = place_target(_at(SNRB["target_lps"]), [], block_type=BlockType.SELECTIVE_NERVE_ROOT)
    assert (target.level, target.side) == (None, Laterality.LEFT)  # x = +33 mm: patient left
    assert level_text(target) == "level unassigned"
    right = place_target(_at([-25.75, 75.08, -158.74]), [], block_type=BlockType.MEDIAL_BRANCH)
    assert right.side is Laterality.RIGHT
    case = Case(targets=(target,))
    case = _mark(case, ["L4"])
    assert case.target(target.id).level_change is None  # still unassigned, side unchanged
    case = _mark(case, ["L5", "S1"])
    placed = case.target(target.id)
    assert placed.level == "L5" and placed.side is Laterality.LEFT
    assert placed.level_change is not None and placed.level_change.level is None
    assert level_text(placed) == "L5 — confirm (was unassigned, left)"


def test_side_before_levels_comes_from_the_one_marker_placed() -> None:
    one = [marker("L4", 10.0, 0.0, 0.0)]  # a patient lying 10 mm off the scanner centre
    found = locate_point(point(4.0, 0.0, -10.0), one)
    assert found.side is Laterality.RIGHT and found.lateral_mm == pytest.approx(-6.0)
    assert "through level marker L4" in found.reason
    assert locate_point(point(4.0, 0.0, -10.0), []).side is Laterality.LEFT  # x = 0 plane
    assert locate_point(point(8.0, 0.0, -10.0), one).side is Laterality.MIDLINE  # ± 3 mm


def test_a_hand_level_stays_until_the_markers_change_where_the_target_lies() -> None:
    levels = straight_spine()  # L1 … S1, 40 mm apart, on the z axis
    case = Case(levels=tuple(levels))
    mbb = place_target(point(-20.0, 10.0, 0.0), levels, block_type=BlockType.MEDIAL_BRANCH)
    assert mbb.level == "L5"
    case = set_target_level(case.replace_item("targets", mbb), mbb.id, "L4")  # L4 branch
    assert case.target(mbb.id).level == "L4" and case.target(mbb.id).level_change is None
    # adding a marker elsewhere does not change where the target lies: the hand level stays
    case = add_level_marker(case, point(0.0, 0.0, 180.0), "T12-L1")
    assert case.target(mbb.id).level == "L4" and case.target(mbb.id).level_change is None
    # renumbering the spine does: the markers' answer replaces it, flagged with the old one
    l1 = next(m for m in case.levels if m.level == "L1")
    case = rename_level_marker(case, l1.id, "L2", recount=True)
    assert case.target(mbb.id).level == "S1"
    assert level_text(case.target(mbb.id)) == "S1 — confirm (was L4 right)"


def test_landmarks_are_recomputed_and_a_root_is_named_like_its_target() -> None:
    case = _mark(Case(), ["L3", "L4", "L5", "S1"])
    root = next(r for r in TRUTH["nerve_roots"] if r["root"] == "L5" and r["side"] == "left")
    level, side = landmark_level_and_side("nerve_root", _at(root["foramen_lps"]), case.levels)
    assert (level, side) == ("L5", Laterality.LEFT)  # the root an L5 SNRB aims at
    from blockplan.planning import place_landmark

    lm = place_landmark("nerve_root", _at(root["foramen_lps"]), case.levels)
    case = case.replace_item("landmarks", lm)
    recount = rename_level_marker(case, markers_in_order(case)[0].id, "L2", recount=True)
    assert recount.landmarks[0].level == "L4"


# --- hand edits -------------------------------------------------------------------------------
def test_an_inconsistent_side_is_refused_with_the_distance_and_what_to_do() -> None:
    case, tid = _with_snrb(_mark(Case(), ["L3", "L4", "L5", "S1"]))
    with pytest.raises(
        PlanningError,
        match=r"target side right: the target lies 3\d\.\d mm to the patient's left of the "
        r"midline .*keep left, or move the target",
    ):
        set_target_side(case, tid, "right")
    with pytest.raises(PlanningError, match="target side midline"):
        set_target_side(case, tid, "midline")
    with pytest.raises(PlanningError, match=r"target side 'upper' is not valid: expected one"):
        set_target_side(case, tid, "upper")
    # before levels the midline is x = 0 and the message says so
    early, early_id = _with_snrb(Case())
    with pytest.raises(PlanningError, match=r"x = 0 mm \(no level markers yet\)"):
        set_target_side(early, early_id, "right")


def test_a_side_near_the_midline_may_be_set_by_hand_and_confirms() -> None:
    levels = straight_spine()
    ilesi = place_target(point(2.0, 10.0, 20.0), levels, block_type=BlockType.INTERLAMINAR_EPIDURAL)
    case = Case(levels=tuple(levels), targets=(ilesi,))
    assert ilesi.side is Laterality.MIDLINE
    case = set_target_side(case, ilesi.id, "left")  # a left paramedian approach
    assert case.target(ilesi.id).side is Laterality.LEFT
    # a marker edit that does not move the midline keeps it; one that does flags it
    l1 = next(m for m in case.levels if m.level == "L1")
    case = move_level_marker(case, l1.id, point(1.0, 0.0, 160.0))
    assert case.target(ilesi.id).side is Laterality.LEFT
    everything = [
        m.model_copy(update={"position": point(12.0, 0.0, m.position.lps[2])}) for m in case.levels
    ]
    shifted = change_level_markers(case, everything)  # midline now at x = 12: target right
    target = shifted.target(ilesi.id)
    assert target.side is Laterality.RIGHT
    assert level_text(target) == "L4-L5 — confirm (was L4-L5 left)"


def test_a_level_far_from_the_position_is_refused() -> None:
    case, tid = _with_snrb(_mark(Case(), ["L3", "L4", "L5", "S1"]))
    with pytest.raises(
        PlanningError,
        match=r"target level L2: the level markers place this target at L5, 3\.\d levels away "
        r"\(at most 1\.25 is accepted\): type L5, or move the target or the markers",
    ):
        set_target_level(case, tid, "L2")
    with pytest.raises(PlanningError, match=r"target level 'X9' is not valid"):
        set_target_level(case, tid, "X9")
    flagged = rename_level_marker(case, markers_in_order(case)[0].id, "L2", recount=True)
    assert flagged.target(tid).level_change is not None
    edited = set_target_level(flagged, tid, "L4")  # typing a level confirms it
    assert edited.target(tid).level == "L4" and edited.target(tid).level_change is None


# --- markers that make no spine -------------------------------------------------------------
def test_marker_edits_that_make_no_spine_are_refused() -> None:
    case = _mark(Case(), ["L3", "L4", "L5"])
    l4 = next(m for m in case.levels if m.level == "L4")
    with pytest.raises(PlanningError, match=r"L5 marked more than once: delete the extra"):
        rename_level_marker(case, l4.id, "L5")
    with pytest.raises(PlanningError, match=r"'L9' is not valid"):
        rename_level_marker(case, l4.id, "L9")
    with pytest.raises(PlanningError, match=r"cranial to"):
        move_level_marker(case, l4.id, _centre("S1"))
    with pytest.raises(PlanningError, match=r"vertebra into a disc"):
        rename_level_marker(case, l4.id, "L4-L5", recount=True)
    with pytest.raises(PlanningError, match=r"beyond C1 or S5"):
        rename_level_marker(case, l4.id, "S5", recount=True)
    with pytest.raises(PlanningError, match=r"level marker nope is not in the case"):
        delete_level_marker(case, "nope")


# --- transitional anatomy ---------------------------------------------------------------------
def test_a_lumbarised_s1_is_marked_l6_and_a_sacralised_l5_keeps_its_name() -> None:
    assert "L6" not in markable_levels([])
    assert markable_levels([], transitional_l6=True)[-12:-8] == ("L5-L6", "L6", "L6-S1", "S1")
    case = _mark(Case(), ["L4", "L5"])
    with pytest.raises(PlanningError, match=r"marker L6 names a sixth lumbar vertebra: note"):
        add_level_marker(case, _centre("S1"), "L6")
    lumbar = set_transitional_vertebra(case, "lumbarised_s1")
    assert transitional_text(lumbar.transitional_vertebra) == "lumbarised S1 (marked L6)"
    with pytest.raises(PlanningError, match=r"vertebra below L5 is L6, but marker S1 skips"):
        add_level_marker(lumbar, _centre("S1"), "S1")
    six = add_level_marker(lumbar, _centre("S1"), "L6")
    assert [m.level for m in markers_in_order(six)] == ["L4", "L5", "L6"]
    with pytest.raises(PlanningError, match=r"marker L6 names a sixth lumbar"):
        set_transitional_vertebra(six, TransitionalVertebra.SACRALISED_L5)
    sacral = set_transitional_vertebra(case, TransitionalVertebra.SACRALISED_L5)
    assert transitional_text(sacral.transitional_vertebra) == "sacralised L5 (marked L5)"
    assert transitional_text(None) == "none noted"
    assert renumber_levels(["T12", "L1"], "T12", "L5") == ("L5", "S1")
    assert renumber_levels(["T12", "L1"], "T12", "L5", transitional_l6=True) == ("L5", "L6")


def test_a_sacroiliac_target_has_no_level_and_reads_as_a_dash() -> None:
    sij = Target(
        side=Laterality.LEFT,
        structure=Structure.SACROILIAC_JOINT,
        block_type=BlockType.SACROILIAC_JOINT,
        position=point(40.0, 10.0, -30.0),
    )
    assert level_text(sij) == "–"


# --- the flag is stored -----------------------------------------------------------------------
def test_the_flag_survives_the_case_file(tmp_path: Path) -> None:
    case, tid = _with_snrb(_mark(Case(), ["T12", "L1", "L2", "L3"], ["L3", "L4", "L5", "S1"]))
    case = rename_level_marker(case, markers_in_order(case)[0].id, "L3", recount=True)
    case = set_transitional_vertebra(case, "sacralised_l5")
    path = save_case_file(case, tmp_path / "flagged.blockplan.json")
    back = load_case_file(path)
    assert back.target(tid).level_change == case.target(tid).level_change
    assert level_text(back.target(tid)) == "L5 — confirm (was L2 left)"
    assert back.transitional_vertebra is TransitionalVertebra.SACRALISED_L5


# --- a facet joint is named by the physician ---------------------------------------------------
def test_the_joints_beside_a_vertebra() -> None:
    from blockplan.case.vocab import joints_beside

    assert joints_beside("L4") == ("L3-L4", "L4-L5")
    assert joints_beside("L5") == ("L4-L5", "L5-S1")
    assert joints_beside("S1") == ("L5-S1",)  # the sacrum below S1 is fused
    assert joints_beside("C1") == ("C1-C2",)
    assert joints_beside("L6") == ("L5-L6", "L6-S1")  # a transitional L6
    assert joints_beside("S3") == ()


def test_a_facet_target_level_with_a_vertebra_asks_for_its_joint_until_typed() -> None:
    """Two medial branch needles for the right L4-L5 facet, on the L4 and L5 transverse
    processes (level with their pedicles, truth markers at the body and disc centres):
    each is named by its vertebra, and its level says to name the joint — on screen and
    in the report (`level_text`) and in the ledger, whose source "(L4 …) + (L5 …)" gets
    the reason; typed L4-L5, the words go and the two needles are one source."""
    from blockplan.case.model import Injection, Procedure
    from blockplan.case.vocab import Agent
    from blockplan.outcomes import build_ledger

    case = _mark(Case(), ["L3", "L3-L4", "L4", "L4-L5", "L5", "L5-S1", "S1"])
    ids = []
    for vertebra in ("L4", "L5"):
        pedicle = TRUTH["vertebrae"][vertebra]["pedicle_centers_lps"]["right"]
        target = place_target(
            _at([pedicle[0] - 12.0, pedicle[1], pedicle[2]]),
            case.levels,
            block_type=BlockType.MEDIAL_BRANCH,
        )
        case = case.replace_item("targets", target)
        ids.append(target.id)
    l4, l5 = (case.target(i) for i in ids)
    assert (l4.level, l4.structure, l4.side) == ("L4", Structure.FACET_JOINT, Laterality.RIGHT)
    assert level_text(l4) == "L4 — name the facet joint (L3-L4 or L4-L5)"
    assert level_text(l5) == "L5 — name the facet joint (L4-L5 or L5-S1)"
    block = Procedure(
        id="b1",
        performed_at="2026-04-07T09:00:00+02:00",
        block_type=BlockType.MEDIAL_BRANCH,
        injections=tuple(
            Injection.at_target(case.target(i), agent=Agent.LIDOCAINE, volume_ml=0.5) for i in ids
        ),
    )
    case = case.replace_item("procedures", block)
    sources = build_ledger(case, "asra-2020-single").sources
    source = next(s for s in sources if len(s.sites) == 2)  # "(L4 …) + (L5 …)"
    assert "L4 is a vertebra: name the facet joint (L3-L4 or L4-L5)" in source.reasons
    assert "L5 is a vertebra: name the facet joint (L4-L5 or L5-S1)" in source.reasons
    for i in ids:
        case = set_target_level(case, i, "L4-L5")
    assert [level_text(case.target(i)) for i in ids] == ["L4-L5", "L4-L5"]
    sources = build_ledger(case, "asra-2020-single").sources
    assert [s.label for s in sources] == ["L4-L5, right, facet joint"]
    source = sources[0]
    assert not [r for r in source.reasons if "name the facet joint" in r]
