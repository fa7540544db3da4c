"""The demo report as a pain physician read it: what was repeated, drawn or worded wrong.

Each test is one remark of that reading, checked on the text of the demo report's PDF
(`blockplan demo`): the profile named once in "Sources in detail", no status restated in
its reasons, the map drawing only levels someone marked or named, block verdicts not
restated in every row, the two injections of a medial branch block told apart, and the
references without a doubled full stop.
"""

from __future__ import annotations

import re

import pytest
from reportlab.graphics.shapes import Drawing, Group, String

from blockplan.case.model import Case
from blockplan.outcomes import Status, shown_status_text, why_and_blocks
from blockplan.outcomes.ledger import Ledger
from blockplan.planning.wording import target_tag
from blockplan.report.findings import ReportFindings
from blockplan.report.fonts import register_fonts
from blockplan.report.spinemap import pain_source_map
from tests.report._demo_reading import flat, section


def test_sources_in_detail_names_the_profile_once_and_no_status_twice(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    text = " ".join(demo[1])
    detail = section(text, "Sources in detail", "Note: block #4")  # the table, not the notes
    label = ledger.profile_label
    assert detail.count(label) == 1, detail  # the caption
    assert detail.startswith(f" Statuses under {label};")
    for source in ledger.sources:
        # the row: the source, its status (its column, once, as the map shows it:
        # `shown_status`) and the ledger's reasons
        row = f"{source.label} {shown_status_text(source)} {' '.join(source.reasons)}"
        assert flat(row) in detail, row
        assert source.status_text not in detail  # "confirmed as a pain source under …"
        assert not any(r.startswith(f"{label}:") for r in source.reasons)
    # the demo's confirmed row reads as a note: the pair, then the blocks
    assert (
        "L5, left, nerve root confirmed lidocaine (block #1) relief to 60 min, bupivacaine "
        "(block #3) relief to 180 min: concordant — counts as positive block #1 (2026-04-07"
    ) in detail
    # the ranked table (from the first page on) says the same "why" — every reason, as the
    # Outcomes panel's Ledger tab (`why_and_blocks`) — without the profile before it
    first = flat(demo[1][0])
    assert f"{label}: " not in first
    assert flat(ledger.sources[0].reasons[0]) in first
    ranked = section(text, "What would settle it", "Sources in detail")
    for source in ledger.sources:
        words = why_and_blocks(source)
        assert f"{flat(words.why)} {words.blocks}" in ranked, source.label


def _strings(node: Drawing | Group) -> list[str]:
    found: list[str] = []
    for item in node.contents:
        if isinstance(item, String):
            found.append(item.text)
        elif isinstance(item, Group):
            found += _strings(item)
    return found


def test_the_map_draws_no_level_above_the_top_marker(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    case, pages = demo
    marked = [m.level for m in case.levels]
    assert "T12" in marked and "T11" not in marked  # the demo marks T12–S1
    first = flat(pages[0])
    map_text = first.split("Pain-source findings", 1)[1].split("Under profile", 1)[0]
    assert "T11" not in map_text, map_text  # once drawn above the top marker
    for level in ("T12", "L1", "L5", "S1", "T12-L1", "L5-S1"):
        assert level in map_text, level
    assert "Drawn: the levels from the highest to the lowest that a level marker" in first


@pytest.mark.parametrize(
    ("marked", "top"),
    [(("L1", "L2", "L3", "L4", "L5", "S1"), "L1"), (("L4", "L5", "S1"), "L4")],
)
def test_the_map_starts_at_the_top_marker(marked: tuple[str, ...], top: str) -> None:
    fonts = register_fonts()
    findings = ReportFindings(profile_name="comparative", profile_version="1.1.0")
    drawing = pain_source_map(
        findings, font=fonts.regular, bold_font=fonts.bold, extra_levels=marked
    )
    names = [s for s in _strings(drawing) if s not in ("R", "L")]
    vertebrae = [s for s in names if "-" not in s]
    assert vertebrae == list(marked), names  # nothing extrapolated above or below
    assert vertebrae[0] == top


def test_block_rows_do_not_restate_their_verdict_and_profile(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    adjudication = section(" ".join(demo[1]), "Adjudication", "Comparative pairs")
    label = ledger.profile_label
    for block in ledger.blocks:
        assert f"{block.verdict.text} under {label}" not in adjudication, block.number
    # the profile once for every verdict, under the table
    assert f"Verdicts under {label}. NRS: baseline pain" in adjudication
    assert flat(ledger.blocks[0].reasons[0]) in adjudication


def test_the_two_injections_of_a_medial_branch_block_read_apart(
    demo: tuple[Case, list[str]],
) -> None:
    case, pages = demo
    procedures = section(" ".join(pages), "Procedures", "Procedure details")
    mbb = next(p for p in case.procedures if p.block_type.value == "mbb")
    assert len(mbb.injections) == 2
    lines = []
    for inj in mbb.injections:
        assert inj.target_id is not None
        tag = target_tag(case.target(inj.target_id))
        lines.append(f"{tag} · {inj.level} {inj.side.value}: lidocaine 2 % {inj.volume_ml:g} mL")
    assert lines[0] != lines[1]  # once both read "L4-L5 right: lidocaine 2 % 0.5 mL"
    for line in lines:
        assert line in procedures, line
    # the dose on a line of its own, never split between number and unit ("0.5 / mL")
    raw = "\n".join(pages)
    for inj in mbb.injections:
        dose = f"lidocaine 2 % {inj.volume_ml:g} mL"
        assert re.search(rf"^{re.escape(dose)}$", raw, re.MULTILINE), dose


def test_references_carry_no_doubled_full_stop(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    text = flat(" ".join(demo[1]))
    assert ".;" not in text
    based_on = section(text, "Based on:", "Blocks")
    assert "Pain 1993;55:99-106; Lord SM" in based_on
    assert based_on.count("; ") >= len(ledger.profile_citations) - 1
    assert Status.CONFIRMED.text in text


def test_the_method_note_states_the_assessment_reach(demo: tuple[Case, list[str]]) -> None:
    """The report's method note said "not assessed while no nerve root or no thecal sac is
    marked": since a marked structure vouches for a path only within reach of it, the note
    says so, with the reach the verdicts use."""
    from blockplan.planning.trajectory import ASSESSMENT_REACH_MM

    text = re.sub(r"\s+", "", " ".join(demo[1]))
    assert re.sub(r"\s+", "", f"is marked within {ASSESSMENT_REACH_MM:g} mm of the path") in text
