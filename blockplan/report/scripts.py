"""Names in any script: right-to-left order, Arabic letter forms, CJK fonts, and a glyph check.

DejaVu Sans (the report's font, `blockplan.report.fonts`) covers Latin, Greek, Cyrillic,
Hebrew and Arabic; it has no CJK glyphs. So:

* **Right-to-left text** (Hebrew, Arabic) is put in visual order with python-bidi (the
  Unicode bidirectional algorithm) after Arabic letters take their joined forms
  (arabic-reshaper, the presentation forms DejaVu Sans holds): reportlab draws strings
  left to right, so logical order printed "reversed" names.
* **CJK and Hangul** are drawn with a fallback TrueType font found on this machine:
  Droid Sans Fallback (Debian ``fonts-droid-fallback``: Han, kana) and Nanum Gothic
  (``fonts-nanum``: Hangul), embedded like DejaVu Sans. Noto Sans CJK (``fonts-noto-cjk``)
  is not used: it has PostScript (CFF) outlines, which reportlab cannot embed.
* **A glyph no embedded font has** would print as an empty box in a file that claims
  PDF/A: `check_glyphs` refuses to build such a report, naming the field and the script
  (never the text).

`markup` is what `blockplan.report.layout.esc` returns for paragraph text; `draw_text`
draws on a canvas (the running header).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from blockplan.errors import ReportError

__all__ = [
    "FALLBACK_FONT_FILES",
    "check_glyphs",
    "draw_text",
    "fit_text",
    "markup",
    "register_script_fonts",
    "runs",
    "text_width",
    "uncovered",
    "visual",
]

FALLBACK_FONT_FILES: tuple[tuple[str, str], ...] = (
    ("BlockplanCJK", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    ("BlockplanHangul", "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
)
"""(reportlab name, TrueType file) of each fallback font, tried in this order."""

_lock = threading.Lock()
_fonts: _Fonts | None = None


@dataclass(frozen=True, slots=True)
class _Fonts:
    primary: frozenset[int]
    fallbacks: tuple[tuple[str, frozenset[int]], ...]


def register_script_fonts() -> None:
    """Register the fallback fonts found on this machine with reportlab (once)."""
    _coverage()


def _coverage() -> _Fonts:
    global _fonts
    with _lock:
        if _fonts is None:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFont

            from blockplan.report.fonts import register_fonts

            primary = pdfmetrics.getFont(register_fonts().regular)
            found = []
            for name, path in FALLBACK_FONT_FILES:
                if not Path(path).is_file():
                    continue
                font = TTFont(name, path, asciiReadable=0)
                pdfmetrics.registerFont(font)
                found.append((name, frozenset(font.face.charToGlyph)))
            _fonts = _Fonts(frozenset(primary.face.charToGlyph), tuple(found))
        return _fonts


def _is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def visual(text: str) -> str:
    """``text`` in the order it is drawn left to right (Arabic in its joined forms)."""
    if text.isascii() or not _is_rtl(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    return str(get_display(arabic_reshaper.reshape(text)))


def _font_for(char: str, fonts: _Fonts) -> str | None:
    """None for the primary font, else the first fallback font that has ``char``."""
    code = ord(char)
    if code in fonts.primary or char.isspace():
        return None
    for name, covered in fonts.fallbacks:
        if code in covered:
            return name
    return None


def runs(text: str) -> Iterator[tuple[str | None, str]]:
    """``(font, run)`` pieces of visual text: font None = the report's regular font."""
    fonts = _coverage()
    current: str | None = None
    piece = ""
    for char in visual(text):
        font = _font_for(char, fonts)
        if font != current and piece:
            yield current, piece
            piece = ""
        current = font
        piece += char
    if piece:
        yield current, piece


def markup(text: str) -> str:
    """Paragraph markup of ``text``: escaped, visual order, fallback fonts where needed."""
    if text.isascii():
        return escape(text)
    shown = visual(text)
    if _coverage().primary.issuperset(map(ord, shown)):
        return escape(shown)  # one run in the regular font ("·", "—", "°", "é" …)
    return "".join(
        escape(run) if font is None else f'<font name="{font}">{escape(run)}</font>'
        for font, run in runs(text)
    )


def draw_text(
    canvas: Any, x: float, y: float, text: str, font: str, size: float, *, right: bool
) -> None:
    """Draw ``text`` in ``font``, switching to a fallback font per run where needed.

    ``right``: ``x`` is the right end (as ``drawRightString``), else the left end.
    """
    pieces = [(f or font, run) for f, run in runs(text)]
    width = sum(canvas.stringWidth(run, f, size) for f, run in pieces)
    cursor = x - width if right else x
    for f, run in pieces:
        canvas.setFont(f, size)
        canvas.drawString(cursor, y, run)
        cursor += canvas.stringWidth(run, f, size)
    canvas.setFont(font, size)


def text_width(canvas: Any, text: str, font: str, size: float) -> float:
    """Width of ``text`` in points as `draw_text` draws it (fallback fonts per run)."""
    return float(sum(canvas.stringWidth(run, f or font, size) for f, run in runs(text)))


def fit_text(canvas: Any, text: str, font: str, size: float, width: float) -> str:
    """``text`` for one line of ``width`` points drawn with `draw_text`: whitespace (line
    breaks, tabs) as single spaces, and shortened with "…" when it is wider.

    Only for a line that repeats a text printed whole elsewhere (the running header
    repeats the clinic, the title and the patient of the first page): a canvas line
    neither wraps nor breaks, and a line break drawn on it is a glyph no font has.
    """
    line = " ".join(text.split())
    if text_width(canvas, line, font, size) <= width:
        return line
    low, high = 0, len(line)  # the longest start that fits with "…" after it
    while low < high:
        mid = (low + high + 1) // 2
        if text_width(canvas, line[:mid].rstrip() + "…", font, size) <= width:
            low = mid
        else:
            high = mid - 1
    return line[:low].rstrip() + "…" if low else ""


def uncovered(text: str) -> list[str]:
    """The characters of ``text`` (as drawn) that no embedded font has."""
    fonts = _coverage()
    covered = [fonts.primary, *(c for _, c in fonts.fallbacks)]
    return [
        c
        for c in visual(text)
        if not c.isspace()
        and unicodedata.category(c) not in ("Cc", "Cf")
        and not any(ord(c) in cov for cov in covered)
    ]


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def check_glyphs(fields: Mapping[str, object]) -> None:
    """Refuse text that no embedded font can draw (it would print as empty boxes).

    Parameters
    ----------
    fields
        Name → value (strings, or nested dicts/lists of them), e.g. the case dumped to
        JSON and the report options.

    Raises
    ------
    ReportError
        Naming the first field and the Unicode script of its missing characters — never
        the text, which may identify the patient.
    """
    for path, text in _strings(fields, ""):
        if text.isascii():
            continue
        missing = uncovered(text)
        if missing:
            scripts = sorted({unicodedata.name(c, "UNKNOWN").split()[0] for c in missing})
            raise ReportError(
                f"report: {path} holds {len(missing)} character(s) of script "
                f"{', '.join(scripts)} that no embedded font has; they would print as empty "
                "boxes and the file would not be PDF/A. Install a font covering them (Debian "
                "fonts-droid-fallback for Chinese/Japanese, fonts-nanum for Korean)"
            )
