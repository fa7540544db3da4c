"""Names in any script (issue 17 point 6): CJK drawn with an embedded font, right-to-left
names in visual order with joined Arabic letters, and no report claims PDF/A with a glyph
missing. (tests/conftest.py validates every report built here as PDF/A-2b.)"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pikepdf
import pypdf
import pytest
from PIL import Image

from blockplan.errors import ReportError
from blockplan.report import ReportOptions, build_report
from blockplan.report.scripts import markup, uncovered, visual
from tests.report import _factory
from tests.report.conftest import render_pages

OPTIONS = ReportOptions(created_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC), include_sagittal=False)


def _report(name: str) -> bytes:
    return build_report(_factory.make_case(1, 1, patient_name=name), options=OPTIONS)


def _fonts(pdf: bytes) -> set[str]:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return {
            str(o.get("/BaseFont")).split("+")[-1]
            for o in doc.objects
            if isinstance(o, pikepdf.Dictionary) and o.get("/Type") == pikepdf.Name.Font
        }


def _header(pdf: bytes, folder: Path) -> np.ndarray:
    """The patient box of page 1 (top left), rendered by pdftoppm, as grey values."""
    folder.mkdir()
    page = Image.open(render_pages(pdf, folder, dpi=100)[0]).convert("L")
    w, h = page.size
    return np.asarray(page.crop((0, int(h * 0.08), w // 3, int(h * 0.16))))


def test_cjk_name_is_drawn_with_an_embedded_font(tmp_path: Path) -> None:
    pdf = _report("山田^太郎")
    assert "DroidSansFallback" in _fonts(pdf)
    assert "山田, 太郎" in pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    # pixels: the same characters in another order give another image — empty boxes
    # (.notdef) would look the same whatever the characters
    swapped = _report("田山^郎太")
    a, b = _header(pdf, tmp_path / "a"), _header(swapped, tmp_path / "b")
    assert a.shape == b.shape and (a != b).sum() > 50


def test_hangul_name_uses_a_hangul_font() -> None:
    assert "NanumGothic" in _fonts(_report("김^민준"))


def test_right_to_left_names_are_drawn_in_visual_order(tmp_path: Path) -> None:
    # pixels: the leftmost letter drawn of the name אבג is its last one, ג
    word, last, first = (
        _header(_report(n), tmp_path / f"n{i}") for i, n in enumerate(("אבג", "ג", "א"))
    )
    rows, cols = np.nonzero((word != last) | (word != first))
    band = slice(rows.min(), rows.max() + 1)
    x0 = cols.min()
    ink = np.nonzero((last[band] < 200).any(axis=0))[0]
    width = ink.max() + 1 - x0
    assert (word[band, x0 : x0 + width] == last[band, x0 : x0 + width]).mean() > 0.97
    assert (word[band, x0 : x0 + width] != first[band, x0 : x0 + width]).sum() > 10
    assert visual("אבג") == "גבא"  # drawn left to right, read right to left
    assert visual("Cohen") == "Cohen"
    arabic = visual("علي")
    assert all(0xFE70 <= ord(c) <= 0xFEFF for c in arabic)  # joined (presentation) forms
    assert markup("a<b") == "a&lt;b"


def test_a_character_no_font_has_is_refused_not_boxed() -> None:
    assert uncovered("𐀀") == ["𐀀"] and uncovered("山田 김") == []
    with pytest.raises(
        ReportError, match=r"case\.patient\.patient_name holds 1 character\(s\) of script LINEAR"
    ) as err:
        _report("Test^𐀀")
    assert "𐀀" not in str(err.value)  # the text itself is never quoted


@pytest.mark.parametrize(
    "text",
    [
        "L4-L5 · right — 7.5° caudal, ≤ 40 mm",
        "Müller, José (Ærø)",
        "王小明 · 7.5°",
        "김민준 — L5",
        "مريم حسن · L5",
        "שלום",
        "a\u00a0b\u2009c",
    ],
)
def test_markup_of_text_in_the_regular_font_is_the_run_by_run_markup(text: str) -> None:
    from xml.sax.saxutils import escape

    from blockplan.report.scripts import markup, runs

    by_runs = "".join(
        escape(run) if font is None else f'<font name="{font}">{escape(run)}</font>'
        for font, run in runs(text)
    )
    assert markup(text) == by_runs
