"""A target's notes in the targets table never begin a page without the target's row.

The notes print in a row across the table under the target's row. When the two fit on a
page they share it (the table breaks before the target instead); notes taller than a page
start under the row and run on, each further page opening with "Notes on <name>
(continued):" under the repeated table header. A pair taller than a page must never make
the layout run without end (as keeping rows together with reportlab's NOSPLIT did).
"""

from __future__ import annotations

import dataclasses
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.model import Case
from blockplan.demo import run_demo
from blockplan.io.volume import ImageVolume
from blockplan.planning.target_label import MAX_TARGET_NOTES_CHARS, set_target_notes
from blockplan.planning.wording import target_names
from blockplan.report import ReportOptions, build_report
from blockplan.report.layout import fmt_lps
from tests.report._factory import make_case
from tests.report.test_report_long_text import _pieces

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _pages(pdf: bytes) -> list[str]:
    """Each page's text, whitespace removed (a table cell wraps where it likes)."""
    return [re.sub(r"\s+", "", p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]


def _page_of(pages: list[str], text: str) -> int:
    """The one page (0-based) that holds ``text``."""
    needle = re.sub(r"\s+", "", text)
    found = [n for n, page in enumerate(pages) if needle in page]
    assert len(found) == 1, f"{text!r} on pages {[n + 1 for n in found]}"
    return found[0]


def _notes_and_row_pages(case: Case, pdf: bytes) -> dict[str, tuple[int, int]]:
    """Name of each target with notes → (page of "Notes on <name>:", page of its row).

    The row is found by the target's position, printed only in the targets table."""
    pages, names = _pages(pdf), target_names(case.targets)
    return {
        names[t.id]: (
            _page_of(pages, f"Notes on {names[t.id]}:"),
            _page_of(pages, fmt_lps(t.position.lps)),
        )
        for t in case.targets
        if t.notes
    }


def _apart(case: Case, pdf: bytes) -> dict[str, tuple[int, int]]:
    return {
        name: pair for name, pair in _notes_and_row_pages(case, pdf).items() if len(set(pair)) > 1
    }


def test_demo_notes_sit_on_the_page_of_their_target(tmp_path: Path) -> None:
    """The demo report: T3's row ended page 5 and its notes began page 6."""
    written = run_demo(tmp_path / "demo", sample_dir=SAMPLE)
    case = load_case_file(written["case"])
    pdf = written["report"].read_bytes()
    pages = _notes_and_row_pages(case, pdf)
    assert len(pages) == len(case.targets) == 5  # every demo target has notes
    assert _apart(case, pdf) == {}


@pytest.fixture(scope="module")
def quick(options: ReportOptions) -> ReportOptions:
    return dataclasses.replace(options, fluoro_previews=False)


def test_notes_never_start_a_page_without_their_row(ct: ImageVolume, quick: ReportOptions) -> None:
    """Eight targets with three lines of notes each, the first target's notes a line
    longer each time (twelve lines: more than a target's row and notes): the page break
    moves through a whole row and its notes, and never falls between them."""
    case = make_case(8, 2, volume=ct)
    for n, t in enumerate(case.targets):
        case = set_target_notes(case, t.id, f"note {n}: first line\nsecond line\nthird line")
    first = case.targets[0].id
    for lines in range(12):
        text = "\n".join(f"line {k} of the first notes" for k in range(lines + 1))
        noted = set_target_notes(case, first, text)
        pdf = build_report(noted, options=quick)
        assert _apart(noted, pdf) == {}, f"first notes of {lines + 1} lines"


_BUILD = """
import sys
from pathlib import Path
from blockplan.case.casefile import load_case_file
from blockplan.report import ReportOptions, build_report
pdf = build_report(load_case_file(sys.argv[1]), options=ReportOptions(fluoro_previews=False))
Path(sys.argv[2]).write_bytes(pdf)
"""


def _longest_notes(n: int) -> str:
    """Notes of the most characters accepted, of three kinds by ``n``: prose, a line break
    after every letter (taller than any page), lines of mixed length."""
    letter = "abcdefghijklmnopqrstuvwxyz"[n % 26]
    if n % 3 == 0:
        text = " ".join(f"w{n}x{k}" for k in range(MAX_TARGET_NOTES_CHARS))
    elif n % 3 == 1:
        text = f"{letter}\n" * MAX_TARGET_NOTES_CHARS
    else:
        text = "\n".join(f"{letter}{k} " + "words " * (k % 17) for k in range(400))
    return text[:MAX_TARGET_NOTES_CHARS].strip()


def test_the_longest_notes_on_many_targets_build_and_print_whole(
    ct: ImageVolume, tmp_path: Path
) -> None:
    """2 000-character notes on twelve targets, some of them taller than a page: the
    report is built (in a process given a time limit: a layout that never ends fails the
    test, not the run) and holds every note whole; a page the notes run on to says whose
    they are."""
    case = make_case(12, 2, volume=ct)
    for n, t in enumerate(case.targets):
        case = set_target_notes(case, t.id, _longest_notes(n))
    case_path, pdf_path = tmp_path / "case.blockplan.json", tmp_path / "report.pdf"
    save_case_file(case, case_path)
    try:
        subprocess.run(
            [sys.executable, "-c", _BUILD, str(case_path), str(pdf_path)],
            check=True,
            capture_output=True,
            timeout=240,
            cwd=Path(__file__).resolve().parents[2],
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the report of the longest notes was not built in 240 s (a layout loop?)")
    pages, names = _pages(pdf_path.read_bytes()), target_names(case.targets)
    printed = "".join(pages)
    assert all(len(t.notes) > 1_900 for t in case.targets)
    for n, t in enumerate(case.targets):
        name = names[t.id]
        # whole and in order, in a piece a page at most (headers come between)
        pieces = _pieces(re.sub(r"\s+", "", t.notes), printed)
        assert pieces is not None and pieces <= len(pages), name
        start, row = _page_of(pages, f"Notes on {name}:"), _page_of(pages, fmt_lps(t.position.lps))
        assert start == row, name
        if n % 3 == 1:  # a letter a line: the pages the notes run on
            letters = re.sub(r"\s+", "", t.notes)[:12]
            on = [p for p, page in enumerate(pages) if letters in page]
            assert on == list(range(start, start + len(on))) and len(on) > 1, name
            continued = f"Notes on {name} (continued):".replace(" ", "")
            assert [p for p in on[1:] if continued not in pages[p]] == [], name
