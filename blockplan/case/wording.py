"""How a procedure record's contrast reads: one wording for the report and the form.

Decision support, not a medical device.
"""

from __future__ import annotations

from blockplan.case.model import Contrast
from blockplan.case.vocab import BlockType, ContrastPattern, Structure, is_segment, joints_beside

__all__ = [
    "PATTERN_QUESTION_BLOCKS",
    "contrast_pattern_text",
    "contrast_text",
    "unnamed_joint_text",
]

PATTERN_QUESTION_BLOCKS: frozenset[BlockType] = frozenset(
    {BlockType.SELECTIVE_NERVE_ROOT, BlockType.TRANSFORAMINAL_EPIDURAL}
)
"""Blocks aimed at a nerve root, whose contrast answers "along the root, foraminal or
neither?" (shared/DOMAIN.md §2, the SNRB row). For any other block (a medial branch block,
a facet or sacroiliac joint injection) that question does not apply, so "neither" says
nothing about it."""

_PATTERN_WORDS: dict[ContrastPattern, str] = {
    ContrastPattern.ALONG_ROOT: "along the root",
    ContrastPattern.FORAMINAL: "foraminal",
    ContrastPattern.EPIDURAL: "epidural",
    ContrastPattern.INTRA_ARTICULAR: "intra-articular",
    ContrastPattern.NEITHER: "neither along the root nor foraminal",
    ContrastPattern.NOT_USED: "not used",
}

NOT_APPLICABLE = "pattern not applicable"
"""The pattern of a block the root-block pattern question does not apply to."""


def contrast_pattern_text(pattern: ContrastPattern, block_type: BlockType | None = None) -> str:
    """The contrast pattern in a physician's words.

    Parameters
    ----------
    pattern : ContrastPattern
    block_type : BlockType, optional
        The block the contrast was given for. ``"neither"`` answers the root-block question
        (along the root / foraminal / neither); for a block outside
        `PATTERN_QUESTION_BLOCKS` it reads ``"pattern not applicable"``. None: the words
        of the choice itself (a form's list).

    Returns
    -------
    str
        E.g. ``"along the root"``, ``"epidural"``, ``"neither along the root nor
        foraminal"``, ``"pattern not applicable"``, ``"not used"``.
    """
    if (
        pattern is ContrastPattern.NEITHER
        and block_type is not None
        and block_type not in PATTERN_QUESTION_BLOCKS
    ):
        return NOT_APPLICABLE
    return _PATTERN_WORDS[pattern]


def contrast_text(contrast: Contrast, block_type: BlockType) -> str:
    """The contrast of a procedure in one line, e.g. ``"iohexol 300 0.3 mL; along the
    root"``, ``"iohexol 300 0.2 mL; pattern not applicable"`` (a medial branch block),
    ``"none"`` when no contrast was given; intravascular uptake with or without DSA after.
    """
    if contrast.pattern is ContrastPattern.NOT_USED and not contrast.volume_ml:
        return "none"
    if contrast.pattern is ContrastPattern.NOT_USED:  # contrast given, no pattern chosen
        pattern = "pattern not recorded"
    else:
        pattern = contrast_pattern_text(contrast.pattern, block_type)
    text = f"{contrast.agent or 'contrast'} {contrast.volume_ml:g} mL; {pattern}"
    if contrast.intravascular_uptake:
        text += "; intravascular uptake" + (" (DSA)" if contrast.dsa_used else " (no DSA)")
    return text


_BETWEEN_VERTEBRAE: dict[Structure, str] = {
    Structure.FACET_JOINT: "facet joint",
    Structure.DISC: "disc",
}


def unnamed_joint_text(level: str | None, structure: Structure | str) -> str | None:
    """What a facet-joint or disc target (or pain source) named by a vertebra lacks, in
    the words of the Planning panel, the ledger and the report — None when its level names
    a joint (or it is no facet joint or disc, or has no level).

    A facet joint and a disc lie between two vertebrae (`Structure`, shared/DOMAIN.md §2:
    two medial branches per joint). A target placed level with a vertebral body keeps
    that vertebra (`blockplan.planning.levels.level_for_structure`): the two needles of one
    joint's medial branch block, at the transverse processes above and below it, would
    otherwise be two sources that do not exist ("L4, facet joint" and "L5, facet joint")
    instead of the L4-L5 joint. E.g. ``"L4 is a vertebra: name the facet joint (L3-L4 or
    L4-L5)"``.
    """
    structure = Structure(structure)
    what = _BETWEEN_VERTEBRAE.get(structure)
    if what is None or level is None or is_segment(level):
        return None
    try:
        joints = joints_beside(level)
    except ValueError:
        return None
    choice = f" ({' or '.join(joints)})" if joints else ""
    return f"{level} is a vertebra: name the {what}{choice}"
