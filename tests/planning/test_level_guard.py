"""The wrong-level guard (issue 19 point 4): markers against the automatic count."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from blockplan.case.model import Case, LevelMarker, PatientPoint, Target
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.io.volume import ImageVolume
from blockplan.planning import confirm_target_level, level_text, unconfirmed_targets
from blockplan.planning.level_guard import (
    check_level_markers,
    flag_targets_near_disagreement,
    level_check_for_case,
    targets_near_disagreement,
)
from blockplan.planning.level_proposal import LevelProposal, propose_levels
from tests.planning._level_phantom import FRAME, Truth, Variant, build

BODIES = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")


@cache
def _phantom() -> tuple[ImageVolume, Truth, LevelProposal]:
    volume, truth = build(Variant(seed=5))
    return volume, truth, propose_levels(volume)


def _markers(
    truth: Truth, names: tuple[str, ...], at: tuple[str, ...] = BODIES
) -> tuple[LevelMarker, ...]:
    """Markers named ``names`` placed at the true centres of the bodies ``at``."""
    return tuple(
        LevelMarker(
            level=n,
            position=PatientPoint(lps=tuple(truth.centres[b]), frame_of_reference_uid=FRAME),
        )  # type: ignore[arg-type]
        for n, b in zip(names, at, strict=True)
    )


def _target(truth: Truth, body: str, dx: float = 25.0) -> Target:
    x, y, z = truth.centres[body] + np.array([dx, 20.0, 0.0])
    return Target(
        level=None,
        side=Laterality.LEFT,
        structure=Structure.FACET_JOINT,
        block_type=BlockType.MEDIAL_BRANCH,
        position=PatientPoint(lps=(x, y, z), frame_of_reference_uid=FRAME),
    )


def test_markers_on_the_right_bodies_agree() -> None:
    _, truth, proposal = _phantom()
    check = check_level_markers(_markers(truth, BODIES), proposal)
    assert check.status == "agree" and check.disagreements == ()
    assert len(check.pairs) == 7
    assert check.message == (
        "Level count: the markers agree with the automatic count (counted from the sacrum "
        "and the lowest ribs, which agree) at 7 bodies and discs (T12–S1)"
    )


def test_markers_counted_one_level_off_disagree_with_both_counts() -> None:
    _, truth, proposal = _phantom()
    # the physician started one too high: the body that is T12 was marked L1, and so on
    wrong = _markers(truth, ("L1", "L2", "L3", "L4", "L5"), at=("T12", "L1", "L2", "L3", "L4"))
    check = check_level_markers(wrong, proposal)
    assert check.status == "disagree" and len(check.disagreements) == 5
    assert check.disagreements[0].offset == -1
    assert (
        "disagree by one level — the level marked L1 is T12 by the automatic count" in check.message
    )
    assert "markers name these bodies L1–L5, the automatic count T12–L4" in check.message


def test_targets_near_a_disagreement_are_flagged_until_confirmed() -> None:
    _, truth, proposal = _phantom()
    markers = (*_markers(truth, ("L1", "L2", "L3"), at=("L1", "L2", "L3")),
               *_markers(truth, ("L5",), at=("L4",)))  # fmt: skip
    near, far = _target(truth, "L4"), _target(truth, "L1")
    case = Case(levels=markers, targets=(near, far))
    check = check_level_markers(case.levels, proposal)
    assert check.status == "disagree" and [p.marker_label for p in check.disagreements] == ["L5"]
    assert [t.id for t in targets_near_disagreement(case, check)] == [near.id]
    flagged = flag_targets_near_disagreement(case, check)
    assert [t.id for t in unconfirmed_targets(flagged)] == [near.id]
    shown = level_text(flagged.target(near.id))
    assert shown.endswith("— confirm (the automatic level count disagrees near it)")
    confirmed = confirm_target_level(flagged, near.id)
    assert unconfirmed_targets(confirmed) == ()
    assert flagged.target(near.id).level == near.level  # nothing renamed, only flagged


def test_nothing_to_compare_says_why() -> None:
    volume, truth, _ = _phantom()
    empty = propose_levels(volume.with_array(volume.array, modality="PT"))
    check = check_level_markers(_markers(truth, BODIES), empty)
    assert check.status == "not_compared"
    assert check.message.startswith("Level count: not compared — series 2: modality PT")
    assert (
        check_level_markers((), empty).message == "Level count: not compared — no level markers yet"
    )
    other = tuple(
        m.model_copy(
            update={"position": PatientPoint(lps=m.position.lps, frame_of_reference_uid="1.2.9")}
        )
        for m in _markers(truth, BODIES)
    )
    assert "another frame of reference" in check_level_markers(other, _phantom()[2]).message


def test_the_check_for_a_case_uses_the_ct_of_its_markers_frame() -> None:
    volume, truth, _ = _phantom()
    case = Case(levels=_markers(truth, BODIES))
    check = level_check_for_case(case, [volume])
    assert check is not None and check.status == "agree"
    assert level_check_for_case(Case(), [volume]) is None
    assert level_check_for_case(case, []) is None


# --- accepting a proposal (issue 19 point 3, the core half) ---------------------------------
def test_shifting_moves_every_name_and_keeps_the_positions() -> None:
    from blockplan.planning.level_proposal import shift_proposal

    _, _, proposal = _phantom()
    down = shift_proposal(proposal, 1)
    assert [lv.label for lv in down.levels][:3] == ["L1", "L1-L2", "L2"]
    assert [lv.label for lv in down.levels][-2:] == ["S1-S2", "S2"]
    assert [lv.centre_lps for lv in down.levels] == [lv.centre_lps for lv in proposal.levels]
    assert down.reasons[-1] == "shifted 1 level caudally by the physician"
    assert shift_proposal(proposal, 0) is proposal
    up = shift_proposal(proposal, -12)  # T12 - 12 levels falls off the spine: dropped
    assert up.levels[0].label == "T1" and "T12" not in [lv.label for lv in up.levels]


def test_accepted_markers_become_the_case_markers_with_an_audit_summary() -> None:
    from blockplan.errors import PlanningError
    from blockplan.planning.level_accept import accept_proposed_levels
    from blockplan.planning.level_proposal import shift_proposal

    _, truth, proposal = _phantom()
    old = Case(
        levels=_markers(truth, ("L1", "L2"), at=("L1", "L2")), targets=(_target(truth, "L4"),)
    )
    moved_l3 = tuple(float(v) for v in truth.centres["L3"] + [0.0, 0.0, 2.0])
    case, summary = accept_proposed_levels(old, proposal, moved={"L3": moved_l3})  # type: ignore[dict-item]
    assert [m.level for m in case.levels] == [lv.label for lv in proposal.levels]
    assert next(m for m in case.levels if m.level == "L3").position.lps == moved_l3
    assert case.targets[0].level == "L4"  # recomputed from the accepted markers
    assert summary.startswith(
        "level markers proposed automatically on CT series 2 (counted from the sacrum and the "
        "lowest ribs, which agree) and accepted: T12–S1, 13 markers"
    )
    assert summary.endswith("; moved by the physician before accepting: L3")
    _, shifted = accept_proposed_levels(Case(), shift_proposal(proposal, -1))
    assert "T11–L5" in shifted and "; shifted 1 level cranially by the physician" in shifted
    empty = LevelProposal((), ("x",), "1.2", 2, FRAME)
    with pytest.raises(PlanningError, match="no proposed level to accept"):
        accept_proposed_levels(Case(), empty)
