"""`blockplan demo`: the demo case on the sample study and its report (make run, headless)."""

from __future__ import annotations

import stat
from pathlib import Path

import pikepdf
from click.testing import CliRunner
from pypdf import PdfReader

from blockplan.case.casefile import load_case_file
from blockplan.cli import main
from blockplan.demo import DEMO_PROFILE
from blockplan.outcomes import build_ledger


def test_demo_writes_the_case_and_its_report(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "synthetic" in result.output
    case_path, pdf_path = out / "demo-case.blockplan.json", out / "demo-report.pdf"
    assert str(pdf_path.resolve()) in result.output
    for path in (case_path, pdf_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    case = load_case_file(case_path)
    assert case.patient.patient_name == "PHANTOM^LUMBAR"
    assert len(case.targets) == 5 and len(case.trajectories) == 5
    assert len(case.procedures) == 4 and case.scar_regions
    ledger = build_ledger(case, DEMO_PROFILE)
    statuses = {s.label: s.status.value for s in ledger.sources}
    assert statuses["L5, left, nerve root"] == "confirmed"
    assert statuses["L4-L5, right, facet joint"] == "excluded"

    reader = PdfReader(pdf_path)
    first = reader.pages[0].extract_text()
    assert "L5, left, nerve root" in first and "confirmed" in first.lower()
    text = "\n".join(page.extract_text() for page in reader.pages)
    for needle in ("lidocaine", "bupivacaine", "midazolam", DEMO_PROFILE, "not a medical device"):
        assert needle in text, needle
    with pikepdf.open(pdf_path) as pdf:
        assert "/OutputIntents" in pdf.Root
        with pdf.open_metadata() as meta:
            assert meta.get("pdfaid:part") == "2"


def test_demo_refuses_a_sample_folder_without_truth(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "o"), "--sample", str(empty)])
    assert result.exit_code == 2
    assert "truth.json" in result.output
    assert "Traceback" not in result.output
