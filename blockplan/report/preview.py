"""Page images of a report PDF (for previews), rendered by poppler's ``pdftoppm``.

Two previews show the built report before it is signed or archived: the Report panel's,
small and fitted to the dock's width (`PANEL_DPI`), and its larger view, readable at 100 %
(`LARGER_VIEW_DPI`), rendered page by page (`render_each_page`) with zoom steps
(`next_zoom`, `fit_width_zoom`). Both show the very bytes that are archived.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from blockplan.errors import ReportError
from blockplan.report.sections import DISCLAIMER

__all__ = [
    "LARGER_VIEW_DPI",
    "PANEL_DPI",
    "ZOOM_STEPS",
    "fit_width_zoom",
    "larger_view_title",
    "next_zoom",
    "page_count",
    "page_size_px",
    "render_each_page",
    "render_pages",
    "report_heading",
]

PANEL_DPI = 60
"""The Report panel's page images (an A4 page 496 × 702 px), scaled to the dock's width."""

LARGER_VIEW_DPI = 110
"""The larger view's page images at 100 % (an A4 page 910 × 1286 px): its small print
(7 pt) is about 11 px high, readable on a screen."""

ZOOM_STEPS = (0.5, 0.67, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
"""The larger view's zoom steps (1.0: the page as rendered at `LARGER_VIEW_DPI`)."""


def render_pages(
    pdf: bytes, *, dpi: int = PANEL_DPI, first: int = 1, last: int | None = None
) -> list[bytes]:
    """PNG images of the pages ``first``..``last`` (1-based, inclusive) of a PDF.

    Raises
    ------
    ReportError
        When ``pdftoppm`` (Debian package ``poppler-utils``) is missing or fails.
    """
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ReportError(
            "report preview needs pdftoppm: install the Debian package poppler-utils "
            "(the report itself can still be saved)"
        )
    with tempfile.TemporaryDirectory(prefix="blockplan-preview-") as tmp:
        src = Path(tmp) / "report.pdf"
        src.write_bytes(pdf)
        cmd = [exe, "-png", "-r", str(int(dpi)), "-f", str(int(first))]
        if last is not None:
            cmd += ["-l", str(int(last))]
        done = subprocess.run(
            [*cmd, str(src), str(Path(tmp) / "page")], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise ReportError(f"pdftoppm could not render the report: {done.stderr.strip()}")
        pages = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [p.read_bytes() for p in pages]


def _opened(pdf: bytes) -> tuple[int, str, tuple[float, float]]:
    """The page count, the document title and the first page's size (points) of a PDF
    (ReportError when unreadable)."""
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            title = doc.docinfo.get("/Title")
            size = (0.0, 0.0)
            if len(doc.pages):
                x0, y0, x1, y1 = (float(v) for v in doc.pages[0].mediabox)
                size = (abs(x1 - x0), abs(y1 - y0))
            return len(doc.pages), str(title).strip() if title is not None else "", size
    except pikepdf.PdfError as err:
        raise ReportError(f"the report could not be read as a PDF ({err})") from err


def page_count(pdf: bytes) -> int:
    """How many pages the report ``pdf`` has (`ReportError` when it is not a PDF)."""
    return _opened(pdf)[0]


def page_size_px(pdf: bytes, *, dpi: int = LARGER_VIEW_DPI) -> tuple[int, int]:
    """Width and height in pixels of the first page of ``pdf`` rendered at ``dpi``
    (``(0, 0)`` for a PDF without pages)."""
    width_pt, height_pt = _opened(pdf)[2]
    return round(width_pt * dpi / 72), round(height_pt * dpi / 72)


def report_heading(pdf: bytes) -> str:
    """The report's kind and id as its PDF title holds them, e.g.
    ``"Diagnostic spine block report BPR-20261205-C629E3F5"`` — never the patient (the
    title is the report's title option and its id, which holds no patient identifier);
    ``"Report"`` when the PDF has no title."""
    return _opened(pdf)[1] or "Report"


def larger_view_title(pdf: bytes, *, stale: bool = False) -> str:
    """The larger view's window title: the report's kind and id, and that it is decision
    support; marked stale when the case changed after the report was built."""
    title = f"{report_heading(pdf)} — larger view ({DISCLAIMER.lower()})"
    return f"STALE — {title}" if stale else title


def render_each_page(
    pdf: bytes, *, dpi: int = LARGER_VIEW_DPI, start: int = 1
) -> Iterator[tuple[int, bytes]]:
    """``(page number, PNG)`` for every page of ``pdf``, one at a time: page ``start``
    first (the one the reader looks at), then the following ones, then those before it.

    Raises
    ------
    ReportError
        When the PDF cannot be read or ``pdftoppm`` is missing or fails.
    """
    count = page_count(pdf)
    start = min(max(start, 1), max(count, 1))
    for number in [*range(start, count + 1), *range(1, start)]:
        yield number, render_pages(pdf, dpi=dpi, first=number, last=number)[0]


def next_zoom(zoom: float, steps: int) -> float:
    """The zoom ``steps`` steps of `ZOOM_STEPS` up (positive) or down (negative) from
    ``zoom``, which need not be a step (a fitted width): it stops at the first and last."""
    if steps > 0:
        above = [z for z in ZOOM_STEPS if z > zoom + 1e-6]
        return above[min(steps, len(above)) - 1] if above else ZOOM_STEPS[-1]
    if steps < 0:
        below = [z for z in ZOOM_STEPS if z < zoom - 1e-6]
        return below[max(steps, -len(below))] if below else ZOOM_STEPS[0]
    return zoom


def fit_width_zoom(page_width_px: int, available_px: int) -> float:
    """The zoom that makes a page ``page_width_px`` wide fill ``available_px``, within the
    first and last of `ZOOM_STEPS`."""
    if page_width_px <= 0 or available_px <= 0:
        return 1.0
    return min(max(available_px / page_width_px, ZOOM_STEPS[0]), ZOOM_STEPS[-1])
