"""The contrast pattern's words (`blockplan.case.wording`): one wording for report and form."""

from __future__ import annotations

import pytest

from blockplan.case.model import Contrast
from blockplan.case.vocab import BlockType, ContrastPattern
from blockplan.case.wording import PATTERN_QUESTION_BLOCKS, contrast_pattern_text, contrast_text

NOT_ROOT_BLOCKS = [b for b in BlockType if b not in PATTERN_QUESTION_BLOCKS]


def test_root_blocks_are_the_ones_asked_along_the_root_or_foraminal() -> None:
    assert {
        BlockType.SELECTIVE_NERVE_ROOT,
        BlockType.TRANSFORAMINAL_EPIDURAL,
    } == PATTERN_QUESTION_BLOCKS
    assert BlockType.MEDIAL_BRANCH in NOT_ROOT_BLOCKS


@pytest.mark.parametrize("block_type", NOT_ROOT_BLOCKS)
def test_neither_is_not_applicable_outside_root_blocks(block_type: BlockType) -> None:
    assert contrast_pattern_text(ContrastPattern.NEITHER, block_type) == "pattern not applicable"
    contrast = Contrast(agent="iohexol 300", volume_ml=0.2, pattern=ContrastPattern.NEITHER)
    assert contrast_text(contrast, block_type) == "iohexol 300 0.2 mL; pattern not applicable"


@pytest.mark.parametrize("block_type", sorted(PATTERN_QUESTION_BLOCKS))
def test_neither_is_an_answer_for_a_root_block(block_type: BlockType) -> None:
    words = contrast_pattern_text(ContrastPattern.NEITHER, block_type)
    assert words == "neither along the root nor foraminal"


@pytest.mark.parametrize("block_type", list(BlockType))
def test_an_observed_spread_prints_for_every_block(block_type: BlockType) -> None:
    """Epidural or intra-articular spread is a finding whatever the block."""
    assert contrast_pattern_text(ContrastPattern.EPIDURAL, block_type) == "epidural"
    assert contrast_pattern_text(ContrastPattern.INTRA_ARTICULAR, block_type) == "intra-articular"
    assert contrast_pattern_text(ContrastPattern.ALONG_ROOT, block_type) == "along the root"


def test_contrast_line() -> None:
    mbb = BlockType.MEDIAL_BRANCH
    assert contrast_text(Contrast(), mbb) == "none"
    given = Contrast(agent="iohexol 300", volume_ml=0.3)  # given, no pattern chosen
    assert contrast_text(given, mbb) == "iohexol 300 0.3 mL; pattern not recorded"
    uptake = Contrast(
        volume_ml=1, pattern=ContrastPattern.EPIDURAL, intravascular_uptake=True, dsa_used=False
    )
    assert (
        contrast_text(uptake, BlockType.TRANSFORAMINAL_EPIDURAL)
        == "contrast 1 mL; epidural; intravascular uptake (no DSA)"
    )


def test_every_choice_has_words_without_underscores() -> None:
    words = [contrast_pattern_text(p) for p in ContrastPattern]
    assert len(set(words)) == len(words)
    assert not any("_" in w for w in words)
