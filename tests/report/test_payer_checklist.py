"""The report's payer-documentation checklist states what the engine states (pdftotext)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from blockplan.case.model import Case, Procedure
from blockplan.errors import ReportError
from blockplan.outcomes.payer import CHECKLIST_HEADING, evaluate_checklist
from blockplan.report import ReportOptions, build_report
from tests.outcomes._factory import BUPI, NO_RELIEF, TFESI, block, case_of

PAYER = ("cms-lcd-l38773-facet", "cms-lcd-l39242-esi")
FIXED = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.UTC)


def _imaged(proc: Procedure, n: int) -> Procedure:
    return proc.model_copy(update={"images_saved": n})


def payer_case() -> Case:
    """Two positive MBBs (RFA documentation met), one MBB without a saved image, and five
    TFESI sessions within 12 months (not met)."""
    mbbs = [
        _imaged(block(day=0), 2),
        _imaged(block(day=14, agent=BUPI, until=180), 2),
        block(day=21, level="L5-S1"),
    ]
    esi = [
        _imaged(block(day=d, block_type=TFESI, level="L5", until=NO_RELIEF), 2)
        for d in (30, 60, 90, 120, 150)
    ]
    return case_of(*mbbs, *esi)


def pdf_text(pdf: bytes, folder: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: install the Debian package poppler-utils")
    src = folder / "report.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(src), "-"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    """Text without whitespace: line breaks in the PDF fall anywhere."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    options = ReportOptions(author="Dr. A. Example", created_at=FIXED, payer_profiles=PAYER)
    pdf = build_report(payer_case(), options=options)
    return pdf_text(pdf, tmp_path_factory.mktemp("payer"))


def test_report_states_every_checklist_item_as_the_engine(report_text: str) -> None:
    text = squeeze(report_text)
    case = payer_case()
    for name in PAYER:
        checklist = evaluate_checklist(case, name)
        assert squeeze(checklist.intro) in text
        for item in checklist.items:
            assert squeeze(item.text) in text, item.text
            assert squeeze(f"Source: {item.citation}") in text, item.citation
    assert text.count(squeeze(CHECKLIST_HEADING)) == len(PAYER)


def test_report_names_profile_version_and_not_a_coverage_decision(report_text: str) -> None:
    flat = " ".join(report_text.split())
    assert "Payer documentation checklist (decision support — not a coverage decision)" in flat
    assert "cms-lcd-l38773-facet v1.0.0" in flat
    assert "cms-lcd-l39242-esi v1.0.0" in flat
    assert "(verify)" in flat


def test_report_checklist_statuses(report_text: str) -> None:
    text = squeeze(report_text)
    assert squeeze("MET: Two diagnostic medial branch blocks") in text
    assert squeeze("NOT MET: At most four epidural sessions per spinal region") in text
    assert squeeze("NOT RECORDED: Imaging guidance (fluoroscopy or CT)") in text


def test_no_checklist_unless_asked(tmp_path: Path) -> None:
    options = ReportOptions(created_at=FIXED)
    text = pdf_text(build_report(case_of(block()), options=options), tmp_path)
    assert "Payer documentation checklist" not in text


def test_unknown_payer_profile_is_a_report_error() -> None:
    options = ReportOptions(created_at=FIXED, payer_profiles=("no-such-lcd",))
    with pytest.raises(ReportError, match=r"payer checklist cannot be made.*no-such-lcd"):
        build_report(case_of(block()), options=options)


def test_report_command_adds_the_checklist(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from blockplan.case.casefile import save_case_file
    from blockplan.cli import main

    case_path = save_case_file(payer_case(), tmp_path / "case.blockplan.json")
    out = tmp_path / "report.pdf"
    args = ["report", str(case_path), "-o", str(out), "--date", "2026-06-01T10:00:00+00:00"]
    result = CliRunner().invoke(main, [*args, "--payer", "cms-lcd-l39242-esi"])
    assert result.exit_code == 0, result.output
    text = squeeze(pdf_text(out.read_bytes(), tmp_path))
    assert squeeze(CHECKLIST_HEADING) in text
    checklist = evaluate_checklist(payer_case(), "cms-lcd-l39242-esi")
    assert all(squeeze(item.text) in text for item in checklist.items)
    assert squeeze("cms-lcd-l38773-facet") not in text
