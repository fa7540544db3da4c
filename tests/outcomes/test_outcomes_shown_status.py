"""One rule for the status a source is shown with (`blockplan.outcomes.shown_status`).

The physician read the demo report: the map drew the right L5 root as not yet tested while
the table said "indeterminate" — only a therapeutic TFESI had reached it. Map, tables,
Outcomes panel, viewer target colours and SR now take the status from `shown_status`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from blockplan.case.model import Case
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.demo import DEMO_PROFILE, build_demo_case
from blockplan.outcomes import (
    UNTESTED,
    UNTESTED_TEXT,
    SourceKey,
    Status,
    build_ledger,
    shown_status,
    shown_status_key,
    shown_status_text,
    target_status,
)
from blockplan.outcomes.evidence import status_key_text
from blockplan.report.findings import findings_from_ledger

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
RIGHT_L5_ROOT = SourceKey(level="L5", side=Laterality.RIGHT, structure=Structure.NERVE_ROOT)


@pytest.fixture(scope="module")
def demo() -> Case:
    return build_demo_case(SAMPLE)


def test_a_site_reached_only_by_a_therapeutic_block_has_no_diagnostic_block_yet(
    demo: Case,
) -> None:
    ledger = build_ledger(demo, DEMO_PROFILE)
    tfesi = next(b for b in ledger.blocks if b.block_type is BlockType.TRANSFORAMINAL_EPIDURAL)
    assert RIGHT_L5_ROOT in tfesi.sites  # the TFESI reached the right L5 root …
    source = ledger.source(RIGHT_L5_ROOT)
    assert source.status is Status.INDETERMINATE  # … the ledger's status (DOMAIN §5) …
    assert source.blocks == ()  # … but no block the profile adjudicates tested it
    assert shown_status(source) is None
    assert (shown_status_key(source), shown_status_text(source)) == (UNTESTED, UNTESTED_TEXT)
    assert source.status_text == (
        f"no diagnostic block yet (indeterminate under {ledger.profile_label}: no valid block)"
    )
    assert f"block #{tfesi.number} (transforaminal epidural injection) reached it but is not" in (
        " ".join(source.reasons)
    )
    # the viewer's target colour, the report's finding: the same rule
    target = next(t for t in demo.targets if t.block_type is BlockType.TRANSFORAMINAL_EPIDURAL)
    assert target_status(ledger, target) == UNTESTED
    finding = next(f for f in findings_from_ledger(ledger).sources if f.sites == source.sites)
    assert shown_status(finding) is None and shown_status_text(finding) == UNTESTED_TEXT


def test_a_source_with_blocks_is_shown_with_its_ledger_status(demo: Case) -> None:
    ledger = build_ledger(demo, DEMO_PROFILE)
    tested = [s for s in ledger.sources if s.blocks]
    assert {s.status for s in tested} >= {Status.CONFIRMED, Status.EXCLUDED}
    for source in tested:
        assert shown_status(source) is source.status
        assert shown_status_text(source) == source.status.text
        assert source.status_text == source.status.describe(ledger.profile_label)


def test_a_not_diagnostic_block_counts_as_tested(demo: Case) -> None:
    """A flagged diagnostic block (sedation) is no evidence, but the site was tested: it
    is shown indeterminate, not "no diagnostic block yet"."""
    tfesi = next(p for p in demo.procedures if p.block_type is BlockType.TRANSFORAMINAL_EPIDURAL)
    snrb = tfesi.model_copy(update={"block_type": BlockType.SELECTIVE_NERVE_ROOT})
    case = demo.evolve(procedures=tuple(snrb if p is tfesi else p for p in demo.procedures))
    ledger = build_ledger(case, DEMO_PROFILE)
    source = ledger.source(RIGHT_L5_ROOT)
    assert source.not_diagnostic and shown_status(source) is Status.INDETERMINATE
    assert shown_status_text(source) == "indeterminate"


def test_status_keys_read_back_in_the_same_words() -> None:
    assert status_key_text(UNTESTED) == UNTESTED_TEXT
    assert [status_key_text(s.value) for s in Status] == [s.text for s in Status]
