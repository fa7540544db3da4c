"""Building blocks of the report layout: styles, tables, formatting, the key-image flowable.

Every piece of text uses the embedded DejaVu Sans faces (`blockplan.report.fonts`); the
helpers here make sure that holds for table cells too, whose reportlab default is a font
PDF/A cannot use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image as PILImage
from reportlab.lib.colors import Color, HexColor, white
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Flowable, Table, TableStyle
from reportlab.platypus import Paragraph as _RLParagraph

from blockplan.case._text import format_person_name
from blockplan.case.vocab import BLOCK_NAMES, BlockType
from blockplan.outcomes.evidence import Status
from blockplan.report.fonts import REGULAR, FontSet
from blockplan.report.keyimages import KeyImage
from blockplan.report.spinemap import status_colour

__all__ = [
    "HEAD_BG",
    "INK",
    "MUTED",
    "RULE",
    "KeyImageFlowable",
    "LabelledText",
    "Paragraph",
    "Styles",
    "block_name",
    "data_table",
    "esc",
    "fmt_date",
    "fmt_lps",
    "fmt_num",
    "grid",
    "make_styles",
    "person_name",
    "status_tint",
]

INK = HexColor("#1E1E1E")
MUTED = HexColor("#5F6B73")
RULE = HexColor("#B8C2C8")
HEAD_BG = HexColor("#33414E")
ZEBRA = HexColor("#F3F5F7")
_TRAJECTORY = HexColor("#00D5FF")
_TARGET = HexColor("#FFD400")
_HALO = HexColor("#000000")


# --- formatting -------------------------------------------------------------------------
def esc(text: object) -> str:
    """Text as reportlab paragraph markup: escaped (``&``, ``<``, ``>``), right-to-left runs
    in visual order, CJK in a fallback font (`blockplan.report.scripts.markup`)."""
    from blockplan.report.scripts import markup

    return markup(str(text))


def person_name(dicom_pn: str) -> str:
    """DICOM person name ``Family^Given^Middle^Prefix^Suffix`` as ``Family, Given Middle``."""
    return format_person_name(dicom_pn)


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM`` (local time as recorded); ``–`` for None."""
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def fmt_num(value: float | None, unit: str = "", fmt: str = "{:g}") -> str:
    """A number with its unit, ``–`` for None."""
    if value is None:
        return "–"
    return f"{fmt.format(value)} {unit}".strip()


def fmt_lps(point: Sequence[float]) -> str:
    """``(x, y, z)`` in mm with one decimal."""
    return "({:.1f}, {:.1f}, {:.1f})".format(*point)


def block_name(value: str) -> str:
    """Readable name of a `~blockplan.case.vocab.BlockType` value."""
    try:
        return BLOCK_NAMES[BlockType(value)]
    except ValueError:
        return value.replace("_", " ")


def status_tint(status: Status, amount: float = 0.3) -> Color:
    """A light tint of a status colour, for table cells (text stays dark and readable)."""
    c = status_colour(status)
    return Color(1 - amount * (1 - c.red), 1 - amount * (1 - c.green), 1 - amount * (1 - c.blue))


# --- styles -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Styles:
    """Paragraph styles of the report."""

    title: ParagraphStyle
    h1: ParagraphStyle
    h2: ParagraphStyle
    body: ParagraphStyle
    bullet: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_head: ParagraphStyle
    caption: ParagraphStyle
    label: ParagraphStyle
    clinic: ParagraphStyle


def make_styles(fonts: FontSet) -> Styles:
    """The report's paragraph styles, all on the embedded fonts."""
    base = ParagraphStyle(
        "base",
        fontName=fonts.regular,
        bulletFontName=fonts.regular,
        fontSize=9,
        leading=11.6,
        textColor=INK,
    )
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED)
    return Styles(
        title=ParagraphStyle(
            "title", parent=base, fontName=fonts.bold, fontSize=16, leading=20, spaceAfter=5
        ),
        h1=ParagraphStyle(
            "H1",
            parent=base,
            fontName=fonts.bold,
            fontSize=12,
            leading=15,
            spaceBefore=10,
            spaceAfter=5,
            textColor=HEAD_BG,
        ),
        h2=ParagraphStyle(
            "H2",
            parent=base,
            fontName=fonts.bold,
            fontSize=9.5,
            leading=12,
            spaceBefore=7,
            spaceAfter=3,
        ),
        body=ParagraphStyle("body", parent=base, spaceAfter=4),
        bullet=ParagraphStyle("bullet", parent=base, leftIndent=11, bulletIndent=1, spaceAfter=3),
        small=small,
        cell=ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.3),
        cell_head=ParagraphStyle(
            "cellhead",
            parent=base,
            fontName=fonts.bold,
            fontSize=7.5,
            leading=9.3,
            textColor=white,
        ),
        caption=ParagraphStyle("caption", parent=base, fontSize=7.5, leading=9.3),
        label=ParagraphStyle("label", parent=base, fontSize=7, leading=9, textColor=MUTED),
        clinic=ParagraphStyle("clinic", parent=base, fontName=fonts.bold, fontSize=11, leading=14),
    )


# --- paragraphs -------------------------------------------------------------------------
class Paragraph(_RLParagraph):
    """reportlab's paragraph, broken into lines once per width.

    A table wraps each cell to size its rows and again to draw it, a kept-together group
    wraps its content to measure it and again to place it: the lines are the same each
    time, and breaking a paragraph of mixed fonts (a bold label, then text) is the
    layout's slowest step. A paragraph wrapped again at the width it was last wrapped at
    takes its lines from then; the PDF's bytes do not change.
    """

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        last = self.__dict__.get("_wrapped_at")
        if last is not None and last[0] == availWidth:
            _, self.width, self._wrapWidths, self.blPara, self.height = last
            return self.width, self.height
        size: tuple[float, float] = super().wrap(availWidth, availHeight)
        if size[0] == availWidth:  # lines were made (not the "cannot fit" answer)
            self._wrapped_at = (availWidth, self.width, self._wrapWidths, self.blPara, size[1])
        return size


# --- tables -----------------------------------------------------------------------------
class LabelledText(Flowable):
    """A label line above a text: a table cell that names what it holds, on every page.

    The text is given line by line (one flowable a line), so a split between lines keeps
    every line whole and in place. Split across pages (its table row split inside itself),
    each part after the first opens with ``continued`` instead of ``label``, so a page that
    begins inside the text says whose it is ("Notes on T3 · … (continued):").

    ``keep_with_previous_row``: the table row holding it stays on one page with the row
    above it whenever the two fit on one page (see `_Table`).
    """

    def __init__(
        self,
        label: Flowable,
        lines: Sequence[Flowable],
        continued: Flowable,
        *,
        keep_with_previous_row: bool = False,
    ) -> None:
        super().__init__()
        self.label, self.lines, self.continued = label, list(lines), continued
        self.keep_with_previous_row = keep_with_previous_row
        self._heights: list[float] = []
        self._widest = 0.0

    def _width(self, availWidth: float) -> float:
        """The widest width offered so far. A table sizes a cell spanning columns at the
        span's width, but splitting its row inside itself, offers the cell only its first
        column's width (reportlab 5.1): lines broken there would not be the lines drawn."""
        self._widest = max(self._widest, availWidth)
        return self._widest

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        width = self._width(availWidth)
        self._heights = [f.wrap(width, availHeight)[1] for f in (self.label, *self.lines)]
        self.width, self.height = width, sum(self._heights)
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        availWidth = self._width(availWidth)
        room = availHeight - self.label.wrap(availWidth, availHeight)[1]
        head: list[Flowable] = []
        for n, line in enumerate(self.lines):
            height = line.wrap(availWidth, room)[1]
            if height <= room:
                head.append(line)
                room -= height
                continue
            parts = line.split(availWidth, room) if room > 0 else []
            if len(parts) == 2:  # a line that wraps, split between its wrapped lines
                head.append(parts[0])
                rest = [parts[1], *self.lines[n + 1 :]]
            else:
                rest = self.lines[n:]
            if not head:
                return []
            parts = [
                LabelledText(self.label, head, self.continued),
                LabelledText(self.continued, rest, self.continued),
            ]
            for part in parts:
                part._widest = availWidth
            return parts
        return []  # it fits: nothing to split

    def draw(self) -> None:
        y = self.height
        for flowable, height in zip((self.label, *self.lines), self._heights, strict=True):
            y -= height
            flowable.drawOn(self.canv, 0, y)


class _Table(Table):
    """A table whose plain-text cells use the embedded font (reportlab's default is not),
    and whose row taller than a page runs on to the next page instead of failing.

    Free text is printed whole, whatever its length (a case read from a file may hold a
    pasted page in a target label): a row is split inside itself (reportlab
    ``splitInRow``) — but only at the top of a page, where it cannot fit whole on any
    page. Lower on a page the table splits between rows as before, and a row that does not
    fit moves to the next page whole, so a key image stays with its caption.

    A row holding a `LabelledText` kept with the previous row (a target's notes under the
    target's row) never begins a page without that row: when the two fit in a frame with
    the header, the table splits before them; when they do not, the kept row is split
    inside itself right under the previous row and runs on over the next pages. At the
    top of a frame the table always gives up at least a part of a row, so every layout
    ends.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("splitInRow", 1)
        self.splitInRow: int = kwargs["splitInRow"]
        super().__init__(*args, **kwargs)
        self.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), REGULAR)]))
        self._frame_height: float | None = None  # while a frame asks for a split
        self._at_top = True

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        frame = self.__dict__.get("_frame")  # set by the frame that asks; None when nested
        if frame is None:
            return list(super().split(availWidth, availHeight))
        self._frame_height = frame._height - frame._topPadding - frame._bottomPadding
        self._at_top = bool(getattr(frame, "_atTop", True))
        try:
            self._calc(availWidth, availHeight)
            parts: list[Flowable] = []
            if self._tall_kept(self._overflowing_row(availHeight)):
                parts = list(self._splitRows(availHeight, doInRowSplit=1))
            if not parts:
                parts = self._split_as_before(availWidth, availHeight)
            if not parts and self._at_top:  # kept rows never hold a table off an empty frame
                self._frame_height = None
                parts = list(super().split(availWidth, availHeight))
            return parts
        finally:
            self._frame_height, self._at_top = None, True

    def _split_as_before(self, availWidth: float, availHeight: float) -> list[Flowable]:
        """reportlab's split, inside a row only at the top of a frame."""
        if self._at_top:
            return list(super().split(availWidth, availHeight))
        in_row, self.splitInRow = self.splitInRow, 0
        try:
            parts = list(super().split(availWidth, availHeight))
        finally:
            self.splitInRow = in_row
        for part in parts:  # made with this table's settings of the moment: give them back
            if isinstance(part, _Table):
                part.splitInRow = in_row
        return parts

    def _getFirstPossibleSplitRowPosition(self, availHeight: float, ignoreSpans: int = 0) -> int:
        """Splitting between rows: the row the table may split before, the last that
        ``availHeight`` allows, never inside rows kept together (`_Table`). Splitting inside
        a row (``ignoreSpans``): the row to split, as reportlab finds it."""
        n: int = super()._getFirstPossibleSplitRowPosition(availHeight, ignoreSpans)
        if self._frame_height is None:
            return n
        if ignoreSpans:  # n: the row to split inside itself (allowed by `split`)
            return n
        heights = self._rowHeights
        while 0 < n < len(heights) and self._kept_with_previous(n):
            first, _ = self._kept_group(n)
            # the rows before the group: their sum, and a hair for rounding
            n = super()._getFirstPossibleSplitRowPosition(sum(heights[:first]) + 1e-6, 0)
        return n

    def _overflowing_row(self, availHeight: float) -> int:
        """The first row that does not fit in ``availHeight`` (the number of rows: all do)."""
        return int(super()._getFirstPossibleSplitRowPosition(availHeight, 1))

    def _kept_with_previous(self, row: int) -> bool:
        for value in self._cellvalues[row]:
            for cell in value if isinstance(value, (list, tuple)) else (value,):
                if getattr(cell, "keep_with_previous_row", False):
                    return True
        return False

    def _kept_group(self, row: int) -> tuple[int, int]:
        """The first and last row of the rows kept together with ``row``."""
        first, last = row, row
        while first > 0 and self._kept_with_previous(first):
            first -= 1
        while last + 1 < len(self._rowHeights) and self._kept_with_previous(last + 1):
            last += 1
        return first, last

    def _tall_kept(self, row: int) -> bool:
        """Whether ``row`` is kept with the previous row and the rows kept together with
        it are, with the repeated header, taller than the frame."""
        if self._frame_height is None or not 0 < row < len(self._rowHeights):
            return False
        if not self._kept_with_previous(row):
            return False
        first, last = self._kept_group(row)
        repeat = self.repeatRows
        heights: list[float] = self._rowHeights
        header = heights[: repeat if isinstance(repeat, int) else max(repeat) + 1]
        return sum(header) + sum(heights[first : last + 1]) > self._frame_height


def grid(
    rows: list[list[Any]],
    widths: Sequence[float],
    commands: Iterable[tuple[Any, ...]] = (),
    **kwargs: Any,
) -> Table:
    """A layout table without padding or lines (for placing things side by side)."""
    table = _Table(rows, colWidths=list(widths), hAlign="LEFT", **kwargs)
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]
    style.extend(commands)
    table.setStyle(TableStyle(style))
    return table


def data_table(
    rows: list[list[Any]],
    widths: Sequence[float],
    commands: Iterable[tuple[Any, ...]] = (),
) -> Table:
    """A data table with a dark header row that repeats on every page it splits onto."""
    table = _Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [white, ZEBRA]),
    ]
    style.extend(commands)
    table.setStyle(TableStyle(style))
    return table


# --- key images -------------------------------------------------------------------------
class KeyImageFlowable(Flowable):
    """A key image at its true physical aspect with its vector overlay.

    The raster (grey values and scar) is drawn first; target, planned needle path, level
    labels, target ticks, scale bar and orientation letters are drawn over it as vectors
    with dark halos, so they stay crisp and readable on any background. ``path_colour``
    (hex) is the path's and entry's colour — its verdict's (`VERDICT_COLOURS`) in the report.
    """

    def __init__(
        self,
        image: KeyImage,
        width: float,
        max_height: float,
        fonts: FontSet,
        *,
        path_colour: str | None = None,
    ) -> None:
        super().__init__()
        self.image = image
        self.fonts = fonts
        self.path_colour = _TRAJECTORY if path_colour is None else HexColor(path_colour)
        aspect = image.rows / image.cols
        self.width = min(width, max_height / aspect)
        self.height = self.width * aspect
        mode = "L" if image.pixels.ndim == 2 else "RGB"
        self._reader = ImageReader(PILImage.fromarray(image.pixels, mode=mode))

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def _xy(self, col: float, row: float) -> tuple[float, float]:
        s = self.width / self.image.cols
        return (col + 0.5) * s, self.height - (row + 0.5) * s

    def _label(
        self, x: float, y: float, text: str, *, anchor: str = "left", size: float = 8
    ) -> None:
        c = self.canv
        w = c.stringWidth(text, self.fonts.bold, size)
        x0 = x if anchor == "left" else (x - w if anchor == "right" else x - w / 2)
        c.setFillColor(_HALO)
        c.rect(x0 - 1.8, y - 2.2, w + 3.6, size + 2.4, stroke=0, fill=1)
        c.setFillColor(white)
        c.setFont(self.fonts.bold, size)
        c.drawString(x0, y, text)

    def draw(self) -> None:
        c = self.canv
        w, h = self.width, self.height
        c.drawImage(self._reader, 0, 0, w, h)
        c.saveState()
        clip = c.beginPath()
        clip.rect(0, 0, w, h)
        c.clipPath(clip, stroke=0, fill=0)
        c.setLineCap(1)
        for line in self.image.lines:  # styled by stretch, as on the planning screen
            x0, y0 = self._xy(line.col0, line.row0)
            x1, y1 = self._xy(line.col1, line.row1)
            halo, width = (2.8, 1.3) if line.side == 0 else (1.6, 0.6)
            c.setDash([] if line.side >= 0 else [2.5, 2.0], 0)  # minus side: dashed
            for colour, w in ((_HALO, halo), (self.path_colour, width)):
                c.setStrokeColor(colour)
                c.setLineWidth(w)
                c.line(x0, y0, x1, y1)
        c.setDash([], 0)
        for mark in self.image.marks:
            x, y = self._xy(mark.col, mark.row)
            if mark.kind == "target":
                self._target(x, y, mark.label)
            elif mark.kind == "entry":
                c.setFillColor(self.path_colour)
                c.setStrokeColor(_HALO)
                c.setLineWidth(0.8)
                c.rect(x - 2.2, y - 2.2, 4.4, 4.4, stroke=1, fill=1)
            elif mark.kind == "level":
                c.setFillColor(_TARGET)
                c.setStrokeColor(_HALO)
                c.setLineWidth(0.6)
                c.circle(x, y, 1.8, stroke=1, fill=1)
                self._label(x - 6, y - 2.5, mark.label, anchor="right", size=7)
        for y, labels in self._tick_groups():
            c.setFillColor(_TARGET)
            c.setStrokeColor(_HALO)
            c.setLineWidth(0.6)
            p = c.beginPath()
            p.moveTo(w, y + 3.5)
            p.lineTo(w - 6, y)
            p.lineTo(w, y - 3.5)
            p.close()
            c.drawPath(p, stroke=1, fill=1)
            self._label(w - 8, y - 2.5, " ".join(labels), anchor="right", size=6.5)
        c.restoreState()
        self._scale_bar()
        self._letters()
        c.setStrokeColor(INK)
        c.setLineWidth(0.5)
        c.rect(0, 0, w, h, stroke=1, fill=0)

    def _tick_groups(self) -> list[tuple[float, list[str]]]:
        """Target ticks at the right edge; ticks closer than a label's height share one."""
        marks = [m for m in self.image.marks if m.kind == "target_tick"]
        ticks = sorted(((self._xy(m.col, m.row)[1], m.label) for m in marks), key=lambda t: -t[0])
        groups: list[tuple[float, list[str]]] = []
        for y, label in ticks:
            if groups and groups[-1][0] - y < 9.5:
                groups[-1][1].append(label)
            else:
                groups.append((y, [label]))
        return groups

    def _target(self, x: float, y: float, label: str) -> None:
        c = self.canv
        for colour, lw in ((_HALO, 2.4), (_TARGET, 1.1)):
            c.setStrokeColor(colour)
            c.setLineWidth(lw)
            c.circle(x, y, 4.5, stroke=1, fill=0)
            c.line(x - 8, y, x - 5, y)
            c.line(x + 5, y, x + 8, y)
            c.line(x, y - 8, x, y - 5)
            c.line(x, y + 5, x, y + 8)
        if label:
            self._label(x + 8, y + 5, label)

    def _scale_bar(self) -> None:
        c = self.canv
        bar_mm = 20.0 if self.image.width_mm >= 60 else 10.0
        length = bar_mm / self.image.px_mm * (self.width / self.image.cols)
        x, y = 7.0, 7.0
        c.setFillColor(_HALO)
        c.rect(x - 1, y - 1, length + 2, 4, stroke=0, fill=1)
        c.setFillColor(white)
        c.rect(x, y, length, 2, stroke=0, fill=1)
        self._label(x, y + 6, f"{bar_mm:g} mm", size=6.5)

    def _letters(self) -> None:
        w, h = self.width, self.height
        letters = self.image.letters
        # Keep the right-edge letter clear of the target ticks drawn there.
        ticks = [y for y, _ in self._tick_groups()]
        right_y = h / 2
        for offset in (0, 14, -14, 28, -28, 42, -42, 56, -56):
            candidate = h / 2 + offset
            if all(abs(candidate - t) > 11 for t in ticks):
                right_y = candidate
                break
        self._label(4, h / 2 - 3, letters["left"], size=9)
        self._label(w - 4, right_y - 3, letters["right"], anchor="right", size=9)
        self._label(w / 2, h - 12, letters["top"], anchor="centre", size=9)
        self._label(w / 2, 5, letters["bottom"], anchor="centre", size=9)
