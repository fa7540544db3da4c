"""How a block and a case are named on screen: the ledger's block line, the case's name."""

from __future__ import annotations

from pathlib import Path

from blockplan.case import Case
from blockplan.demo import build_demo_case
from blockplan.outcomes.ledger import build_ledger

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def test_a_block_line_names_number_verdict_time_abbreviation_sites_and_agent() -> None:
    case = build_demo_case(SAMPLE)
    ledger = build_ledger(case, case.profile_name)
    lines = {b.number: b.list_line for b in ledger.blocks}
    assert (
        lines[1] == "Block #1 — positive · 2026-04-07 09:00 · SNRB L5 left nerve root · lidocaine"
    )
    for block in ledger.blocks:
        line = block.list_line
        # the verdict first: a narrow list cuts the sites and the agent, never the verdict
        assert line.startswith(f"Block #{block.number} — {block.short_verdict} · ")
        assert block.block_type.value not in line.split(" · ")[2].split()  # "MBB", not "mbb"


def test_a_case_is_named_by_its_title_or_the_start_of_its_id() -> None:
    titled = Case(title="Left L5 root")
    assert titled.display_name == "case “Left L5 root”"
    untitled = Case()
    assert untitled.display_name == f"case {untitled.case_id[:8]}"
    assert untitled.case_id not in untitled.display_name
