"""A target's block type changed after placement: structure, approach and level follow."""

from __future__ import annotations

from blockplan.case import Approach, BlockType, Case, Structure
from blockplan.planning import place_target
from blockplan.planning.retype import change_block_type
from tests.planning._factory import L4_TO_S1_MARKERS, point

MARKERS = L4_TO_S1_MARKERS
FORAMEN = point(25.0, 10.0, -20.0)  # left L5-S1 foramen


def _case(block: BlockType, approach: Approach | None) -> Case:
    target = place_target(FORAMEN, MARKERS, block_type=block, approach=approach)
    return Case(levels=MARKERS, targets=(target,))


def test_the_defaults_of_the_old_block_follow_the_new_one() -> None:
    case = _case(BlockType.TRANSFORAMINAL_EPIDURAL, Approach.SUBPEDICULAR)
    (before,) = case.targets
    assert (before.level, before.structure) == ("L5", Structure.NERVE_ROOT)
    retyped, summary = change_block_type(case, before.id, BlockType.MEDIAL_BRANCH)
    (after,) = retyped.targets
    assert after.block_type is BlockType.MEDIAL_BRANCH
    assert after.structure is Structure.FACET_JOINT
    assert after.approach is Approach.POSTERIOR_OBLIQUE
    assert after.level == "L5-S1"  # the facet joint is named by its segment
    assert summary == (
        "block type set: MBB — structure facet joint, level L5-S1 and approach posterior "
        "oblique follow it"
    )


def test_what_the_physician_chose_stays() -> None:
    case = _case(BlockType.SELECTIVE_NERVE_ROOT, Approach.EXTRAFORAMINAL)
    (before,) = case.targets
    retyped, summary = change_block_type(case, before.id, BlockType.TRANSFORAMINAL_EPIDURAL)
    (after,) = retyped.targets
    # same structure for both blocks; an approach chosen by hand is kept
    assert (after.structure, after.approach, after.level) == (
        Structure.NERVE_ROOT,
        Approach.EXTRAFORAMINAL,
        "L5",
    )
    assert summary == "block type set: TFESI"
    assert change_block_type(retyped, after.id, BlockType.TRANSFORAMINAL_EPIDURAL) == (
        retyped,
        "",
    )


def test_a_level_typed_by_hand_stays() -> None:
    case = _case(BlockType.TRANSFORAMINAL_EPIDURAL, None)
    (before,) = case.targets
    case = case.replace_item("targets", before.model_copy(update={"level": "L4"}))
    retyped, summary = change_block_type(case, before.id, BlockType.MEDIAL_BRANCH)
    (after,) = retyped.targets
    assert after.level == "L4" and after.structure is Structure.FACET_JOINT
    assert after.approach is Approach.POSTERIOR_OBLIQUE  # not recorded: the usual one
    assert summary == (
        "block type set: MBB — structure facet joint and approach posterior oblique follow it"
    )
