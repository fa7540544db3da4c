"""Why a source has its status and which blocks reached it (`blockplan.outcomes.why_and_blocks`).

The physician found the Ledger tab's Why showing only the first reason and Blocks empty for
the right L5 root, which only a therapeutic transforaminal epidural (block #4) had reached.
One core function words both for the panel and the report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from blockplan.case.model import Case
from blockplan.case.vocab import THERAPEUTIC_BLOCK_TYPES, BlockType, Laterality, Structure
from blockplan.demo import DEMO_PROFILE, build_demo_case
from blockplan.outcomes import (
    SourceEvidence,
    SourceKey,
    Status,
    WhyAndBlocks,
    build_ledger,
    why_and_blocks,
)
from blockplan.report.findings import SourceFinding, findings_from_ledger

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
RIGHT_L5_ROOT = SourceKey(level="L5", side=Laterality.RIGHT, structure=Structure.NERVE_ROOT)
RIGHT_FACET = SourceKey(level="L4-L5", side=Laterality.RIGHT, structure=Structure.FACET_JOINT)
NOT_DIAGNOSTIC = (
    "block #4 (transforaminal epidural injection) reached it but is not a diagnostic block "
    "under this profile"
)


@pytest.fixture(scope="module")
def demo() -> Case:
    return build_demo_case(SAMPLE)


def test_a_source_reached_only_by_a_therapeutic_block(demo: Case) -> None:
    source = build_ledger(demo, DEMO_PROFILE).source(RIGHT_L5_ROOT)
    assert (source.blocks, source.therapeutic, source.not_adjudicated) == ((), (4,), ())
    assert why_and_blocks(source) == WhyAndBlocks(
        why=f"no valid diagnostic block tested this source; {NOT_DIAGNOSTIC}",
        blocks="block #4 (therapeutic)",
    )


def test_a_diagnostic_and_a_therapeutic_block_on_one_source(demo: Case) -> None:
    """A later SNRB of the right L5 root (under sedation, with steroid: not diagnostic)
    joins the therapeutic block, in time order; only the therapeutic one is marked."""
    tfesi = next(p for p in demo.procedures if p.block_type is BlockType.TRANSFORAMINAL_EPIDURAL)
    snrb = tfesi.model_copy(
        update={
            "id": "b5",
            "block_type": BlockType.SELECTIVE_NERVE_ROOT,
            "performed_at": tfesi.performed_at + dt.timedelta(days=14),
            "session_id": "later-sitting",
        }
    )
    case = demo.evolve(procedures=(*demo.procedures, snrb))
    source = build_ledger(case, DEMO_PROFILE).source(RIGHT_L5_ROOT)
    assert source.status is Status.INDETERMINATE and source.not_diagnostic == (5,)
    words = why_and_blocks(source)
    assert words.blocks == "block #4 (therapeutic), block #5"
    # every reason, in the ledger's order, each once
    assert words.why == "; ".join(source.reasons)
    assert words.why.startswith("no valid diagnostic block tested this source; ")
    assert NOT_DIAGNOSTIC in words.why


def test_diagnostic_blocks_are_named_unmarked_with_every_reason(demo: Case) -> None:
    source = build_ledger(demo, DEMO_PROFILE).source(RIGHT_FACET)
    words = why_and_blocks(source)
    assert words.blocks == "block #2"
    assert words.why == (
        "valid negative block #2 and no valid positive block; block #2 (2026-04-07, medial "
        "branch block, lidocaine): negative — peak relief 25 % stays below the 80 % threshold"
    )


def test_a_block_outside_the_profile_s_scope_is_marked_not_adjudicated(demo: Case) -> None:
    """The SIJ profile adjudicates only sacroiliac joints: the facet MBB reached the facet
    but is not adjudicated there, and it is not called therapeutic."""
    source = build_ledger(demo, "sij").source(RIGHT_FACET)
    assert BlockType.MEDIAL_BRANCH not in THERAPEUTIC_BLOCK_TYPES
    assert why_and_blocks(source).blocks == "block #2 (not adjudicated)"


def test_reasons_are_joined_once_each_in_their_order_and_blocks_sorted() -> None:
    finding = SourceFinding(
        sites=(RIGHT_L5_ROOT,),
        status=Status.INDETERMINATE,
        reasons=("second", "first", "second", "third"),
        blocks=(7, 2),
        therapeutic=(5,),
        not_adjudicated=(1,),
    )
    assert why_and_blocks(finding) == WhyAndBlocks(
        why="second; first; third",
        blocks="block #1 (not adjudicated), block #2, block #5 (therapeutic), block #7",
    )
    untouched = SourceEvidence(
        sites=(RIGHT_L5_ROOT,), label="L5, right, nerve root", status=Status.INDETERMINATE,
        status_text="", reasons=("no valid diagnostic block tested this source",),
    )  # fmt: skip
    assert why_and_blocks(untouched).blocks == ""


def test_the_report_s_findings_carry_the_same_words(demo: Case) -> None:
    ledger = build_ledger(demo, DEMO_PROFILE)
    findings = {f.sites: f for f in findings_from_ledger(ledger).sources}
    for source in ledger.sources:
        assert why_and_blocks(findings[source.sites]) == why_and_blocks(source), source.label


def test_the_cli_text_shows_the_panels_status_and_the_therapeutic_block(demo: Case) -> None:
    """`blockplan outcomes` printed the ledger's "indeterminate" and "–" for the right L5
    root; it says what the panel and the report say, and names block #4 as therapeutic."""
    from blockplan.outcomes.text import ledger_to_text

    ledger = build_ledger(demo, DEMO_PROFILE)
    text = ledger_to_text(ledger)
    row = next(line for line in text.splitlines() if line.startswith("   2  L5, right"))
    assert "no diagnostic block yet" in row and "indeterminate" not in row
    assert row.rstrip().endswith("†4")
    assert "†N therapeutic injection" in text
