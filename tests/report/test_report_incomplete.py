"""The report says which blocks are pending (with the missing diary times) and which need
review (with the reason), under which profile; ODI changes print the figure they compare."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from blockplan.case.model import Case, DiaryEntry, Injection, OdiEntry, PainDiary, Procedure
from blockplan.case.vocab import Agent, BlockType
from blockplan.io.volume import ImageVolume
from blockplan.outcomes import Verdict, build_ledger
from blockplan.report import ReportOptions, build_report
from blockplan.report.findings import findings_from_ledger
from tests.report._factory import T0


def _text(pdf: bytes) -> str:
    return re.sub(
        r"\s+", " ", " ".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    )


@pytest.fixture(scope="module")
def incomplete_case(small_case: Case) -> Case:
    """The small case plus a block with only its 0-min score and an SNRB of 0.1 mL, and two
    ODI entries 9.5 points apart."""
    snrb = next(t for t in small_case.targets if t.block_type is BlockType.SELECTIVE_NERVE_ROOT)

    def proc(pid: str, day: int, volume: float, diary: PainDiary) -> Procedure:
        return Procedure(
            id=pid,
            performed_at=T0 + dt.timedelta(days=day),
            block_type=BlockType.SELECTIVE_NERVE_ROOT,
            injections=(
                Injection(
                    target_id=snrb.id, side=snrb.side, agent=Agent.LIDOCAINE, volume_ml=volume
                ),
            ),
            diary=diary,
        )

    times = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)
    full = PainDiary(
        baseline_nrs=8,
        entries=tuple(DiaryEntry(minutes=t, nrs=1 if t <= 60 else 8) for t in times),
    )
    only_zero = PainDiary(baseline_nrs=8, entries=(DiaryEntry(minutes=0, nrs=1),))
    odi = (
        OdiEntry(recorded_on=dt.date(2026, 2, 1), items=(2, 2, 2, 3, 2, 2, 2, 4, None, None)),
        OdiEntry(recorded_on=dt.date(2026, 3, 1), items=(2,) * 9 + (1,)),
    )
    return small_case.evolve(
        procedures=(
            *small_case.procedures,
            proc("pq", 40, 0.5, only_zero),
            proc("pr", 42, 0.1, full),
        ),
        odi=odi,
    )


@pytest.fixture(scope="module")
def text(incomplete_case: Case, ct: ImageVolume, options: ReportOptions) -> str:
    return _text(build_report(incomplete_case, volumes=[ct], options=dataclasses.replace(options)))


def test_report_names_pending_and_review_blocks_with_why(incomplete_case: Case, text: str) -> None:
    ledger = build_ledger(incomplete_case, incomplete_case.profile_name)
    pending = next(b for b in ledger.blocks if b.procedure_id == "pq")
    review = next(b for b in ledger.blocks if b.procedure_id == "pr")
    assert (pending.verdict, review.verdict) == (Verdict.PENDING, Verdict.NEEDS_REVIEW)
    assert "pending: NRS at 15, 30, 60, 120 min" in text
    assert "missing diary points: 15, 30, 60, 120 min (diary not final)" in text
    assert "needs review: volume outside usual range" in text
    assert "0.10 mL at" in text and "is below the usual 0.3–0.75 mL" in text
    # the profile named once above the sources (no longer restated in each status text)
    assert "Statuses under asra-2020-single v1.1.0" in text
    assert "Verdicts under asra-2020-single v1.1.0" in text
    assert "Needs review" in text  # the status heading of the summary
    findings = findings_from_ledger(ledger)
    for source in findings.sources:
        assert f"{source.display_label}" in text or source.label in text
    assert all(s.profile == ledger.profile_label for s in findings.suggestions)


def test_report_odi_change_prints_the_figure_it_compares(text: str) -> None:
    # issue 15: 19/40 = 47.5 % → 19/50 = 38 % is −9.5 points; it printed as "−10 points …
    # below the 10-point MIC". Now the printed figure is the one compared with the MIC.
    assert "47.5 %" in text and "38.0 %" in text
    assert "-9.5 points, improved; below the 10-point MIC" in text
    assert "-10 points" not in text
