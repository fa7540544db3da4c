"""A target's block type changed after placement: what follows it.

A target placed as a TFESI and retyped as an MBB in the planning table kept "nerve root"
and "subpedicular": an MBB of the L5 root, whose evidence went to (L5, left, nerve root)
and whose path was judged without sparing the root it no longer aims at. The structure,
the approach and the level's naming follow the new block type where they were the old
block's defaults; what the physician chose otherwise stays.

Decision support, not a medical device.
"""

from __future__ import annotations

from blockplan.case.model import Case, Target
from blockplan.case.vocab import BLOCK_ABBREVIATIONS, BlockType
from blockplan.planning.placement import target_level_and_side
from blockplan.planning.wording import approach_text, structure_text

__all__ = ["change_block_type"]


def change_block_type(case: Case, target_id: str, block_type: BlockType) -> tuple[Case, str]:
    """``case`` with the target's block type set to ``block_type``, and what changed, in words.

    * the **structure** becomes the block's (`BlockType.structure`) when it was the old
      block's; a structure chosen otherwise stays;
    * the **approach** becomes the block's usual one (`BlockType.usual_approach`) when it
      was the old block's usual one or not recorded;
    * when the structure changes, the **level** is named again for it from the level
      markers (`target_level_and_side`: the root in the L5-S1 foramen is "L5", the facet
      joint there "L5-S1"), unless the level was not the markers' (typed by hand).

    Returns the case and the summary, e.g. ``"block type set: MBB — structure facet joint,
    approach posterior oblique and level L5-S1 follow it"``.
    """
    target = case.target(target_id)
    old = target.block_type
    if block_type is old:
        return case, ""
    update: dict[str, object] = {"block_type": block_type}
    followed: list[str] = []
    if target.structure is old.structure and block_type.structure is not target.structure:
        update["structure"] = block_type.structure
        followed.append(f"structure {structure_text(block_type.structure)}")
        level = _level_for(target, case, block_type)
        if level is not None:
            update["level"] = level
            followed.append(f"level {level}")
    if target.approach in (None, old.usual_approach) and (
        block_type.usual_approach is not target.approach
    ):
        update["approach"] = block_type.usual_approach
        followed.append(f"approach {approach_text(block_type.usual_approach)}")
    data = target.model_dump()
    data.update(update)
    retyped = Target.model_validate(data)
    summary = f"block type set: {BLOCK_ABBREVIATIONS[block_type]}"
    if followed:
        words = ", ".join(followed[:-1]) + (" and " if len(followed) > 1 else "") + followed[-1]
        summary += f" — {words} follow it"
    return case.replace_item("targets", retyped), summary


def _level_for(target: Target, case: Case, block_type: BlockType) -> str | None:
    """The level the markers give the target for the new block's structure, when its level
    is the one they gave for the old structure (never a level typed by hand); else None."""
    if len(case.levels) < 2:
        return None
    before, _ = target_level_and_side(target.position, target.structure, case.levels)
    if before is None or before != target.level:
        return None
    after, _ = target_level_and_side(target.position, block_type.structure, case.levels)
    return after if after != target.level else None
