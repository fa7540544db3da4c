"""The demo report as a pain physician read it a second time.

Each test is one remark of that reading, checked on the demo report (`blockplan demo`):
the spine map and the findings table giving one status per source, the reevaluation
suggestions naming the profile once (as the reasons do), the contrast column of a block
whose pattern question does not apply, and ODI percentages printed one way.
"""

from __future__ import annotations

import re

from reportlab.graphics.shapes import Circle, Drawing, Group, String

from blockplan.case.model import Case
from blockplan.case.vocab import BlockType, ContrastPattern
from blockplan.outcomes import (
    UNTESTED_TEXT,
    SourceKey,
    Status,
    shown_status,
    shown_status_text,
)
from blockplan.outcomes.ledger import Ledger
from blockplan.report.findings import findings_from_ledger
from blockplan.report.fonts import register_fonts
from blockplan.report.spinemap import _collect, legend_drawing, pain_source_map
from tests.report._demo_reading import flat, section


def test_suggestions_name_the_profile_once_as_the_reasons_do(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    """Every suggestion ended its condition with "under comparative v1.1.0"; the profile is
    named once, in the caption above them."""
    label = ledger.profile_label
    assert ledger.suggestions, "the demo confirms a root: a suggestion is expected"
    part = section(" ".join(demo[1]), "Reevaluation suggestions", "Outcome measures")
    assert part.count(label) == 1, part
    assert part.startswith(
        f" Decision support: prompts for the treating physician that follow "
        f"from the statuses under {label}; not orders."
    )
    for s in ledger.suggestions:
        assert label not in s.condition
        about = f" ({'; '.join(s.sources)})" if s.sources else ""
        assert flat(f"{s.condition}{about}: {s.text}") in part, s.rule


def test_contrast_of_a_medial_branch_block_reads_not_applicable(
    demo: tuple[Case, list[str]],
) -> None:
    """The MBB row printed the root-block answer "neither": for a block the pattern
    question (along the root / foraminal / neither) does not apply to, it reads "pattern
    not applicable"; a root block keeps its recorded pattern."""
    case, pages = demo
    procedures = section(" ".join(pages), "Procedures", "Procedure details")
    assert "neither" not in procedures, procedures
    mbb = next(p for p in case.procedures if p.block_type is BlockType.MEDIAL_BRANCH)
    snrb = next(p for p in case.procedures if p.block_type is BlockType.SELECTIVE_NERVE_ROOT)
    assert mbb.contrast.pattern is ContrastPattern.NEITHER  # as the physician recorded it
    assert "iohexol 300 0.2 mL; pattern not applicable" in procedures
    assert snrb.contrast.pattern is ContrastPattern.ALONG_ROOT
    assert "iohexol 300 0.3 mL; along the root" in procedures


def test_odi_prints_one_decimal_in_the_report_and_the_cli_text(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    """ "48 %" stood beside "28.9 %" (and "-19.1 points"): one format, one decimal always,
    and the change is the one printed beside the figures."""
    from blockplan.outcomes.scores import odi_changes, odi_course, odi_number, score_odi
    from blockplan.outcomes.text import ledger_to_text

    case, pages = demo
    outcome = section(" ".join(pages), "Outcome measures", "Notes")
    course = [e for e in odi_course(case.odi) if e.score.percent is not None]
    assert len(course) >= 2
    shown = re.findall(
        r"(\d+(?:\.\d+)?) %, (?:minimal|moderate|severe|crippled|bed-bound)", outcome
    )
    assert shown and all(re.fullmatch(r"\d+\.\d", f) for f in shown), shown
    assert not re.search(r"[-+]\d+ points", outcome), outcome  # no whole change either
    for entry in course:
        assert f"{odi_number(entry.score.percent or 0.0)} %, {entry.score.band}" in outcome
    change = course[-1].change_from_first
    assert change is not None
    assert f"{odi_number(change.change_points, sign=True)} points, {change.direction}" in outcome
    text = ledger_to_text(
        ledger, odi=[score_odi(e) for e in case.odi], odi_changes=odi_changes(case.odi)
    )
    for entry in course:
        assert f"{odi_number(entry.score.percent or 0.0)} % ({entry.score.band};" in text
    assert not re.search(r"ODI [^\n]*(?<![\d.])\d+ %", text)


def _drawn(node: Drawing | Group) -> tuple[list[str], int]:
    """The letters drawn in the map's markers and the number of dashed (empty) markers."""
    letters: list[str] = []
    dashed = 0
    for item in node.contents:
        if isinstance(item, String) and item.text in {s.letter for s in Status}:
            letters.append(item.text)
        elif isinstance(item, Circle) and getattr(item, "strokeDashArray", None):
            dashed += 1
        elif isinstance(item, Group):
            more, n = _drawn(item)
            letters += more
            dashed += n
    return letters, dashed


def test_the_map_and_the_tables_state_the_same_status_for_every_source(
    demo: tuple[Case, list[str]], ledger: Ledger
) -> None:
    """The map drew the right L5 root (reached only by a therapeutic TFESI) as "not yet
    tested" while both tables said "indeterminate": all three now take the status from
    `shown_status`, and the words are "no diagnostic block yet"."""
    case, pages = demo
    text = flat(" ".join(pages))
    ranked = section(text, "# Pain source Status Why What would settle it", "Key images")
    detail = section(text, "Sources in detail", "Note: block #4")
    findings = findings_from_ledger(ledger)
    marks, _groups = _collect(findings, case.targets)
    on_map = {m.site: m.status for m in marks}
    for source in ledger.sources:
        words = shown_status_text(source)
        assert f"{source.label} {words} " in ranked, source.label
        assert f"{source.label} {words} " in detail, source.label
        if not source.is_group:
            assert on_map[source.sites[0]] == shown_status(source), source.label
    right_l5 = SourceKey(level="L5", side="right", structure="nerve_root")
    assert on_map[right_l5] is None
    assert "L5, right, nerve root no diagnostic block yet" in ranked
    assert "L5, right, nerve root indeterminate" not in text
    assert f"No diagnostic block yet: {ledger.source(right_l5).label}" in flat(pages[0])
    # what is drawn: a letter per tested site, an empty dashed marker per site not tested
    fonts = register_fonts()
    drawing = pain_source_map(
        findings,
        case.targets,
        font=fonts.regular,
        bold_font=fonts.bold,
        extra_levels=[m.level for m in case.levels],
    )
    letters, dashed = _drawn(drawing)
    assert sorted(letters) == sorted(m.status.letter for m in marks if m.status is not None)
    assert dashed == sum(1 for m in marks if m.status is None) >= 1
    legend = [
        s.text
        for s in legend_drawing(font=fonts.regular, bold_font=fonts.bold).contents
        if isinstance(s, String)
    ]
    assert legend[-1] == UNTESTED_TEXT
