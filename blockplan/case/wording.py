"""How a procedure record's contrast reads: one wording for the report and the form.

Decision support, not a medical device.
"""

from __future__ import annotations

from blockplan.case.model import Contrast
from blockplan.case.vocab import BlockType, ContrastPattern

__all__ = ["PATTERN_QUESTION_BLOCKS", "contrast_pattern_text", "contrast_text"]

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
