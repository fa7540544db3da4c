"""The block vocabulary's defaults: the structure a block tests and its usual approach."""

from __future__ import annotations

from blockplan.case.vocab import Approach, BlockType, Structure


def test_every_block_type_has_a_usual_approach_that_fits_its_structure() -> None:
    usual = {block: block.usual_approach for block in BlockType}
    assert usual[BlockType.TRANSFORAMINAL_EPIDURAL] is Approach.SUBPEDICULAR
    assert usual[BlockType.SELECTIVE_NERVE_ROOT] is Approach.SUBPEDICULAR
    assert usual[BlockType.INTERLAMINAR_EPIDURAL] is Approach.INTERLAMINAR
    assert usual[BlockType.CAUDAL_EPIDURAL] is Approach.CAUDAL
    assert usual[BlockType.MEDIAL_BRANCH] is Approach.POSTERIOR_OBLIQUE
    # a default is never "other": it names the approach the physician then confirms
    assert Approach.OTHER not in usual.values()
    # epidural blocks go through the epidural approaches, not the joint ones
    for block, approach in usual.items():
        if block.structure is Structure.EPIDURAL_SPACE:
            assert approach in {Approach.INTERLAMINAR, Approach.CAUDAL}
